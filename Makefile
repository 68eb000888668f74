# netevidence: the two commands are `make reports` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: reports test validate bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## reports: install, validate evidence/ and build everything under reports/
reports: $(STAMP)
	$(BIN)/netevidence validate evidence
	$(BIN)/netevidence tables evidence --out reports/tables
	$(BIN)/netevidence report --evidence evidence --out reports/site

## test: install if needed and run the whole suite
test: $(STAMP)
	$(BIN)/python -m pytest

validate: $(STAMP)
	$(BIN)/netevidence validate evidence

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) reports
