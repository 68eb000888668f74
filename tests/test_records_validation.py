"""One invalid fixture per validation rule: the rule, the message and its file:line:column."""

import re
from pathlib import Path

import pytest

from netevidence import validate_evidence

FIXTURES = Path(__file__).parent / "fixtures"

# fixture name -> (rule, line, column, field, message pattern)
CASES = {
    "unknown-key": ("unknown-key", 21, 3, "population.patiens", r"unknown key 'patiens' \(did you mean 'patients'\?\)"),
    "wrong-type": ("wrong-type", 26, 38, "outcomes[0].statistic.events", r"expected a whole number, got the text '4'"),
    "missing-field": ("missing-field", 2, 1, "design", r"required field 'design' is missing"),
    "missing-provenance": ("missing-provenance", 24, 5, "outcomes[0]", r"numbers without provenance"),
    "events-exceed-n": ("events-exceed-n", 26, 38, "outcomes[0].statistic.events", r"events \(14\) exceed n \(10\)"),
    "estimate-outside-ci": ("estimate-outside-ci", 31, 47, "outcomes[1].statistic.estimate",
                            r"0\.25 lies outside its CI \(0\.3 to 0\.9\)"),
    "ci-order": ("ci-order", 37, 57, "outcomes[2].statistic.ci_low", r"lower limit \(90\) is not below the upper \(60\)"),
    "ratio-not-positive": ("ratio-not-positive", 31, 47, "outcomes[1].statistic.estimate",
                           r"a hazard_ratio must be > 0, got -0\.69"),
    "p-out-of-range": ("p-out-of-range", 31, 82, "outcomes[1].statistic.p", r"p = 1\.5 is outside \(0, 1\]"),
    "unknown-term": ("unknown-term", 4, 9, "design",
                     r"'retrospective_cohrt' is not a known term \(did you mean 'retrospective_cohort'\?\)"),
    "unknown-modality": ("unknown-term", 5, 24, "modality[1]", r"'tea' is not a known term \(did you mean 'tae'\?\)"),
    "time-without-unit": ("time-without-unit", 35, 11, "outcomes[2].time", r"the time 1 has no unit"),
    "unknown-reference": ("unknown-reference", 40, 10, "outcomes[3].arm",
                          r"no arm has the id 'tace' \(did you mean 'tae'\?\)"),
    "unknown-source": ("unknown-reference", 38, 26, "outcomes[2].provenance.source",
                       r"no source has the id 'demo-2021' \(did you mean 'demo-2020'\?\)"),
    "unverified-without-note": ("unverified-without-note", 42, 78, "outcomes[3].provenance.verified",
                                r"verified: false needs the reason"),
    "percent-out-of-range": ("percent-out-of-range", 37, 45, "outcomes[2].statistic.percent",
                             r"180 is not a percent between 0 and 100"),
    "duplicate-arm-id": ("duplicate-id", 16, 9, "arms[1].id", r"the id 'sirt' is used twice in arms"),
    "missing-arms": ("missing-arms", 28, 5, "outcomes[1]", r"a hazard_ratio compares two arms"),
    "bad-id": ("bad-format", 2, 5, "id", r"'Demo Study' is not an id"),
    "median-missing-estimate": ("missing-field", 41, 16, "outcomes[3].statistic",
                                r"a median needs 'estimate' or 'not_reached: true'"),
    "incomplete-ci": ("incomplete-ci", 37, 16, "outcomes[2].statistic.ci_high", r"the CI has only one limit"),
    "rob-wrong-tool": ("rob-wrong-tool", 24, 11, "risk_of_bias[0].tool",
                       r"RoB 2 does not fit a comparative retrospective cohort"),
    "rob-missing-domain": ("rob-missing-domain", 26, 7, "risk_of_bias[0].domains",
                           r"ROBINS-I domain\(s\) missing: classification$"),
    "rob-repeated-domain": ("rob-repeated-domain", 30, 18, "risk_of_bias[0].domains[4].domain",
                            r"the domain 'selection' is given twice \(first at domains\[1\]\)"),
    "rob-domain-order": ("rob-domain-order", 28, 18, "risk_of_bias[0].domains[2].domain",
                         r"'selection' comes after 'classification'"),
    "rob-unknown-domain": ("rob-unknown-domain", 31, 18, "risk_of_bias[0].domains[5].domain",
                           r"ROBINS-I has no domain 'measurment' \(did you mean 'measurement'\?\)"),
    "rob-unknown-judgement": ("rob-unknown-judgement", 26, 42, "risk_of_bias[0].domains[0].judgement",
                              r"'high' is not a ROBINS-I judgement for 'confounding'"),
}

