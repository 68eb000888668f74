"""The shipped evidence base: valid, every number traceable, the named studies and their endpoints."""

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from netevidence import load_evidence, validate_evidence
from netevidence.records.yamlsource import parse_yaml_file

EVIDENCE = Path(__file__).resolve().parent.parent / "evidence"


@pytest.fixture(scope="module")
def evidence():
    return load_evidence(EVIDENCE)


def test_shipped_evidence_is_valid_and_lists_known_conflicts():
    report = validate_evidence(EVIDENCE)
    assert report.ok, [p.format() for p in report.errors]
    conflicts = [p.message for p in report.warnings if p.rule == "conflicting-values"]
    assert any("estimate 8.4 (strosberg-2017) vs 8.5 (ascopost-2021)" in m for m in conflicts)
    assert any("included studies differs between sources: 27 (frilling-2019) vs 23 (cazzato-2021)" in m
               for m in conflicts)
    secondary = {p.file for p in report.warnings if p.rule == "secondary-only"}
    assert str(EVIDENCE / "pickens-2021.yaml") in secondary


def _numbers(node, path=()):
    if isinstance(node, bool):
        return
    if isinstance(node, (int, float)):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _numbers(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _numbers(value, path + (i,))


# Bibliographic and bookkeeping numbers are not evidence: citations, data-cut years, CI levels.
def _exempt(path):
    return path[0] == "sources" or (path[0] == "data_cuts" and path[-1] == "year") or path[-1] == "ci_level"


@pytest.mark.parametrize("file", sorted(p.name for p in EVIDENCE.glob("*.yaml") if p.name != "search.yaml"))
def test_every_number_carries_provenance(file):
    parsed = parse_yaml_file(EVIDENCE / file)
    checked = 0
    for path, _ in _numbers(parsed.data):
        if _exempt(path):
            continue
        holder, prov = parsed.data, None
        for i, part in enumerate(path[:-1]):
            holder = holder[part]
            if isinstance(holder, dict) and "provenance" in holder:
                prov = holder["provenance"]
        assert prov is not None, f"{file}:{parsed.locate(path).line}: {path} has no provenance"
        assert {"source", "location", "kind", "verified"} <= set(prov)
        if prov["verified"] is False:
            assert prov.get("note"), f"{file}: unverified number without a reason at {path}"
        checked += 1
    if file != "sources.yaml":
        assert checked > 0


def test_the_six_named_studies_and_their_endpoints(evidence):
    outcomes = evidence.outcomes
    expected = {
        "netter-1": {"pfs", "os", "orr", "ttd_qol", "toxicity_grade3plus"},
        "jia-2018": {"dcr", "os", "symptom_response"},
        "frilling-2019-series": {"orr", "dcr", "os", "pfs"},
        "frilling-2019-meta-analysis": {"orr", "dcr"},
        "braat-2020": {"orr", "dcr", "os", "symptom_response"},
        "mohan-2015": {"symptom_response"},
        "pickens-2021": {"os", "rfs", "symptom_response"},
    }
    for study, endpoints in expected.items():
        have = set(outcomes.loc[outcomes.study_id == study, "endpoint"])
        assert endpoints <= have, (study, endpoints - have)


def _one(frame, **where):
    mask = pd.Series(True, index=frame.index)
    for key, value in where.items():
        mask &= frame[key].isna() if value is None else (frame[key] == value)
    rows = frame[mask]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_reported_numbers_are_kept_as_reported(evidence):
    o = evidence.outcomes
    hr = _one(o, study_id="netter-1", endpoint="pfs", statistic="hazard_ratio", data_cut="primary-2017",
              location="abstract")
    assert (hr.estimate, hr.ci_low, hr.ci_high, hr.ci_level, hr.p, hr.p_relation) == (0.21, 0.13, 0.33, 0.95, 0.001, "<")
    assert (hr.arm, hr.comparator, hr.modality, hr.source_kind, bool(hr.verified)) == ("lu177", "control", "prrt", "primary", True)
    assert hr.file.endswith("netter-1.yaml") and hr.line > 0
    final = _one(o, study_id="netter-1", endpoint="os", statistic="hazard_ratio", data_cut="final-os-2021")
    assert (final.estimate, final.ci_low, final.ci_high, final.p) == (0.84, 0.60, 1.17, 0.30)
    pfs20 = o[(o.study_id == "netter-1") & (o.statistic == "survival_at") & (o.arm == "lu177")]
    assert sorted(pfs20.source_kind) == ["primary", "secondary"]
    assert set(pfs20.percent) == {65.2} and set(pfs20.time) == {20.0} and set(pfs20.time_unit) == {"months"}
    series = _one(o, study_id="frilling-2019-series", endpoint="dcr")
    assert (series.events, series.n, series.statistic, series.aggregation) == (21, 24, "count", "primary")
    meta = o[(o.study_id == "frilling-2019-meta-analysis") & (o.endpoint == "orr")].iloc[0]
    assert (meta.percent, meta.ci_low, meta.ci_high, meta.aggregation, meta.pooled_model, meta.k) == (
        51.0, 47.0, 54.0, "pooled", "fixed", 27)
    jia = _one(o, study_id="jia-2018", endpoint="dcr", source="jia-2018")
    assert (jia.statistic, jia.estimate, jia.unit, jia.aggregation) == ("median_of_studies", 86.0, "percent", "median_of_studies")
    pickens = _one(o, study_id="pickens-2021", endpoint="os", time=5.0)
    assert (pickens.percent, pickens.source, pickens.source_kind) == (70.0, "cazzato-2021", "secondary")
    nr = _one(o, study_id="netter-1", endpoint="pfs", statistic="median_time", arm="lu177")
    assert bool(nr.not_reached) and pd.isna(nr.estimate)


def test_netter1_data_cuts_are_kept_apart(evidence):
    o = evidence.outcomes
    cuts = set(o.loc[o.study_id == "netter-1", "data_cut"])
    assert {"primary-2017", "final-os-2021", "qol", "meeting-2016", "update-2016-06", "later-abstracts",
            "liver-burden-2020"} == cuts
    hrs = o[(o.study_id == "netter-1") & (o.endpoint == "pfs") & (o.statistic == "hazard_ratio") & o.subgroup.isna()]
    by_cut = sorted(zip(hrs.data_cut, hrs.estimate))
    assert by_cut == [("later-abstracts", 0.18), ("meeting-2016", 0.21), ("primary-2017", 0.21),
                      ("primary-2017", 0.214), ("update-2016-06", 0.21)]
    assert set(evidence.data_cuts.loc[evidence.data_cuts.study_id == "netter-1", "data_cut"]) == cuts


def test_unverified_numbers_are_flagged_with_reason(evidence):
    o = evidence.outcomes
    unverified = o[~o.verified.astype(bool)]
    assert not unverified.empty
    assert unverified.note.notna().all()
    row = _one(o, study_id="frilling-2019-meta-analysis", endpoint="pfs")
    assert row.estimate == 41.0 and not bool(row.verified)


def test_tables_have_documented_columns(evidence):
    from netevidence.tables import OUTCOME_COLUMNS

    assert tuple(evidence.outcomes.columns) == OUTCOME_COLUMNS
    assert evidence.outcomes["events"].dtype == "Int64"
    assert evidence.outcomes["verified"].dtype == "boolean"
    assert set(evidence.studies.study_id) == {r.id for r in evidence.records}
    # sources.yaml holds citations, search.yaml the search log
    assert len(evidence.studies) == len(list(EVIDENCE.glob("*.yaml"))) - 2


def test_loading_never_modifies_evidence():
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in EVIDENCE.iterdir() if p.is_file()}
    load_evidence(EVIDENCE)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in EVIDENCE.iterdir() if p.is_file()}
    assert before == after


