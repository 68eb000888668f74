"""The appraisal tools' overall rules, and the checks that need more than one fixture."""

from pathlib import Path

import pytest

from netevidence import validate_evidence
from netevidence.records.appraisal_tools import TOOLS, jbi_share_yes, level_of, tools_for

FIXTURES = Path(__file__).parent / "fixtures"


def rule(tool, judgements):
    return set(TOOLS[tool].overall_rule(judgements))


def test_rob2_overall_rule():
    assert rule("rob2", ["low"] * 5) == {"low"}
    assert rule("rob2", ["low", "some_concerns", "low", "low", "low"]) == {"some_concerns"}
    assert rule("rob2", ["low", "some_concerns", "some_concerns", "low", "low"]) == {"some_concerns", "high"}
    assert rule("rob2", ["low", "low", "high", "low", "some_concerns"]) == {"high"}
    assert rule("rob2", ["low", "no_information", "low", "low", "low"]) == {"some_concerns"}


def test_robins_i_overall_rule_is_the_worst_domain():
    assert rule("robins_i", ["low"] * 7) == {"low"}
    assert rule("robins_i", ["low", "moderate"] + ["low"] * 5) == {"moderate"}
    assert rule("robins_i", ["serious", "critical"] + ["low"] * 5) == {"critical"}
    assert rule("robins_i", ["serious", "no_information"] + ["low"] * 5) == {"serious"}
    assert rule("robins_i", ["moderate", "no_information"] + ["low"] * 5) == {"moderate", "no_information"}


def test_jbi_overall_rule_counts_applicable_yes():
    seven = ["yes"] * 7 + ["no", "unclear", "not_applicable"]
    assert jbi_share_yes(seven) == pytest.approx(7 / 9)
    assert rule("jbi_case_series", seven) == {"low"}
    assert rule("jbi_case_series", ["yes"] * 5 + ["no"] * 5) == {"moderate"}
    assert rule("jbi_case_series", ["yes"] * 4 + ["unclear"] * 6) == {"high"}
    assert rule("jbi_case_series", ["not_applicable"] * 10) == {"no_information"}


def test_amstar2_overall_rule_separates_critical_items():
    items = list(TOOLS["amstar2"].domains)
    answers = dict.fromkeys(items, "yes")
    assert rule("amstar2", list(answers.values())) == {"high"}
    answers["pico"] = "no"
    assert rule("amstar2", list(answers.values())) == {"high"}  # one non-critical weakness
    answers["conflicts"] = "no"
    assert rule("amstar2", list(answers.values())) == {"moderate"}
    answers["protocol"] = "no"
    assert rule("amstar2", list(answers.values())) == {"low"}
    answers["search"] = "no_information"
    assert rule("amstar2", list(answers.values())) == {"critically_low"}
    assert level_of("amstar2", "critically_low") == "critical" and level_of("amstar2", "high") == "low"


def test_tools_fit_design_and_comparison():
    assert tools_for("rct", True) == ("rob2",)
    assert tools_for("retrospective_cohort", True) == ("robins_i",)
    assert tools_for("prospective_cohort", False) == ("jbi_case_series",)
    assert tools_for("case_series", False) == ("jbi_case_series",)
    assert tools_for("meta_analysis", False) == ("amstar2",)
    assert tools_for("narrative_review", False) == ()


def test_every_tool_maps_every_term_to_a_level():
    for tool in TOOLS.values():
        assert set(tool.judgements) | set(tool.overall_judgements) <= set(tool.levels)


AMSTAR = "".join(f"      - {{domain: {d}, judgement: '{j}'}}\n" for d, j in [
    ("pico", "yes"), ("protocol", "no"), ("design_selection", "no"), ("search", "partial_yes"),
    ("duplicate_selection", "yes"), ("duplicate_extraction", "yes"), ("excluded_list", "no_meta_analysis"),
    ("study_detail", "yes"), ("rob_technique", "yes"), ("funding_sources", "no"), ("meta_methods", "yes"),
    ("rob_impact", "no"), ("rob_interpretation", "yes"), ("heterogeneity", "yes"), ("publication_bias", "yes"),
    ("conflicts", "yes")])


def _review(tmp_path, block: str, design: str = "meta_analysis") -> list:
    text = (FIXTURES / "invalid" / "no-risk-of-bias.yaml").read_text()
    text = text.replace("design: retrospective_cohort", f"design: {design}").replace("outcomes:", block + "outcomes:")
    (tmp_path / "r.yaml").write_text(text)
    return list(validate_evidence(tmp_path).problems)


def test_no_meta_analysis_is_only_for_items_11_12_15(tmp_path):
    block = ("risk_of_bias:\n  - tool: amstar2\n    domains:\n" + AMSTAR
             + "    overall: low\n    support: s\n    judged_from: abstract\n")
    problems = _review(tmp_path, block)
    assert [(p.rule, p.field) for p in problems] == [("rob-unknown-judgement", "risk_of_bias[0].domains[6].judgement")]
    assert "use one of: yes, partial_yes, no, no_information" in problems[0].fix