# fixtures whose problem is a warning: fixture name -> (rule, line, column, field, message pattern)
WARNING_CASES = {
    "rob-overall-rule": ("rob-overall-rule", 33, 14, "risk_of_bias[0].overall",
                         r"'moderate' does not follow ROBINS-I's rule, which gives serious"),
    "no-risk-of-bias": ("no-risk-of-bias", 4, 9, "design", r"the study has no risk-of-bias assessment"),
}


def test_the_base_fixture_is_valid():
    report = validate_evidence(FIXTURES / "valid")
    assert report.ok, [p.format() for p in report.problems]
    assert report.warnings == ()
    assert [r.record.id for r in report.records] == ["demo-study"]


def test_every_invalid_fixture_is_covered():
    assert {p.stem for p in (FIXTURES / "invalid").glob("*.yaml")} == set(CASES) | set(WARNING_CASES)


@pytest.mark.parametrize("name", sorted(WARNING_CASES))
def test_warning_fixture_reports_rule_message_and_location(name):
    rule, line, column, field, pattern = WARNING_CASES[name]
    path = FIXTURES / "invalid" / f"{name}.yaml"
    report = validate_evidence(path)
    assert report.ok, [p.format() for p in report.errors]
    assert [p.rule for p in report.warnings] == [rule]
    problem = report.warnings[0]
    assert (problem.file, problem.line, problem.column, problem.field) == (str(path), line, column, field)
    assert re.search(pattern, problem.message), problem.message
    assert problem.fix


@pytest.mark.parametrize("name", sorted(CASES))
def test_invalid_fixture_reports_rule_message_and_location(name):
    rule, line, column, field, pattern = CASES[name]
    path = FIXTURES / "invalid" / f"{name}.yaml"
    report = validate_evidence(path)
    assert not report.ok
    matching = [p for p in report.errors if p.rule == rule and p.field == field]
    assert matching, [p.format() for p in report.errors]
    problem = matching[0]
    assert (problem.file, problem.line, problem.column) == (str(path), line, column)
    assert re.search(pattern, problem.message), problem.message
    assert problem.fix, "every error says how to fix it"
    assert problem.format().startswith(f"{path}:{line}:{column}: error [{rule}] {field}:")


def test_duplicate_record_ids_across_files_point_at_both():
    report = validate_evidence(FIXTURES / "duplicate-ids")
    first, second = sorted(report.errors, key=lambda p: p.file)
    assert first.rule == second.rule == "duplicate-id"
    # both files are named (the one just added may sort first or last), each pointing at the other
    assert first.file.endswith("a.yaml") and (first.line, first.column) == (2, 5) and "b.yaml:2" in first.message
    assert second.file.endswith("b.yaml") and (second.line, second.column) == (2, 5) and "a.yaml:2" in second.message


def test_all_problems_are_reported_at_once(tmp_path):
    for name in ("events-exceed-n", "ci-order", "unknown-key", "bad-id"):
        (tmp_path / f"{name}.yaml").write_bytes((FIXTURES / "invalid" / f"{name}.yaml").read_bytes())
    report = validate_evidence(tmp_path)
    rules = {p.rule for p in report.errors}
    assert {"events-exceed-n", "ci-order", "unknown-key", "bad-format"} <= rules


def test_consistency_warnings():
    report = validate_evidence(FIXTURES / "warnings")
    assert report.ok
    by_rule = {p.rule: p for p in report.warnings}
    assert set(by_rule) == {"percent-mismatch", "conflicting-values", "secondary-only", "no-risk-of-bias"}
    assert by_rule["percent-mismatch"].message == "4/10 is 40.0%, but 45% is printed"
    assert (by_rule["percent-mismatch"].line, by_rule["percent-mismatch"].column) == (29, 57)
    assert "estimate 30 (demo-2020) vs 31 (review-2022)" in by_rule["conflicting-values"].message
    assert by_rule["conflicting-values"].line == 42
    assert "dcr, arm sirt rests only on a secondary source (review-2022)" in by_rule["secondary-only"].message


