"""Publications of one cohort: reference checks, the possible-overlap warning and one publication per cohort."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from netevidence import load_evidence, validate_evidence
from netevidence.records.overlap import accrual_overlaps, cohort_groups, cohort_links
from netevidence.records.schema import Accrual, Record
from netevidence.specs import load_spec, run_spec

FIXTURE = Path(__file__).parent / "fixtures" / "overlap"
SPEC = FIXTURE / "analyses" / "sirt-orr.yaml"


def _record(rid: str, *, centre: str | None = "Centre X", authors=("Smith A", "Jones B"), accrual="{start: 2005, end: 2010}",
            modality: str = "sirt_resin", design: str = "case_series", extra: str = "") -> str:
    cohort = ""
    if centre is not None or accrual:
        centres = f"[{centre}]" if centre else "[]"
        acc = f"\n  accrual: {accrual}" if accrual else ""
        cohort = f"cohort:\n  centres: {centres}{acc}\n"
    return (f"id: {rid}\nname: {rid}\ndesign: {design}\nmodality: [{modality}]\ncitation: {rid}\n{cohort}"
            f"sources:\n  {rid}: {{authors: [{', '.join(authors)}], year: 2015}}\n{extra}")


def _write(tmp_path: Path, records: dict[str, str]) -> Path:
    for rid, text in records.items():
        (tmp_path / f"{rid}.yaml").write_text(text)
    return tmp_path


def _overlaps(report):
    return [p for p in report.warnings if p.rule == "possible-overlap"]


def test_fixture_raises_possible_overlap_at_the_later_record():
    report = validate_evidence(FIXTURE / "evidence")
    assert report.ok
    found = _overlaps(report)
    assert len(found) == 1
    w = found[0]
    assert w.file.endswith("alpha-2019.yaml") and (w.line, w.column) == (7, 3) and w.field == "cohort"
    assert "'alpha-2019' and 'alpha-2015'" in w.message
    assert "alpha-2015.yaml:1" in w.message
    assert "same centre (Alpha University Hospital)" in w.message
    assert "overlapping accrual (2006 to 2012; 2006 to 2017-06)" in w.message
    assert "overlaps_with: [{id: alpha-2015" in w.fix and "distinct_from" in w.fix


def test_fixture_pools_one_publication_of_the_cohort_and_names_the_other():
    ev = load_evidence(FIXTURE / "evidence")
    result = run_spec(ev, load_spec(SPEC))
    stratum = result.strata[0]
    pooled = stratum.rows.loc[stratum.rows["role"] == "study", "study_id"].tolist()
    assert sorted(pooled) == ["alpha-2019", "omega-2018"]
    assert stratum.fit is not None and stratum.fit.k == 2
    excluded = result.exclusions[result.exclusions["role"] == "excluded"]
    assert excluded["study_id"].tolist() == ["alpha-2015"]
    reason = excluded["reason"].iloc[0]
    assert "the same cohort as Alpha 2019" in reason
    assert "possible overlap, not declared" in reason
    assert "the largest (n = 45), not this one (n = 20)" in reason


def _fixture_copy(tmp_path: Path, edit) -> Path:
    target = tmp_path / "evidence"
    shutil.copytree(FIXTURE / "evidence", target)
    edit(target)
    return target


def _declare(target: Path) -> None:
    path = target / "alpha-2019.yaml"
    path.write_text(path.read_text() + "overlaps_with:\n  - {id: alpha-2015, reason: Same centre; the 2006-2012 "
                    "patients are in both series.}\n")


def test_declared_overlap_silences_the_warning_and_gives_its_reason(tmp_path):
    ev_dir = _fixture_copy(tmp_path, _declare)
    report = validate_evidence(ev_dir)
    assert report.ok and not _overlaps(report)
    result = run_spec(load_evidence(ev_dir), load_spec(SPEC))
    reason = result.exclusions.set_index("study_id").loc["alpha-2015", "reason"]
    assert "declared overlap: Same centre; the 2006-2012 patients are in both series." in reason


def _bigger_early(target: Path) -> None:
    _declare(target)
    path = target / "alpha-2015.yaml"
    text = path.read_text().replace("patients: 20", "patients: 60").replace("events: 8, n: 20", "events: 20, n: 60")
    path.write_text(text)


@pytest.mark.parametrize("rule, kept, dropped, phrase", [
    ("largest", "alpha-2015", "alpha-2019", "the largest (n = 60), not this one (n = 45)"),
    ("latest", "alpha-2019", "alpha-2015", "the latest (2019), not this one (2015)"),
])
def test_overlap_rule_is_configurable(tmp_path, rule, kept, dropped, phrase):
    ev_dir = _fixture_copy(tmp_path, _bigger_early)
    spec = load_spec(SPEC).model_copy(update={"overlap": rule})
    result = run_spec(load_evidence(ev_dir), spec)
    pooled = set(result.strata[0].rows.loc[result.strata[0].rows["role"] == "study", "study_id"])
    assert kept in pooled and dropped not in pooled
    row = result.exclusions[result.exclusions["study_id"] == dropped]
    assert phrase in row["reason"].iloc[0]


def test_distinct_from_silences_the_warning_and_both_are_pooled(tmp_path):
    def edit(target: Path) -> None:
        path = target / "alpha-2019.yaml"
        path.write_text(path.read_text() + "distinct_from:\n  - {id: alpha-2015, reason: Checked; no shared patients.}\n")

    ev_dir = _fixture_copy(tmp_path, edit)
    report = validate_evidence(ev_dir)
    assert report.ok and not _overlaps(report)
    result = run_spec(load_evidence(ev_dir), load_spec(SPEC))
    assert result.strata[0].fit.k == 3
    assert result.exclusions["role"].tolist() == ["umbrella"]


def test_unknown_and_self_references(tmp_path):
    extra = ("overlaps_with:\n  - {id: alpha-2016, reason: typo}\n  - {id: alpha-2019, reason: self}\n"
             "distinct_from:\n  - {id: nowhere, reason: x}\n")
    _write(tmp_path, {"alpha-2015": _record("alpha-2015"), "alpha-2019": _record("alpha-2019", extra=extra)})
    report = validate_evidence(tmp_path)
    errors = {(p.field, p.line): p.message for p in report.errors if p.rule == "unknown-reference"}
    line = (tmp_path / "alpha-2019.yaml").read_text().splitlines().index("  - {id: alpha-2016, reason: typo}") + 1
    assert errors[("overlaps_with[0].id", line)] == "no record has the id 'alpha-2016' (did you mean 'alpha-2015'?)"
    assert errors[("overlaps_with[1].id", line + 1)] == "a record cannot refer to itself"
    assert "no record has the id 'nowhere'" in errors[("distinct_from[0].id", line + 3)]


def test_overlap_and_distinct_together_is_an_error(tmp_path):
    extra = "overlaps_with: [{id: a-2015, reason: x}]\ndistinct_from: [{id: a-2015, reason: y}]\n"
    _write(tmp_path, {"a-2015": _record("a-2015"), "b-2019": _record("b-2019", extra=extra)})
    assert [p.rule for p in validate_evidence(tmp_path).errors] == ["conflicting-fields"]


@pytest.mark.parametrize("a, b, warned", [
    # same centre, overlapping accrual
    ({}, {"authors": ("Other C",)}, True),
    # same centre, accrual periods apart
    ({}, {"authors": ("Other C",), "accrual": "{start: 2011, end: 2014}"}, False),
    # same centre, accrual unknown for one: cannot be ruled out
    ({}, {"authors": ("Other C",), "accrual": ""}, True),
    # same first author only, different centres, overlapping accrual
    ({}, {"centre": "Centre Y"}, True),
    # same author only, accrual unknown: too weak
    ({}, {"centre": "Centre Y", "accrual": ""}, False),
    # last author of one is first author of the other
    ({"authors": ("Smith A", "Jones B")}, {"centre": "Centre Y", "authors": ("Jones B", "Kim C")}, True),
    # same centre and period, different modality family
    ({}, {"modality": "rfa"}, False),
    # same modality family, different terms
    ({"modality": "sirt_glass"}, {"modality": "sirt"}, True),
    # reviews are never flagged
    ({}, {"design": "meta_analysis"}, False),
    # centre names compared without case and punctuation; 'et al.' is no author
    ({"centre": "Centre X.", "authors": ("et al.",)}, {"centre": "centre x", "authors": ("Other C", "et al.")}, True),
])
def test_possible_overlap_rules(tmp_path, a, b, warned):
    _write(tmp_path, {"a-2015": _record("a-2015", **a), "b-2019": _record("b-2019", **b)})
    report = validate_evidence(tmp_path)
    assert report.ok, [p.format() for p in report.errors]
    assert len(_overlaps(report)) == (1 if warned else 0)


def test_related_records_are_not_flagged(tmp_path):
    _write(tmp_path, {"a-2015": _record("a-2015", extra="related: [b-2019]\n"), "b-2019": _record("b-2019")})
    assert not _overlaps(validate_evidence(tmp_path))


def test_accrual_overlap_by_month():
    assert accrual_overlaps(Accrual(start=2005, end="2010-06"), Accrual(start="2010-06")) is True
    assert accrual_overlaps(Accrual(start=2005, end="2010-05"), Accrual(start="2010-06", end=2012)) is False
    assert accrual_overlaps(Accrual(start=2005, end=2010), Accrual(start=2010)) is True
    assert accrual_overlaps(Accrual(start=2005), None) is None


def test_cohort_groups_connect_chains():
    ev = load_evidence(FIXTURE / "evidence")
    links = cohort_links(ev.records, ev.citations)
    assert [(l.first, l.second, l.kind) for l in links] == [("alpha-2015", "alpha-2019", "possible")]
    groups = cohort_groups(links)
    assert groups == {"alpha-2015": ("alpha-2015", "alpha-2019"), "alpha-2019": ("alpha-2015", "alpha-2019")}


def test_many_records_are_bucketed():
    """1,000 records, 500 centres with two records each: exactly the 500 pairs are linked."""
    records = [Record.model_validate({
        "id": f"study-{i:04d}", "name": f"Study {i}", "design": "case_series", "modality": ["sirt"],
        "citation": f"study-{i:04d}",
        "cohort": {"centres": [f"Centre {i // 2}"], "accrual": {"start": 2005, "end": 2010}},
        "sources": {f"study-{i:04d}": {"authors": [f"Author{i} A"]}}}) for i in range(1000)]
    links = cohort_links(records, {})
    assert len(links) == 500
    assert all(int(l.second[-4:]) == int(l.first[-4:]) + 1 and int(l.first[-4:]) % 2 == 0 for l in links)


def _orr_record(rid: str, n: int, events: int, *, year: int, overlaps: tuple[str, ...] = (), arms: str = "") -> str:
    extra = "".join(f"  - {{id: {o}, reason: shared patients}}\n" for o in overlaps)
    return (f"id: {rid}\nname: {rid}\ndesign: case_series\nmodality: [sirt]\ncitation: {rid}\n"
            f"sources:\n  {rid}: {{authors: [{rid.title()} A], year: {year}}}\n"
            + (f"overlaps_with:\n{extra}" if extra else "") + arms
            + f"outcomes:\n  - endpoint: orr\n    statistic: {{kind: count, events: {events}, n: {n}}}\n"
            f"    provenance: {{source: {rid}, location: abstract, kind: primary, verified: true}}\n")


@pytest.mark.parametrize("sizes, pooled", [
    # the middle publication is the largest: both ends give way to it
    ((30, 60, 40), {"b-2016"}),
    # an end is the largest: the middle gives way, the other end is not linked to the kept one and stays
    ((60, 40, 30), {"a-2015", "c-2017"}),
])
def test_a_chain_of_overlaps_keeps_every_publication_not_linked_to_a_kept_one(tmp_path, sizes, pooled):
    a, b, c = sizes
    _write(tmp_path, {
        "a-2015": _orr_record("a-2015", a, 10, year=2015),
        "b-2016": _orr_record("b-2016", b, 10, year=2016, overlaps=("a-2015",)),
        "c-2017": _orr_record("c-2017", c, 10, year=2017, overlaps=("b-2016",)),
        "d-2018": _orr_record("d-2018", 50, 10, year=2018),
    })
    spec = load_spec(SPEC)
    result = run_spec(load_evidence(tmp_path), spec)
    rows = result.strata[0].rows
    assert set(rows.loc[rows["role"] == "study", "study_id"]) == pooled | {"d-2018"}
    for r in result.exclusions.itertuples():
        assert r.reason.startswith("the same cohort as ") and "declared overlap: shared patients" in r.reason


def test_an_arm_brings_its_own_size(tmp_path):
    arms = ("arms:\n  - {id: y90, label: SIRT, modality: sirt}\n  - {id: tace, label: TACE, modality: tace}\n"
            "population:\n  patients: 200\n  arms: {y90: 20, tace: 180}\n"
            "  provenance: {source: big-2019, location: abstract, kind: primary, verified: true}\n")
    big = _orr_record("big-2019", 1, 0, year=2019, overlaps=("small-2015",), arms=arms)
    big = big.replace("    statistic: {kind: count, events: 0, n: 1}",
                      "    arm: y90\n    statistic: {kind: proportion, percent: 40}")
    _write(tmp_path, {"big-2019": big, "small-2015": _orr_record("small-2015", 30, 10, year=2015)})
    result = run_spec(load_evidence(tmp_path), load_spec(SPEC).model_copy(update={"model": load_spec(SPEC).model}))
    reason = result.exclusions.set_index("study_id").loc["big-2019", "reason"]
    assert "the largest (n = 30), not this one (n = 20)" in reason