def test_two_assessments_of_the_same_outcomes_are_an_error(tmp_path):
    one = ("  - tool: amstar2\n    endpoints: [os]\n    domains:\n" + AMSTAR.replace("no_meta_analysis", "yes")
           + "    overall: low\n    support: s\n    judged_from: abstract\n")
    problems = _review(tmp_path, "risk_of_bias:\n" + one + one.replace("[os]", "[pfs]"))
    assert problems == []
    problems = _review(tmp_path, "risk_of_bias:\n" + one + one.replace("[os]", "[pfs, os]"))
    assert [(p.rule, p.field, p.line) for p in problems] == [("rob-repeated-assessment", "risk_of_bias[1]", 46)]


def test_a_narrative_review_needs_no_assessment_and_takes_none(tmp_path):
    assert _review(tmp_path, "", design="narrative_review") == []
    block = ("risk_of_bias:\n  - tool: amstar2\n    domains:\n" + AMSTAR.replace("no_meta_analysis", "yes")
             + "    overall: low\n    support: s\n    judged_from: abstract\n")
    problems = _review(tmp_path, block, design="narrative_review")
    assert [(p.rule, p.message) for p in problems] == [("rob-wrong-tool", "AMSTAR 2 does not fit a comparative narrative review")]
    assert "no appraisal tool applies" in problems[0].fix


def test_the_evidence_base_assessments_validate_and_follow_their_rules():
    report = validate_evidence(Path(__file__).resolve().parent.parent / "evidence")
    assert report.ok
    assert not [p.format() for p in report.problems if p.rule.startswith("rob-")]
    assessed = {r.record.id for r in report.records if r.record.risk_of_bias}
    assert {"netter-1", "chen-2017", "sartori-laser", "tai-2020"} <= assessed
    netter = next(r.record for r in report.records if r.record.id == "netter-1")
    assert [a.overall for a in netter.risk_of_bias] == ["some_concerns", "high"]  # per outcome: QoL is high risk
    unassessed = {r.record.id for r in report.records if not r.record.risk_of_bias
                  and r.record.design != "narrative_review"}
    assert unassessed == set()  # every study in evidence/ is assessed
    secondary = {r.record.id for r in report.records
                 if any(a.judged_from == "secondary_report" for a in r.record.risk_of_bias)}
    assert {"niessen-2016-ire", "pickens-2021", "saxena-2010", "andrews-1994", "ruutiainen-tace-tae"} <= secondary


def test_judged_from_takes_a_secondary_report_and_refuses_other_words(tmp_path):
    valid = (FIXTURES / "valid" / "demo-study.yaml").read_text()
    assert "    judged_from: abstract\n" in valid
    (tmp_path / "r.yaml").write_text(valid.replace("judged_from: abstract", "judged_from: secondary_report"))
    assert list(validate_evidence(tmp_path).problems) == []
    (tmp_path / "r.yaml").write_text(valid.replace("judged_from: abstract", "judged_from: review"))
    (problem,) = validate_evidence(tmp_path).problems
    line = valid.splitlines().index("    judged_from: abstract") + 1
    assert (problem.rule, problem.field, problem.line) == ("unknown-term", "risk_of_bias[0].judged_from", line)
    assert "full_text, abstract, secondary_report" in problem.fix


def test_a_p_value_between_subgroups_of_one_arm_is_not_a_comparison(tmp_path):
    text = (FIXTURES / "invalid" / "no-risk-of-bias.yaml").read_text()
    single = text.replace("arms: {sirt: 10, tae: 10}", "arms: {sirt: 20}").split("outcomes:")[0]
    single = single.replace("  - id: tae\n    label: Bland embolisation\n    modality: tae\n", "")
    single += ("outcomes:\n  - endpoint: os\n    subgroup: Ki-67 <= 7% vs > 7%\n"
               "    statistic: {kind: p_value, p: 0.03}\n"
               "    provenance: {source: demo-2020, location: text, kind: primary, verified: true}\n")
    (tmp_path / "r.yaml").write_text(single)
    problems = validate_evidence(tmp_path).problems
    assert [(p.rule, p.fix) for p in problems] == [
        ("no-risk-of-bias", "add a 'risk_of_bias' block using jbi_case_series (see docs/appraisal.md)")]


def test_risk_of_bias_table_has_one_row_per_study_assessment_and_domain():
    from netevidence import load_evidence

    table = load_evidence(Path(__file__).resolve().parent.parent / "evidence").risk_of_bias
    chen = table[table.study_id == "chen-2017"]
    assert list(chen.domain) == list(TOOLS["robins_i"].domains)
    assert list(chen.domain_number) == list(range(1, 8))
    assert set(chen.overall) == {"serious"} and set(chen.overall_level) == {"high"}
    first = chen.iloc[0]
    assert first.judgement == "serious" and first.level == "high" and first.domain_label == "Confounding"
    text = Path(first.file).read_text().splitlines()[first.line - 1]
    assert "domain: confounding" in text  # the line leads back to the judgement in the YAML
    netter = table[table.study_id == "netter-1"]
    assert set(netter.assessment) == {1, 2}
    assert set(netter[netter.assessment == 2].endpoints) == {"ttd_qol"}
    assert set(table[table.tool == "amstar2"].groupby("study_id").size()) == {16}