def test_percent_matching_at_printed_precision_is_not_a_warning(tmp_path):
    text = (FIXTURES / "valid" / "demo-study.yaml").read_text()
    # 1/3 = 33.33%: "33" and "33.3" are right at their precision, "33.4" is not.
    for printed, warns in (("33", False), ("33.3", False), ("33.4", True)):
        (tmp_path / "r.yaml").write_text(text.replace("events: 4, n: 10, percent: 40", f"events: 1, n: 3, percent: {printed}"))
        report = validate_evidence(tmp_path)
        assert any(p.rule == "percent-mismatch" for p in report.warnings) is warns, printed


def test_rounded_values_from_two_sources_do_not_conflict(tmp_path):
    text = (FIXTURES / "valid" / "demo-study.yaml").read_text()
    extra = """  - endpoint: pfs
    arm: sirt
    comparator: tae
    statistic: {kind: hazard_ratio, estimate: 0.504, ci_low: 0.3, ci_high: 0.9}
    provenance: {source: demo-2020, location: table 4, kind: primary, verified: true}
"""
    (tmp_path / "r.yaml").write_text(text + extra)
    report = validate_evidence(tmp_path)
    assert not [p for p in report.warnings if p.rule == "conflicting-values"]
    (tmp_path / "r.yaml").write_text(text + extra.replace("0.504", "0.56"))
    report = validate_evidence(tmp_path)
    (warning,) = [p for p in report.warnings if p.rule == "conflicting-values"]
    assert "estimate 0.5 (demo-2020) vs 0.56 (demo-2020)" in warning.message


def test_conflicting_shared_source_definitions_are_an_error(tmp_path):
    text = (FIXTURES / "valid" / "demo-study.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text.replace("id: demo-study", "id: other-study")
                                     .replace("title: A demonstration record", "title: Another title"))
    report = validate_evidence(tmp_path)
    (problem,) = report.errors
    assert problem.rule == "duplicate-id" and problem.field == "sources.demo-2020"
    assert "defined differently in" in problem.message and problem.line == 8


def test_shared_sources_file_is_used_and_checked(tmp_path):
    text = (FIXTURES / "valid" / "demo-study.yaml").read_text()
    shared = "sources:\n  review-2022:\n    title: A review\n    year: 2022\n"
    (tmp_path / "sources.yaml").write_text(shared)
    (tmp_path / "r.yaml").write_text(text.replace("location: figure 3, kind: primary",
                                                  "location: figure 3, kind: primary").replace(
        "{source: demo-2020, location: figure 3", "{source: review-2022, location: figure 3"))
    assert validate_evidence(tmp_path).ok
    (tmp_path / "sources.yaml").write_text(shared.replace("year: 2022", "yeer: 2022"))
    report = validate_evidence(tmp_path)
    assert [(p.rule, p.file.endswith("sources.yaml"), p.line) for p in report.errors][0] == ("unknown-key", True, 4)


def test_pooled_estimate_needs_model_and_warns_without_k(tmp_path):
    text = (FIXTURES / "invalid" / "no-risk-of-bias.yaml").read_text()  # the valid record, not appraised
    pooled = text.replace("design: retrospective_cohort", "design: meta_analysis\naggregation: pooled")
    (tmp_path / "r.yaml").write_text(pooled)
    report = validate_evidence(tmp_path)
    assert {p.rule for p in report.errors} == {"pooled-without-model"}
    with_model = pooled.replace("  - endpoint: orr\n", "  - endpoint: orr\n    aggregation: {type: pooled, model: random}\n")
    (tmp_path / "r.yaml").write_text(with_model)
    report = validate_evidence(tmp_path)
    assert "outcomes[0].aggregation" not in {p.field for p in report.errors}
    assert [p.field for p in report.warnings if p.rule == "pooled-without-k"] == ["outcomes[0].aggregation"]


def test_missing_path_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        validate_evidence(tmp_path / "nowhere")


def test_empty_directory_is_an_error(tmp_path):
    report = validate_evidence(tmp_path)
    assert [p.rule for p in report.errors] == ["no-records"]


