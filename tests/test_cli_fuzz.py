"""Random bytes and random YAML structures in a record or a specification never end in a traceback:
the command returns 0 or 1 and prints located problems."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netevidence.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent
RECORD = (FIXTURES / "valid" / "demo-study.yaml").read_text()
SPEC = (ROOT / "analyses" / "symptom-response.yaml").read_text()

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.dates(min_value=dt.date(1, 1, 1)), st.sampled_from(["010", "1:30", "yes", "0x1F", "2019-02-30", "=1+1"]),
)
structures = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)
FUZZ = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _run(argv: list[str], capsys) -> str:
    code = main(argv)  # an exception escaping main() is the traceback a user would see
    assert code in (0, 1)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return captured.out + captured.err


def _fresh(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "evidence").mkdir(parents=True)
    (folder / "analyses").mkdir()
    return folder


def _mutated(base: dict, path: list, value):
    """``base`` with the value at ``path`` (keys or list positions that exist) replaced by ``value``."""
    node = base
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return base


def _paths(node, prefix=()):
    yield list(prefix)
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


RECORD_PATHS = [p for p in _paths(yaml.safe_load(RECORD)) if p]
SPEC_PATHS = [p for p in _paths(yaml.safe_load(SPEC)) if p]


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_as_a_record(tmp_path, capsys, data):
    ws = _fresh(tmp_path)
    (ws / "evidence" / "x.yaml").write_bytes(data)
    shutil.copy(FIXTURES / "valid" / "demo-study.yaml", ws / "evidence")
    out = _run(["validate", str(ws / "evidence")], capsys)
    _run(["tables", str(ws / "evidence"), "--out", str(ws / "tables")], capsys)
    assert "x.yaml" in out or "0 error(s)" in out


@FUZZ
@given(structures)
def test_random_structure_as_a_record(tmp_path, capsys, value):
    ws = _fresh(tmp_path)
    (ws / "evidence" / "x.yaml").write_text(yaml.safe_dump(value, allow_unicode=True))
    _run(["validate", str(ws / "evidence")], capsys)
    _run(["tables", str(ws / "evidence"), "--out", str(ws / "tables")], capsys)


@FUZZ
@given(st.sampled_from(RECORD_PATHS), structures)
def test_random_value_anywhere_in_a_valid_record(tmp_path, capsys, path, value):
    ws = _fresh(tmp_path)
    record = _mutated(yaml.safe_load(RECORD), path, value)
    (ws / "evidence" / "demo-study.yaml").write_text(yaml.safe_dump(record, allow_unicode=True, sort_keys=False))
    out = _run(["validate", str(ws / "evidence")], capsys)
    if "0 error(s)" in out:
        _run(["tables", str(ws / "evidence"), "--out", str(ws / "tables")], capsys)
        _run(["report", "--evidence", str(ws / "evidence"), "--analyses", str(ws / "analyses"), "--out",
              str(ws / "site"), "--quiet", "--no-cache"], capsys)


@FUZZ
@given(st.one_of(st.binary(max_size=300).map(lambda b: ("bytes", b)),
                 st.tuples(st.sampled_from(SPEC_PATHS), structures).map(lambda pv: ("value", pv))))
def test_random_specification(tmp_path, capsys, case):
    ws = _fresh(tmp_path)
    shutil.copy(FIXTURES / "valid" / "demo-study.yaml", ws / "evidence")
    kind, payload = case
    spec = ws / "analyses" / "symptom-response.yaml"
    if kind == "bytes":
        spec.write_bytes(payload)
    else:
        path, value = payload
        spec.write_text(yaml.safe_dump(_mutated(yaml.safe_load(SPEC), path, value), allow_unicode=True,
                                       sort_keys=False))
    out = _run(["report", "--evidence", str(ws / "evidence"), "--analyses", str(ws / "analyses"), "--out",
                str(ws / "site"), "--quiet", "--no-cache"], capsys)
    assert "symptom-response" in out or "wrote" in out


@pytest.mark.parametrize("text", ["n: 99999999999999999999999", "n: 1e400", "n: -.inf", "n: .nan"])
def test_extreme_numbers_in_a_valid_record_never_reach_the_tables(tmp_path, capsys, text):
    ws = _fresh(tmp_path)
    (ws / "evidence" / "demo-study.yaml").write_text(RECORD.replace("patients: 20", text.replace("n:", "patients:")))
    out = _run(["tables", str(ws / "evidence"), "--out", str(ws / "tables")], capsys)
    assert "demo-study.yaml:20:" in out and "error" in out


HOSTILE = ["2019-02-30", "2019-13-01", "0000-01-01", "2019-01-01 10:00:00 +25:00", '!!int "abc"', '!!float "abc"',
           '!!bool "maybe"', '!!timestamp "garbage"', "010", "1:30", "0x1F", "yes", "99999999999999999999999",
           "[" * 60 + "]" * 60, "*a", "!!python/object/apply:os.system ['true']", "1e400", "-.inf", ".nan",
           "{a: {b: {c: [1, {d: 2}]}}}", "'unclosed", "a: b: c", "\t1", "=1+1"]
VALUE_LINES = [i for i, line in enumerate(RECORD.splitlines()) if ": " in line and not line.lstrip().startswith("#")]


@FUZZ
@given(st.sampled_from(VALUE_LINES), st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30)),
       st.sampled_from(["record", "spec"]))
def test_hostile_raw_yaml_values(tmp_path, capsys, line_no, token, where):
    ws = _fresh(tmp_path)
    lines = RECORD.splitlines()
    key = lines[line_no].split(": ", 1)[0]
    lines[line_no] = f"{key}: {token}"
    text = "\n".join(lines) + "\n"
    if where == "record":
        (ws / "evidence" / "demo-study.yaml").write_text(text)
        out = _run(["validate", str(ws / "evidence")], capsys)
        _run(["tables", str(ws / "evidence"), "--out", str(ws / "tables")], capsys)
        assert "demo-study.yaml" in out or "0 error(s)" in out
    else:
        shutil.copy(FIXTURES / "valid" / "demo-study.yaml", ws / "evidence")
        spec_lines = SPEC.splitlines()
        spec_line = [i for i, s in enumerate(spec_lines) if ": " in s and not s.startswith("#")][line_no % 5]
        spec_lines[spec_line] = spec_lines[spec_line].split(": ", 1)[0] + f": {token}"
        (ws / "analyses" / "symptom-response.yaml").write_text("\n".join(spec_lines) + "\n")
        _run(["report", "--evidence", str(ws / "evidence"), "--analyses", str(ws / "analyses"), "--out",
              str(ws / "site"), "--quiet", "--no-cache"], capsys)
