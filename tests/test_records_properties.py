"""Property tests: random mutations of a valid record only ever produce clean validation problems."""

import copy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netevidence import validate_evidence
from netevidence.records.appraisal_checks import RULES as APPRAISAL_RULES

FIXTURE = Path(__file__).parent / "fixtures" / "valid" / "demo-study.yaml"
BASE = yaml.safe_load(FIXTURE.read_text())

KNOWN_RULES = {
    "yaml-syntax", "yaml-alias", "yaml-tag", "yaml-key", "duplicate-key", "encoding", "empty-file",
    "not-a-mapping", "file-too-large", "unknown-key", "missing-field", "unknown-term", "bad-format",
    "out-of-range", "wrong-type", "duplicate-id", "unknown-reference", "missing-provenance",
    "unverified-without-note", "missing-data-cut", "missing-arms", "unexpected-comparator",
    "time-without-unit", "unit-without-time", "missing-time", "aggregation-mismatch", "pooled-without-model",
    "pooled-without-k", "events-exceed-n", "percent-out-of-range", "incomplete-ci", "ci-order",
    "estimate-outside-ci", "ratio-not-positive", "p-out-of-range", "conflicting-fields", "range-order",
    "percent-mismatch", "conflicting-values", "secondary-only",
} | set(APPRAISAL_RULES)

values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.lists(st.integers(-5, 5), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["rct", "pfs", "count", "hazard_ratio", "months", "sirt", "tae", "demo-2020"]),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


ALL_PATHS = [p for p in _paths(BASE) if p]


def _parent(data, path):
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def mutated_records(draw):
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        try:
            parent = _parent(data, path)
            action = draw(st.sampled_from(["replace", "delete", "add-key"]))
            if action == "replace":
                parent[path[-1]] = draw(values)
            elif action == "delete":
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
        except (KeyError, IndexError, TypeError):
            continue
    return data


def _assert_clean(report, directory):
    for problem in report.problems:
        assert problem.rule in KNOWN_RULES, problem.format()
        assert problem.file.startswith(str(directory))
        assert problem.line is None or problem.line >= 1
        assert problem.column is None or problem.column >= 1
        assert problem.message
        if problem.severity == "error":
            assert problem.fix


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mutated_records())
def test_mutated_records_give_clean_problems(tmp_path, data):
    path = tmp_path / "record.yaml"
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    report = validate_evidence(tmp_path)
    _assert_clean(report, tmp_path)
    if text == yaml.safe_dump(BASE, allow_unicode=True, sort_keys=False):  # type-exact: True != 1 here
        assert report.ok


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(0, len(FIXTURE.read_bytes())), insert=st.binary(min_size=1, max_size=6),
       cut=st.integers(0, 5))
def test_byte_level_corruption_gives_clean_problems(tmp_path, position, insert, cut):
    raw = FIXTURE.read_bytes()
    (tmp_path / "record.yaml").write_bytes(raw[:position] + insert + raw[position + cut:])
    report = validate_evidence(tmp_path)
    _assert_clean(report, tmp_path)


def test_every_mutation_kind_can_fail(tmp_path):
    """Guard against a vacuous property: a replaced value is caught."""
    data = copy.deepcopy(BASE)
    data["outcomes"][0]["statistic"]["events"] = 99
    (tmp_path / "record.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    assert [p.rule for p in validate_evidence(tmp_path).errors] == ["events-exceed-n"]
