"""Landmark survival in analyses: the variance ladder, its labels, rung (d) only when allowed, sensitivity."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from netevidence import load_evidence
from netevidence.pooling import pool
from netevidence.specs import run_spec
from netevidence.specs.schema import AnalysisSpec

FIXTURES = Path(__file__).resolve().parent / "fixtures"

SERIES = """\
id: {id}
name: {name}
design: case_series
modality: [tace]
citation: {id}
sources:
  {id}: {{title: Series {name}, year: 2016}}
population:
  patients: {patients}
  provenance: {{source: {id}, location: abstract, kind: primary, verified: true}}
outcomes:
  - endpoint: pfs
    time: 12
    time_unit: months
    statistic: {statistic}
    provenance: {{source: {id}, location: abstract, kind: primary, verified: true}}
"""

LANDMARK_ON_CURVE = """\
  - endpoint: pfs
    arm: everolimus
    time: 1
    time_unit: years
    statistic: {kind: survival_at, percent: 44}
    provenance: {source: yao-2016, location: figure 2A, kind: primary, verified: true}
"""


@pytest.fixture(scope="module")
def landmark_evidence(tmp_path_factory):
    d = tmp_path_factory.mktemp("landmark")
    shutil.copytree(FIXTURES / "curves" / "curves", d / "curves")
    text = (FIXTURES / "curves" / "radiant-4.yaml").read_text()
    text = text.replace("curves:\n  - id: pfs-everolimus", LANDMARK_ON_CURVE + "curves:\n  - id: pfs-everolimus")
    (d / "radiant-4.yaml").write_text(text)
    for sid, patients, stat in (
        ("s1", 40, "{kind: survival_at, percent: 55, ci_low: 40, ci_high: 68}"),
        ("s2", 25, "{kind: survival_at, percent: 62}"),
        ("s3", 60, "{kind: survival_at, percent: 48, ci_low: 36, ci_high: 60}"),
    ):
        (d / f"{sid}.yaml").write_text(SERIES.format(id=sid, name=sid.upper(), patients=patients, statistic=stat))
    return load_evidence(d)


def _spec(**model):
    return AnalysisSpec.model_validate({
        "id": "landmark", "title": "PFS at 12 months",
        "select": {"endpoints": ["pfs"], "statistics": ["survival_at"], "comparisons": False},
        "model": model,
    })


def test_default_spec_pools_rungs_a_to_c_only(landmark_evidence):
    res = run_spec(landmark_evidence, _spec())
    sel = res.selection.set_index("study_id")
    assert sorted(sel.index[sel["role"] == "study"]) == ["radiant-4", "s1", "s3"]
    assert sel.loc["s1", "derivation"] == "ci" and sel.loc["s3", "derivation"] == "ci"
    assert sel.loc["radiant-4", "derivation"] == "greenwood"
    assert sel.loc["s2", "role"] == "shown"
    assert "allowed: ci, greenwood, n_at_risk" in sel.loc["s2", "reason"]
    (st,) = res.strata
    assert st.fit is not None and st.fit.k == 3
    rows = st.rows[st.rows["role"] == "study"]
    assert set(rows["derivation"]) == {"ci", "greenwood"}
    sens = st.sensitivity.set_index("analysis")
    strict = sens.loc["landmark variance from rung a only (reported CI)"]
    assert strict["k"] == 2
    ci_rows = rows[rows["derivation"] == "ci"]
    ref = pool(ci_rows["yi"], ci_rows["vi"], method="REML")
    assert strict["estimate"] == pytest.approx(float(np.exp(-np.exp(ref.estimate))), rel=1e-10)


def test_rung_d_needs_the_spec_to_allow_it(landmark_evidence):
    res = run_spec(landmark_evidence, _spec(survival_variance=["ci", "greenwood", "n_at_risk", "n"]))
    sel = res.selection.set_index("study_id")
    assert sorted(sel.index[sel["role"] == "study"]) == ["radiant-4", "s1", "s2", "s3"]
    assert sel.loc["s2", "derivation"] == "n_no_censoring"
    s = 0.62
    assert sel.loc["s2", "vi"] == pytest.approx((1 - s) / (25 * s * np.log(s) ** 2), rel=1e-12)
    (st,) = res.strata
    assert st.fit.k == 4
    analyses = list(st.sensitivity["analysis"])
    assert "landmark variance from rung a only (reported CI)" in analyses
    stricter = [a for a in analyses if a.startswith("landmark variance from rungs a-b")]
    assert len(stricter) == 1
    assert st.sensitivity.set_index("analysis").loc[stricter[0], "k"] == 3


def test_greenwood_rung_uses_the_reconstructed_curve(landmark_evidence):
    from netevidence.survival import kaplan_meier
    from netevidence.survival.evidence import reconstruct_curves

    recon = reconstruct_curves(landmark_evidence)[("radiant-4", "pfs-everolimus")]
    km = kaplan_meier(recon.time, recon.event)
    j = int(np.searchsorted(km.time, 12.0, side="right") - 1)
    res = run_spec(landmark_evidence, _spec())
    row = res.selection.set_index("study_id").loc["radiant-4"]
    assert row["yi"] == pytest.approx(np.log(-np.log(0.44)), rel=1e-14)
    assert row["vi"] == pytest.approx((km.std_err[j] / np.log(km.survival[j])) ** 2, rel=1e-12)


FOLLOW_UP = """\
  - endpoint: follow_up
    statistic: {kind: median_time, estimate: 10, range_low: 4, range_high: 30, unit: months}
    provenance: {source: s2, location: abstract, kind: primary, verified: true}