def test_documented_example_is_valid(tmp_path):
    text = (Path(__file__).resolve().parent.parent / "docs" / "evidence-format.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example-2020.yaml").write_text(example)
    report = validate_evidence(tmp_path)
    assert report.ok, [p.format() for p in report.errors]
    outcomes = [o.endpoint for o in report.records[0].record.outcomes]
    assert outcomes == ["orr", "pfs", "os", "os", "dcr"]


def _many_outcomes(n: int, *, same_quantity: bool) -> str:
    text = (FIXTURES / "valid" / "demo-study.yaml").read_text()
    rows = "".join(f"""  - endpoint: orr
    arm: sirt{"" if same_quantity else f"{chr(10)}    time: {i + 1}{chr(10)}    time_unit: months"}
    statistic: {{kind: count, events: {i % 10}, n: 10}}
    provenance: {{source: demo-2020, location: table {i}, kind: secondary, verified: true}}
""" for i in range(n))
    return text + rows


def test_many_values_of_one_quantity_give_one_bounded_warning(tmp_path):
    (tmp_path / "r.yaml").write_text(_many_outcomes(3000, same_quantity=True))
    report = validate_evidence(tmp_path)
    (warning,) = [p for p in report.warnings if p.rule == "conflicting-values"]
    assert warning.message.count(" vs ") == 5 and warning.message.endswith("more")
    assert len(warning.format()) < 1000


def test_repeated_warnings_are_capped_per_file_and_rule(tmp_path):
    from netevidence.records.problems import MAX_WARNINGS_PER_RULE

    (tmp_path / "r.yaml").write_text(_many_outcomes(50, same_quantity=False))
    report = validate_evidence(tmp_path)
    secondary = [p for p in report.warnings if p.rule == "secondary-only"]
    assert len(secondary) == MAX_WARNINGS_PER_RULE + 1
    assert secondary[-1].message == f"{50 - MAX_WARNINGS_PER_RULE} more [secondary-only] warnings in this file are not listed"


@pytest.mark.parametrize("statistic, fraction", [
    ("{kind: survival_at, percent: 0.625, ci_low: 0.481, ci_high: 0.74}", True),
    ("{kind: proportion, percent: 0.4, ci_low: 0.25, ci_high: 0.56}", True),
    ("{kind: survival_at, percent: 62.5, ci_low: 48.1, ci_high: 74}", False),
    ("{kind: proportion, percent: 0.4}", False),  # a rate below 1% without a CI: nothing to go on
])
def test_a_fraction_written_as_a_percent_is_flagged(tmp_path, statistic, fraction):
    text = (FIXTURES / "valid" / "demo-study.yaml").read_text()
    text += f"""  - endpoint: os
    arm: sirt
    time: 3
    time_unit: years
    statistic: {statistic}
    provenance: {{source: demo-2020, location: table 3, kind: primary, verified: true}}
"""
    (tmp_path / "r.yaml").write_text(text)
    found = [p for p in validate_evidence(tmp_path).warnings if p.rule == "percent-as-fraction"]
    assert bool(found) is fraction
    if fraction:
        assert "looks like a fraction" in found[0].message and "0-100 scale" in found[0].fix


def test_a_count_with_its_percent_as_a_fraction_says_so(tmp_path):
    text = (FIXTURES / "valid" / "demo-study.yaml").read_text()
    (tmp_path / "r.yaml").write_text(text.replace("events: 4, n: 10, percent: 40", "events: 16, n: 40, percent: 0.4"))
    (warning,) = [p for p in validate_evidence(tmp_path).warnings if p.rule == "percent-mismatch"]
    assert warning.message == "16/40 is 40%, and 0.4 looks like that as a fraction"
    assert warning.fix == "write percents on the 0-100 scale: percent: 40"


def test_modality_labels_are_short_but_never_ambiguous():
    from netevidence.records.vocabulary import MODALITIES, SHORT_MODALITIES, modality_label

    labels = list(SHORT_MODALITIES.values())
    assert len(set(labels)) == len(labels) == len(MODALITIES)  # two terms never share a label
    assert modality_label("prrt") != modality_label("prrt_intra_arterial")
    assert modality_label("sirt_resin") == "90Y radioembolisation with resin microspheres"
    assert modality_label("tace+tae") == f"{SHORT_MODALITIES['tace']} + {SHORT_MODALITIES['tae']}"
