# netevidence: the two commands are `make reports` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium

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

## test: install if needed and run the whole suite on every core (browser tests use Debian's chromium)
test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest -n auto

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	else \
	  echo "The browser tests need Debian's chromium at $(CHROMIUM): sudo apt-get install chromium"; exit 1; \
	fi

validate: $(STAMP)
	$(BIN)/netevidence validate evidence

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) reports