"""


def test_rung_d_with_the_effective_sample_size_from_the_reported_follow_up(tmp_path):
    for sid, patients, stat in (
        ("s1", 40, "{kind: survival_at, percent: 55, ci_low: 40, ci_high: 68}"),
        ("s2", 25, "{kind: survival_at, percent: 62}"),
        ("s3", 60, "{kind: survival_at, percent: 48}"),
    ):
        text = SERIES.format(id=sid, name=sid.upper(), patients=patients, statistic=stat)
        (tmp_path / f"{sid}.yaml").write_text(text + (FOLLOW_UP if sid == "s2" else ""))
    ev = load_evidence(tmp_path)
    rungs = ["ci", "greenwood", "n_at_risk", "n"]
    sel = run_spec(ev, _spec(survival_variance=rungs, survival_n="effective")).selection.set_index("study_id")
    sel = sel[sel["statistic"] == "survival_at"]
    assert sel.loc["s1", "derivation"] == "ci"
    # s2: follow-up 4 to 30 months, median 10, so G(12) = 1/2 - (1/2)(12 - 10)/(30 - 10) = 0.45
    assert sel.loc["s2", "derivation"] == "n_effective"
    s, g = 0.62, 0.45
    assert sel.loc["s2", "vi"] == pytest.approx((1 - s) / (25 * g * s * np.log(s) ** 2), rel=1e-12)
    # s3 reports no follow-up: rung (d) without censoring, and labelled so
    assert sel.loc["s3", "derivation"] == "n_no_censoring"
    # the default (study) keeps rung (d) without censoring for every study
    plain = run_spec(ev, _spec(survival_variance=rungs)).selection.set_index("study_id")
    assert set(plain[plain["statistic"] == "survival_at"]["derivation"]) == {"ci", "n_no_censoring"}
    # the effective sample size is still rung (d): the stricter sensitivity analyses leave it out
    st = run_spec(ev, _spec(survival_variance=rungs, survival_n="effective")).strata[0]
    assert st.fit.k == 3
    assert "landmark variance from rung a only (reported CI)" in list(st.sensitivity["analysis"])


def test_spec_refuses_unknown_variance_source():
    with pytest.raises(ValueError, match="survival_variance"):
        _spec(survival_variance=["guess"])


def test_shipped_landmark_analysis_labels_every_row():
    from netevidence.specs import load_spec

    root = Path(__file__).resolve().parent.parent
    evidence = load_evidence(root / "evidence")
    res = run_spec(evidence, load_spec(root / "analyses" / "landmark-survival.yaml"))
    sel = res.selection
    landmark = sel[sel["statistic"] == "survival_at"]
    pooled = landmark[landmark["role"] == "study"]
    # the shipped analysis allows rung (d) explicitly, and every pooled row names its variance source
    assert res.spec.model.survival_variance == ["ci", "greenwood", "n_at_risk", "n"]
    assert set(pooled["derivation"]) <= {"ci", "greenwood", "n_at_risk", "n_no_censoring"}
    assert pooled["derivation"].notna().all() and len(pooled) > 0
    shown = landmark[landmark["role"] == "shown"]
    for percent, reason in zip(shown["percent"], shown["reason"]):
        # a survival of 0% or 100% has no log(-log) value to pool; other rows lack every allowed source
        assert ("allowed: ci, greenwood, n_at_risk, n" in reason
                or (percent in (0.0, 100.0) and "has no finite log(-log) value" in reason)), reason
    for st in res.strata:
        studies = st.rows[st.rows["role"] == "study"]
        assert (st.fit is not None) == (len(studies) >= 2)
        # every modality with at least two primary studies at this landmark is pooled as its own subgroup
        counts = studies.groupby("group")["study_id"].nunique()
        fitted = {g.group: g.k for g in st.group_fits}
        for group, n in counts.items():
            if n >= 2:
                assert fitted.get(group, 0) >= 2, (st.title, group)
        # the sensitivity analysis repeats the pool with the stricter sources only
        if st.fit is not None and (studies["derivation"] == "n_no_censoring").any():
            assert st.sensitivity["analysis"].str.contains("variance").any(), st.sensitivity["analysis"].tolist()


def test_report_rows_name_their_variance_source_and_show_the_bayesian_pool(landmark_evidence, tmp_path):
    from netevidence.report.analysis import build_analysis

    page = build_analysis(landmark_evidence, _spec(), img_dir=tmp_path / "img", img_rel="img")
    (stratum,) = page["strata"]
    variance = {r["study_id"]: r["variance"] for r in stratum["rows"]}
    assert variance["s1"] == "variance: reported CI"
    assert variance["radiant-4"] == "variance: Greenwood, reconstructed data"
    assert variance["s2"] == ""  # shown, not pooled
    assert stratum["bayes"]["model"].startswith("Bayesian (half-normal(scale = 0.5)")
    assert stratum["bayes"]["k"] == 3


def test_survival_curves_end_on_their_reported_median_and_summaries_need_two_studies():
    root = Path(__file__).resolve().parent.parent
    from netevidence.specs import load_spec

    res = run_spec(load_evidence(root / "evidence"), load_spec(root / "analyses" / "landmark-survival.yaml"))
    c = res.curves
    # NETTER-1 reports medians of 48.0 (lu177) and 36.3 months (control): each curve ends exactly there at 0.5
    ends = c.curves[c.curves["label"].str.startswith("NETTER-1")].groupby("label").tail(1).set_index("label")
    assert ends.loc["NETTER-1 (lu177)", "time"] == pytest.approx(48.0)
    assert ends.loc["NETTER-1 (control)", "time"] == pytest.approx(36.3)
    assert (ends["survival"] == 0.5).all()
    # a group of one study gets no summary curve, and the notes say why
    assert all(sc.k >= 2 for sc in c.summary_fits.values())
    assert "somatostatin_analogue" not in c.summary_fits
    assert any(n.endswith("one study, so no summary curve (a summary curve needs k >= 2)") and
               n.lower().startswith("somatostatin") for n in c.notes)


def test_shipped_landmark_analysis_without_rung_d_pools_only_rungs_a_to_c():
    from netevidence.specs import load_spec

    root = Path(__file__).resolve().parent.parent
    evidence = load_evidence(root / "evidence")
    spec = load_spec(root / "analyses" / "landmark-survival.yaml")
    strict = spec.model_copy(update={"model": spec.model.model_copy(
        update={"survival_variance": ["ci", "greenwood", "n_at_risk"]})})
    sel = run_spec(evidence, strict).selection
    landmark = sel[sel["statistic"] == "survival_at"]
    pooled = landmark[landmark["role"] == "study"]
    assert set(pooled["derivation"]) <= {"ci", "ci_loglog", "greenwood", "n_at_risk"}
    # the rows that rung (d) would have pooled are shown, each with the reason
    loose = run_spec(evidence, spec).selection
    only_d = loose[(loose["statistic"] == "survival_at") & (loose["derivation"] == "n_no_censoring")
                   & (loose["role"] == "study")]
    assert len(only_d) > 0
    again = landmark.set_index("row").loc[only_d["row"]]
    assert (again["role"] != "study").all()
    assert again["reason"].str.contains("allowed: ci, greenwood, n_at_risk").all()


def test_effective_sample_size_rows_state_their_assumption_in_the_report():
    from netevidence.report.analysis import variance_label

    label = variance_label({"measure": "SURV", "derivation": "n_effective"})
    assert "effective sample size" in label and "reported follow-up" in label
    assert variance_label({"measure": "SURV", "derivation": "n_no_censoring"}).endswith("no censoring assumed")


def test_methods_text_states_the_effective_sample_size_assumption():
    from netevidence.report.methods import spec_methods

    rungs = ["ci", "greenwood", "n_at_risk", "n"]
    eff = " ".join(spec_methods(_spec(survival_variance=rungs, survival_n="effective")))
    assert "(d) Peto's effective sample size n·G(t)" in eff and "piecewise uniform" in eff
    plain = " ".join(spec_methods(_spec(survival_variance=rungs)))
    assert "assuming no censoring before the landmark" in plain and "effective sample size" not in plain
