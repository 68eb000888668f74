"""Malformed and hostile YAML: one-line errors with a location, never a traceback, never code execution."""

import subprocess
import sys
from pathlib import Path

import pytest

from netevidence import validate_evidence
from netevidence.records.yamlsource import MAX_FILE_BYTES, YamlError, parse_yaml_file, parse_yaml_text

ROOT = Path(__file__).resolve().parent.parent

# name -> (file content, rule, line, column, message fragment)
MALFORMED = {
    "tab-indent": (b"id: x\nname: y\npopulation:\n\tpatients: 3\n", "yaml-syntax", 4, 1,
                   "a tab character is used where YAML needs spaces"),
    "bad-indent": (b"id: x\n  name: y\n design: rct\n", "yaml-syntax", 2, 7, "mapping values are not allowed here"),
    "alias": (b"id: x\nname: &n y\ntitle: *n\n", "yaml-alias", 3, 8, "aliases (*name) are not allowed"),
    "alias-bomb": (b'a: &a ["lol","lol","lol"]\nb: &b [*a,*a,*a]\nc: &c [*b,*b,*b]\nd: [*c,*c,*c]\n',
                   "yaml-alias", 2, 8, "aliases (*name) are not allowed"),
    "merge-key": (b"a: {x: 1}\nb:\n  <<: {x: 2}\n", "yaml-alias", 3, 3, "merge keys (<<) are not allowed"),
    "python-tag": (b"id: !!python/object/apply:os.system ['touch PWNED']\n", "yaml-tag", 1, 5,
                   "the tag !!python/object/apply:os.system is not allowed"),
    "python-root": (b"!!python/object/apply:os.system\n- touch PWNED\n", "yaml-tag", 1, 1,
                    "the tag !!python/object/apply:os.system is not allowed"),
    "custom-tag": (b"id: !secret x\n", "yaml-tag", 1, 5, "the tag !secret is not allowed"),
    "non-utf8": (b"id: x\nname: caf\xe9\n", "encoding", 2, 10, "not valid UTF-8 (byte 0xe9 at offset 15)"),
    "control-char": (b"id: x\nname: a\x07b\n", "yaml-syntax", 2, 8, "the control character U+0007 is not allowed"),
    "empty": (b"", "empty-file", 1, 1, "the file is empty"),
    "only-comments": (b"# nothing here\n\n", "empty-file", 1, 1, "the file is empty"),
    "two-documents": (b"id: x\n---\nid: y\n", "yaml-syntax", 2, 1, "more than one YAML document"),
    "top-level-list": (b"- id: x\n", "not-a-mapping", 1, 1, "the top level is a list"),
    "duplicate-key": (b"id: x\nname: a\nname: b\n", "duplicate-key", 3, 1, "the key 'name' appears twice"),
    "non-text-key": (b"id: x\n3: y\n", "yaml-key", 2, 1, "a key must be a plain word"),
    "unclosed-quote": (b'id: x\nname: "abc\n', "yaml-syntax", 3, 1, "found unexpected end of stream"),
    "feb-30": (b"id: x\ndate: 2019-02-30\n", "bad-value", 2, 7, "'2019-02-30' cannot be read as a date (day is"),
    "month-13": (b"id: x\ndate: 2019-13-01\n", "bad-value", 2, 7, "(month must be in 1..12)"),
    "year-0": (b"id: x\ndate: 0000-01-01\n", "bad-value", 2, 7, "(year 0 is out of range)"),
    "odd-timezone": (b"id: x\nwhen: 2019-01-01 10:00:00 +25:00\n", "bad-value", 2, 7,
                     "the time-zone offset must be less than 24 hours"),
    "int-tag": (b'id: x\nn: !!int "abc"\n', "bad-value", 2, 4, "'abc' cannot be read as a whole number"),
    "float-tag": (b'id: x\nn: !!float "abc"\n', "bad-value", 2, 4, "'abc' cannot be read as a number"),
    "bool-tag": (b'id: x\nok: !!bool "maybe"\n', "bad-value", 2, 5, "'maybe' cannot be read as true or false"),
    "timestamp-tag": (b'id: x\nd: !!timestamp "garbage"\n', "bad-value", 2, 4, "not a date of the form YYYY-MM-DD"),
    "deep-flow": (b"id: x\nname: " + b"[" * 10000 + b"]" * 10000 + b"\n", "yaml-syntax", 2, 46,
                  "nesting deeper than 40 levels"),
    "deep-block": (b"id: x\n" + b"".join(b"  " * i + b"a:\n" for i in range(200)), "yaml-syntax", 41, 79,
                   "nesting deeper than 40 levels"),
    "beyond-int64": (b"id: x\nn: 99999999999999999999999\n", "out-of-range", 2, 4, "is too large"),
    "octal": (b"id: x\nn: 010\n", "yaml-ambiguous", 2, 4, "010 is read as an octal number"),
    "sexagesimal": (b"id: x\nn: 1:30\n", "yaml-ambiguous", 2, 4, "1:30 is read as a base-60 number"),
    "hex": (b"id: x\nn: 0x1F\n", "yaml-ambiguous", 2, 4, "non-decimal or grouped"),
    "yes-no": (b"id: x\nverified: yes\n", "yaml-ambiguous", 2, 11, "'yes' is read as a yes/no value"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_gives_one_located_error(tmp_path, name):
    content, rule, line, column, fragment = MALFORMED[name]
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(content)
    with pytest.raises(YamlError) as info:
        parse_yaml_file(path)
    problem = info.value.problem
    assert (problem.rule, problem.line, problem.column) == (rule, line, column), problem.format()
    assert fragment in problem.message
    assert problem.fix
    assert "\n" not in problem.format()
    assert not (tmp_path / "PWNED").exists()


def test_every_unreadable_value_of_a_file_is_reported(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_bytes(b"id: x\na: 2019-02-30\nb: 010\nc: !!int 'z'\nd: [ok, 1:30]\n")
    with pytest.raises(YamlError) as info:
        parse_yaml_file(path)
    assert [(p.line, p.rule) for p in info.value.problems] == [
        (2, "bad-value"), (3, "yaml-ambiguous"), (4, "bad-value"), (5, "yaml-ambiguous")]


def test_quoted_values_are_not_ambiguous():
    parsed = parse_yaml_text('id: x\nn: "010"\nt: "1:30"\nw: "yes"\nm: 2019-02-28\nbig: 9007199254740992\n', "f")
    assert parsed.data["n"] == "010" and parsed.data["t"] == "1:30" and parsed.data["w"] == "yes"
    assert parsed.data["big"] == 2**53


def test_huge_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"id: x\nnotes: '" + b"a" * (MAX_FILE_BYTES + 10) + b"'\n")
    with pytest.raises(YamlError) as info:
        parse_yaml_file(path)
    assert info.value.problem.rule == "file-too-large"
    assert f"at most {MAX_FILE_BYTES:,}" in info.value.problem.message


def test_deep_nesting_is_refused():
    text = "a: " + "[" * 60 + "]" * 60 + "\n"
    with pytest.raises(YamlError) as info:
        parse_yaml_text(text, "deep.yaml")
    assert "nesting deeper than" in info.value.problem.message


def test_positions_of_keys_and_values():
    parsed = parse_yaml_text("id: x\nouter:\n  inner: [1, {k: 2}]\n", "p.yaml")
    assert parsed.data == {"id": "x", "outer": {"inner": [1, {"k": 2}]}}
    pos = parsed.positions[("outer", "inner")]
    assert (pos.line, pos.column, pos.key_line, pos.key_column) == (3, 10, 3, 3)
    assert parsed.locate(("outer", "inner", 1, "k")).column == 18
    assert parsed.locate(("outer", "inner", 1, "k"), key=True).column == 15
    assert parsed.locate(("outer", "missing")) == parsed.positions[("outer",)]


@pytest.mark.parametrize("name", ["python-tag", "alias-bomb", "non-utf8", "tab-indent", "empty"])
def test_cli_exits_1_without_traceback(tmp_path, name):
    content = MALFORMED[name][0]
    (tmp_path / f"{name}.yaml").write_bytes(content)
    result = subprocess.run([sys.executable, "-m", "netevidence.cli", "validate", str(tmp_path)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = [l for l in result.stdout.splitlines() if " error [" in l]
    assert len(lines) == 1 and lines[0].startswith(str(tmp_path / f"{name}.yaml") + ":")
    assert not (tmp_path / "PWNED").exists()


def test_malformed_file_does_not_hide_problems_in_other_files(tmp_path, fixtures):
    (tmp_path / "bad.yaml").write_bytes(MALFORMED["tab-indent"][0])
    (tmp_path / "worse.yaml").write_bytes((fixtures / "invalid" / "events-exceed-n.yaml").read_bytes())
    report = validate_evidence(tmp_path)
    assert {p.rule for p in report.errors} == {"yaml-syntax", "events-exceed-n"}


def test_a_record_linked_from_outside_the_directory_is_not_read(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2-secret\n")
    (evidence / "x.yaml").symlink_to(secret)
    report = validate_evidence(evidence)
    (problem,) = [p for p in report.errors if p.rule == "unreadable"]
    assert "resolves outside the evidence directory" in problem.message
    assert all("hunter2" not in p.format() for p in report.problems)


def _both_parsers(text: str, monkeypatch):
    import netevidence.records.yamlsource as ys

    def parse():
        try:
            parsed = ys.parse_yaml_text(text, "f.yaml")
            return parsed.data, dict(parsed.positions)
        except YamlError as exc:
            return [p.format() for p in exc.problems]

    fast = parse()
    with monkeypatch.context() as m:
        m.setattr(ys, "_CLoader", None)
        slow = parse()
    return fast, slow


@pytest.mark.parametrize("path", sorted((ROOT / "evidence").glob("*.yaml")) + sorted((ROOT / "analyses").glob("*.yaml"))
                         + sorted((ROOT / "tests" / "fixtures").rglob("*.yaml")), ids=lambda p: p.name)
def test_libyaml_and_python_parsers_agree_on_every_file(path, monkeypatch):
    import yaml

    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML without libyaml")
    fast, slow = _both_parsers(path.read_text(encoding="utf-8-sig"), monkeypatch)
    assert fast == slow


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_libyaml_and_python_parsers_give_the_same_errors(name, monkeypatch):
    content = MALFORMED[name][0]
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        pytest.skip("decoding errors come before parsing")
    fast, slow = _both_parsers(text, monkeypatch)
    assert fast == slow