def test_every_number_has_a_source_a_location_and_primary_numbers_a_page(evidence):
    """Each reported number names its source and where in it; a number read in the study's own publication
    also names the page it was read on, on its provenance or on its source's citation."""
    out = evidence.outcomes
    assert out["source"].notna().all() and (out["source"] != "").all()
    assert out["location"].notna().all() and (out["location"].str.strip() != "").all()
    primary = out[out["source_kind"] == "primary"]
    own_page = primary["seen_at"].fillna("").str.strip() != ""
    cited_page = primary["source"].map(lambda s: bool(evidence.citations[s].seen_at))
    missing = primary[~(own_page | cited_page)]
    assert missing.empty, missing[["study_id", "source", "location", "line"]].to_string()


def test_devcic_table3_columns_reproduce_the_meta_analysis_pool(evidence):
    """The twelve columns of Devcic 2014's table 3 (nine records of their own, three added to records already
    held) pooled as the meta-analysis did (random effects, DerSimonian-Laird, logit) give back its published
    objective response 50% (38% to 62%) and disease control 86% (78% to 92%) to within 2 percentage points:
    a transcription error in any column would move them."""
    import numpy as np

    from netevidence.effects import back_transform, compute
    from netevidence.pooling import pool

    out = evidence.outcomes
    table = out[(out["source"] == "devcic-2014") & out["endpoint"].str.startswith("response_")]
    assert table["study_id"].nunique() == 12 and table.groupby("study_id")["n"].first().sum() == 435
    wide = table.pivot_table(index="study_id", columns="endpoint", values="percent")
    n = table.groupby("study_id")["n"].first().loc[wide.index].to_numpy(float)
    assert np.allclose(wide.sum(axis=1), 100, atol=0.11)  # the four categories of each column
    orr = wide["response_complete"] + wide["response_partial"]
    for pct, (est, lo, hi) in ((orr, (0.50, 0.38, 0.62)), (orr + wide["response_stable"], (0.86, 0.78, 0.92))):
        es = compute("PLO", events=np.round(pct.to_numpy() * n / 100), n=n)
        p = pool(es.yi, es.vi, method="DL").predict(back_transform("PLO"))
        assert abs(p.pred - est) <= 0.02 and abs(p.ci_low - lo) <= 0.02 and abs(p.ci_high - hi) <= 0.02
