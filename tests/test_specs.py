"""Analysis specifications: the schema, row selection, the no-double-counting rules, and every shipped
specification's forest-plot data checked against the pooling engine directly."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netevidence import load_evidence
from netevidence.effects import back_transform
from netevidence.plots import forest_layout
from netevidence.pooling import pool, trim_and_fill
from netevidence.pooling.subgroups import subgroup_analysis
from netevidence.specs import AnalysisSpec, load_spec, load_specs, run_spec, select_rows

ROOT = Path(__file__).resolve().parent.parent
ANALYSES = ROOT / "analyses"
SHIPPED = tuple(sorted(
    ("landmark-survival", "netter-1-hazard-ratios", "symptom-response", "tace-vs-tae")
    + tuple(f"{m}-{kind}" for m in ("sirt", "transarterial", "ablation", "prrt")
            for kind in ("response", "survival", "complications"))))


@pytest.fixture(scope="module")
def evidence():
    return load_evidence(ROOT / "evidence")


@pytest.fixture(scope="module")
def results(evidence):
    return {s.id: run_spec(evidence, s) for s in load_specs(ANALYSES)}


# --------------------------------------------------------------------------- schema and loading


def test_the_shipped_specifications_load():
    assert tuple(s.id for s in load_specs(ANALYSES)) == SHIPPED


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_unknown_key_is_refused_with_its_line(tmp_path):
    p = _write(tmp_path, "bad", """\
        id: bad
        title: Bad
        select: {endpoints: [orr]}
        colour: red
        """)
    with pytest.raises(ValueError, match=r"bad\.yaml:4:1: colour: unknown key"):
        load_spec(p)


def test_unknown_key_gets_the_closest_field_and_the_fix(tmp_path):
    p = _write(tmp_path, "bad", """\
        id: bad
        title: Bad
        select: {endpoints: [orr], exclude_study: [x]}
        plot: [forest]
        """)
    with pytest.raises(ValueError) as info:
        load_spec(p)
    lines = str(info.value).splitlines()
    assert any(line.startswith(f"{p}:3:28: select.exclude_study: unknown key (did you mean 'exclude_studies'?). "
                               "Fix: use one of: ") for line in lines), lines
    assert any(line.startswith(f"{p}:4:1: plot: unknown key (did you mean 'plots'?)") for line in lines), lines


def test_unknown_study_ids_are_errors_with_a_suggestion(tmp_path):
    p = _write(tmp_path, "bad", """\
        id: bad
        title: Bad
        select:
          endpoints: [orr]
          studies: [braat-2020, netter1]
          exclude_studies: [frilling-2019-seris]
        """)
    known = ["braat-2020", "netter-1", "frilling-2019-series"]
    assert load_spec(p).select.exclude_studies == ["frilling-2019-seris"]  # without the evidence: not checked
    with pytest.raises(ValueError) as info:
        load_spec(p, studies=known)
    assert str(info.value).splitlines() == [
        f"{p}:5:25: select.studies[1]: no study has the id 'netter1' (did you mean 'netter-1'?). "
        "Fix: use the id of a record in the evidence directory (its file name)",
        f"{p}:6:21: select.exclude_studies[0]: no study has the id 'frilling-2019-seris' "
        "(did you mean 'frilling-2019-series'?). Fix: use the id of a record in the evidence directory (its file name)",
    ]


def test_misspelt_endpoint_gets_a_suggestion(tmp_path):
    p = _write(tmp_path, "bad", """\
        id: bad
        title: Bad
        select: {endpoints: [orrr]}
        """)
    with pytest.raises(ValueError, match=r"unknown endpoint 'orrr' \(did you mean 'orr'\?\)"):
        load_spec(p)


def test_strict_types_and_cross_field_rules(tmp_path):
    p = _write(tmp_path, "bad", """\
        id: bad
        title: Bad
        select: {endpoints: [orr]}
        model: {pool: "yes"}
        """)
    with pytest.raises(ValueError, match=r"model\.pool"):
        load_spec(p)
    p = _write(tmp_path, "bad2", """\
        id: bad2
        title: Bad
        select: {endpoints: [orr], times: [1]}
        """)
    with pytest.raises(ValueError, match="times needs time_unit"):
        load_spec(p)
    p = _write(tmp_path, "bad3", """\
        id: bad3
        title: Bad
        select: {endpoints: [orr]}
        plots: [forest, survival_curves]
        """)
    with pytest.raises(ValueError, match="survival_curves is not configured"):
        load_spec(p)


def test_id_must_match_file_name(tmp_path):
    p = _write(tmp_path, "one", """\
        id: two
        title: Mismatch
        select: {endpoints: [orr]}
        """)
    with pytest.raises(ValueError, match="must equal the file name 'one'"):
        load_spec(p)


def test_all_problems_of_a_directory_at_once(tmp_path):
    _write(tmp_path, "a", "id: a\ntitle: A\nselect: {endpoints: [nope]}\n")
    _write(tmp_path, "b", "id: b\ntitle: B\nselect: {endpoints: [orr]}\nextra: 1\n")
    with pytest.raises(ValueError) as info:
        load_specs(tmp_path)
    assert "a.yaml" in str(info.value) and "b.yaml" in str(info.value)


# --------------------------------------------------------------------------- every forest against pool()


def _transf(stratum):
    if stratum.measure is None:
        return None
    return back_transform(stratum.measure)


@pytest.mark.parametrize("spec_id", SHIPPED)
def test_forest_data_matches_the_pooling_engine(results, spec_id):
    result = results[spec_id]
    spec = result.spec
    assert result.strata, "every shipped specification shows something"
    for st in result.strata:
        studies = st.rows[st.rows["role"] == "study"]
        lay = forest_layout(st, subgroup=spec.subgroup)
        # the plot shows exactly the stratum's rows, in order
        assert list(lay.rows["label"]) == list(st.rows.loc[st.rows["block"] == "studies", "label"]) + \
            list(st.rows.loc[st.rows["block"] == "published", "label"])
        if st.fit is None:
            assert (not spec.model.pool) or len(studies) < spec.model.min_studies
            assert studies["weight"].isna().all()
            assert (lay.diamonds.empty or "overall" not in set(lay.diamonds["kind"]))
            continue
        ref = pool(studies["yi"].to_numpy(float), studies["vi"].to_numpy(float), method=spec.model.method,
                   ci=spec.model.ci, level=spec.model.level, pi=spec.model.pi)
        np.testing.assert_allclose(studies["weight"].to_numpy(float), ref.weights, rtol=1e-12)
        np.testing.assert_allclose(lay.rows.loc[lay.rows["role"] == "study", "weight"].to_numpy(float),
                                   ref.weights, rtol=1e-12)
        pred = ref.predict(_transf(st))
        overall = lay.diamonds[lay.diamonds["kind"] == "overall"].iloc[0]
        for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
            want = getattr(pred, "pred" if name == "estimate" else name)
            assert overall[name] == pytest.approx(want, rel=1e-12)
        assert overall["k"] == ref.k
        # study values and CIs are the back-transformed yi +- z sqrt(vi)
        t = _transf(st)
        z = 1.959963984540054
        np.testing.assert_allclose(studies["value"], t(studies["yi"].to_numpy(float)), rtol=1e-12)
        ends = np.sort([t(studies["yi"] - z * np.sqrt(studies["vi"])), t(studies["yi"] + z * np.sqrt(studies["vi"]))],
                       axis=0)  # survival's back-transform, exp(-exp(y)), is decreasing
        np.testing.assert_allclose(studies["low"], ends[0], rtol=1e-9)
        np.testing.assert_allclose(studies["high"], ends[1], rtol=1e-9)
        if st.subgroups is not None:
            sub = subgroup_analysis(studies["yi"].to_numpy(float), studies["vi"].to_numpy(float),
                                    list(studies["group"]), method=spec.model.method, ci=spec.model.ci,
                                    level=spec.model.level, pi=spec.model.pi)
            assert st.subgroups.q_between == pytest.approx(sub.q_between, rel=1e-12)
            assert st.subgroups.q_between_pval == pytest.approx(sub.q_between_pval, rel=1e-12)


REVIEW_DESIGNS = ["systematic_review", "meta_analysis", "narrative_review"]


def test_symptom_response_pools_each_primary_study_once(results):
    st = results["symptom-response"].strata[0]
    pooled = st.rows[st.rows["role"] == "study"]
    assert {"braat-2020", "pickens-2021", "sartori-laser", "strosberg-2006"} <= set(pooled["study_id"])
    assert pooled["study_id"].is_unique
    assert sorted(st.rows.loc[st.rows["role"] == "umbrella", "study_id"]) == [
        "cazzato-2021-transarterial", "jia-2018", "mohan-2015"]
    assert st.subgroups is not None and st.subgroups.q_between_df == pooled["group"].nunique() - 1
    # a study reporting complete and partial relief is pooled once, with all relieved patients
    bonne = pooled[pooled["study_id"] == "bonne-2017"].iloc[0]
    assert (bonne["events"], bonne["n"]) == (12, 12)
    # events / n as recorded
    braat = pooled[pooled["study_id"] == "braat-2020"].iloc[0]
    assert (braat["events"], braat["n"]) == (15, 23)


def test_every_row_not_pooled_has_a_reason(results):
    for result in results.values():
        ex = result.exclusions
        assert ex["reason"].notna().all() and (ex["reason"].str.len() > 10).all()


def test_sirt_response_shows_meta_analyses_as_umbrella_rows(results):
    sel = results["sirt-response"].selection
    ma = sel[sel["study_id"].isin(["frilling-2019-meta-analysis", "jnm-2014-resin", "jia-2018"])]
    assert set(ma["role"]) <= {"umbrella", "excluded"}
    assert not (sel["published"] & (sel["role"] == "study")).any()


def test_netter1_all_cuts_shown_and_never_pooled(results):
    result = results["netter-1-hazard-ratios"]
    assert all(st.fit is None for st in result.strata)
    pfs = next(st for st in result.strata if st.key == (("endpoint", "pfs"),))
    # each data cut named by its label, not its id
    from netevidence.labels import data_cut_labels

    labels = data_cut_labels(load_evidence(ROOT / "evidence").data_cuts)
    wanted = {labels[("netter-1", c)] for c in ("primary-2017", "update-2016-06", "later-abstracts")}
    assert wanted <= {d.split("; ")[-1] for d in pfs.rows["detail"]}


def test_latest_data_cut_rule(evidence):
    spec = AnalysisSpec.model_validate({"id": "x", "title": "x", "select": {
        "endpoints": ["pfs"], "statistics": ["hazard_ratio"], "studies": ["netter-1"]}})
    rows = select_rows(evidence, spec)
    kept = rows[rows["role"] == "study"]
    assert list(kept["data_cut"]) == ["later-abstracts"]
    earlier = rows[rows["reason"].fillna("").str.startswith("earlier data cut")]
    assert set(earlier["data_cut"]) == {"primary-2017", "meeting-2016", "update-2016-06"}
    subgroup = rows[rows["reason"].fillna("").str.startswith("a patient subgroup")]
    assert len(subgroup) == 7


def test_duplicate_report_is_used_once(evidence):
    spec = AnalysisSpec.model_validate({"id": "x", "title": "x", "select": {"endpoints": ["symptom_response"],
                                                                          "studies": ["braat-2020"]}})
    rows = select_rows(evidence, spec)
    assert (rows["role"] == "study").sum() == 1
    dup = rows[rows["role"] == "excluded"].iloc[0]
    assert "reported again" in dup["reason"] and dup["source"] == "cazzato-2021"


# --------------------------------------------------------------------------- meta-analysis rules

PRIMARY = """\
id: {id}
name: {name}
design: retrospective_cohort
modality: [tace, tae]
citation: {id}
sources:
  {id}: {{title: Study {name}, year: 2015}}
arms:
  - {{id: tace, label: TACE, modality: tace}}
  - {{id: tae, label: TAE, modality: tae}}
outcomes:
  - endpoint: pfs
    arm: tace
    comparator: tae
    statistic: {{kind: hazard_ratio, estimate: {hr}, ci_low: {lo}, ci_high: {hi}}}
    provenance: {{source: {id}, location: table 2, kind: primary, verified: true}}
"""

META = """\
id: {id}
name: {name}
design: meta_analysis
modality: [tace, tae]
citation: {id}
aggregation: pooled
sources:
  {id}: {{title: Review {name}, year: 2020}}
arms:
  - {{id: tace, label: TACE, modality: tace}}
  - {{id: tae, label: TAE, modality: tae}}
review:
  included_ids: {included}
  included_note: listed for the test
outcomes:
  - endpoint: pfs
    arm: tace
    comparator: tae
    aggregation: {{type: pooled, model: random, k: {k}}}
    statistic: {{kind: hazard_ratio, estimate: {hr}, ci_low: {lo}, ci_high: {hi}}}
    provenance: {{source: {id}, location: abstract, kind: primary, verified: true}}
"""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    d = tmp_path_factory.mktemp("evidence")
    for sid, hr, lo, hi in (("p1", 0.8, 0.5, 1.28), ("p2", 0.7, 0.4, 1.22), ("p3", 1.1, 0.7, 1.73)):
        (d / f"{sid}.yaml").write_text(PRIMARY.format(id=sid, name=sid.upper(), hr=hr, lo=lo, hi=hi))
    for sid, inc, k, hr in (("ma-a", "[p1]", 5, 0.75), ("ma-b", "[p1, p2]", 3, 0.72), ("ma-c", "[]", 9, 0.9)):
        (d / f"{sid}.yaml").write_text(META.format(id=sid, name=sid.upper(), included=inc, k=k, hr=hr,
                                                   lo=round(hr * 0.7, 3), hi=round(hr * 1.4, 3)))
    return load_evidence(d)


def _spec(mode: str) -> AnalysisSpec:
    return AnalysisSpec.model_validate({"id": "x", "title": "x", "select": {"endpoints": ["pfs"]},
                                        "published": {"mode": mode}})


def test_umbrella_mode_pools_only_primary_studies(synthetic):
    res = run_spec(synthetic, _spec("umbrella"))
    sel = res.selection.set_index("study_id")
    assert sorted(sel.index[sel["role"] == "study"]) == ["p1", "p2", "p3"]
    assert set(sel.loc[["ma-a", "ma-b", "ma-c"], "role"]) == {"umbrella"}
    st = res.strata[0]
    assert st.fit is not None and st.fit.k == 3


def test_pool_mode_never_double_counts(synthetic):
    res = run_spec(synthetic, _spec("pool"))
    sel = res.selection.set_index("study_id")
    assert sorted(sel.index[sel["role"] == "study"]) == ["ma-a", "p2", "p3"]
    assert "included in meta-analysis 'ma-a'" in sel.loc["p1", "reason"]
    assert "overlaps with meta-analysis 'ma-a'" in sel.loc["ma-b", "reason"]
    assert "p1" in sel.loc["ma-b", "reason"]
    assert "included studies are not listed" in sel.loc["ma-c", "reason"]
    st = res.strata[0]
    ref = pool(st.rows.loc[st.rows["role"] == "study", "yi"], st.rows.loc[st.rows["role"] == "study", "vi"])
    assert st.fit.estimate == pytest.approx(ref.estimate, rel=1e-12)


def test_pooling_switched_off_shows_rows_without_weights(synthetic):
    spec = AnalysisSpec.model_validate({"id": "x", "title": "x", "select": {"endpoints": ["pfs"]},
                                        "model": {"pool": False}})
    st = run_spec(synthetic, spec).strata[0]
    assert st.fit is None and st.rows["weight"].isna().all()


def test_same_patients_are_not_pooled_twice(evidence):
    spec = AnalysisSpec.model_validate({"id": "x", "title": "x", "select": {
        "endpoints": ["ttd_qol"], "statistics": ["hazard_ratio"]}})
    res = run_spec(evidence, spec)
    sel = res.selection
    assert (sel["role"] == "study").sum() == 1
    assert sel["reason"].fillna("").str.contains("same patients").sum() == 7


def test_landmark_survival_curves(results, evidence):
    curves = results["landmark-survival"].curves
    assert curves is not None
    assert {"Sartori (laser ablation series)", "Pickens 2021"} <= set(curves.curves["label"])
    # curves pass near their reported points and stop at the last reported time
    for label, sub in curves.curves.groupby("label"):
        pts = curves.points[curves.points["label"] == label]
        assert sub["time"].max() == pytest.approx(pts["time"].max())
    # the resin summary curve is built from every resin study with an overall-survival landmark or
    # a reached median for the whole cohort and a reported number of patients; the others are named
    out = evidence.outcomes
    sized = set(evidence.studies.loc[evidence.studies["patients"].notna(), "study_id"])
    resin_os = out[(out["endpoint"] == "os") & out["statistic"].isin(["survival_at", "median_time"])
                   & (out["modality"] == "sirt_resin") & out["subgroup"].isna()
                   & ~out["not_reached"].fillna(False).astype(bool) & ~out["design"].isin(REVIEW_DESIGNS)]
    unsized = set(resin_os.loc[~resin_os["study_id"].isin(sized) & resin_os["arm"].isna(), "study_name"])
    assert {"Kennedy 2008", "Cao 2010"} <= unsized  # known from a table of procedures only
    for name in unsized:  # left out of the summary, and the page says why (no size, or no curve through 100%)
        assert any(n.startswith(f"{name}: the number of patients is not reported") or
                   n.startswith(f"{name}: no curve") for n in curves.notes), name
    arm_sized = {(r.study_id, r.arm) for r in evidence.arms.itertuples(index=False) if pd.notna(r.patients)}
    resin_os = resin_os[[(a in arm_sized) if isinstance(a, str) else (s in sized)
                         for s, a in zip(resin_os["study_id"], resin_os["arm"])]]
    sirt = curves.summary_fits["sirt_resin"]
    assert {"Braat 2020", "Frilling 2019 (case series)"} <= set(sirt.model_based_studies)
    assert set(sirt.model_based_studies) == set(resin_os["study_name"])
    assert sirt.k == len(set(resin_os["study_name"]))


# --------------------------------------------------------------------------- the notebook


def test_the_exploration_notebook_runs():
    import nbclient
    import nbformat

    nb = nbformat.read(ANALYSES / "explore.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ANALYSES)}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    spec_rows = run_spec(load_evidence(ROOT / "evidence"), load_spec(ANALYSES / "symptom-response.yaml")).strata[0].rows
    k = int((spec_rows["role"] == "study").sum())
    assert f"Random-effects model (REML), k = {k}" in text
    assert f"Leave-one-out: REML model, z CI at 95%, k = {k}" in text
    assert "Trim-and-fill (L0): " in text
    tf = trim_and_fill(pool(spec_rows.loc[spec_rows["role"] == "study", "yi"], spec_rows.loc[spec_rows["role"] == "study", "vi"]))
    assert tf.k0 > 0 and f"open circles: {tf.k0} studies filled in by trim-and-fill (L0)" in text
    assert f"Forest plot: Effect sizes; {k} rows, {k} with a confidence interval; no pooled estimate." in text
    assert "Survival curves (os): model-based study curves" in text
    assert "sources.bib" in text and "symptom-response/symptom-response.xlsx" in text and "leave-one-out.csv" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_km_panels_come_from_the_records_digitised_curves(tmp_path):
    import pandas as pd

    from netevidence.survival.analysis import kaplan_meier

    curves_evidence = load_evidence(ROOT / "tests" / "fixtures" / "curves")
    _write(tmp_path, "km-spec", """\
        id: km-spec
        title: Reconstruction
        select: {endpoints: [pfs], studies: [radiant-4], statistics: [median_time]}
        model: {pool: false}
        plots: [forest, km]
        """)
    result = run_spec(curves_evidence, load_spec(tmp_path / "km-spec.yaml"))
    assert [p.label for p in result.km] == ["RADIANT-4 Everolimus", "RADIANT-4 Placebo"]
    assert [p.n for p in result.km] == [205, 97]
    # each reconstruction's Kaplan-Meier median is close to that of the true patient data
    ipd = pd.read_csv(ROOT / "tests" / "data" / "radiant4" / "RADIANT4_2A.csv")
    for panel, arm in zip(result.km, ("everolimus", "placebo")):
        rows = ipd[ipd["arm"] == arm]
        truth = kaplan_meier(rows["time"].to_numpy(), rows["event"].to_numpy())
        assert panel.median == pytest.approx(truth.median, rel=0.05)


def test_km_without_curves_is_a_warning(evidence, tmp_path):
    _write(tmp_path, "km-none", """\
        id: km-none
        title: No curves
        select: {endpoints: [pfs], studies: [netter-1], statistics: [hazard_ratio]}
        model: {pool: false}
        plots: [forest, km]
        """)
    result = run_spec(evidence, load_spec(tmp_path / "km-none.yaml"))
    assert result.km == ()
    assert "no record selected by this specification holds a digitised curve of its endpoints" in result.warnings


# --------------------------------------------------------------------------- gating (Cochrane Handbook)


def test_no_subgroup_test_without_two_subgroups_of_two_studies(results):
    # The rule is checked on every subgrouped stratum of the shipped analyses, so it holds whatever the
    # evidence base holds; both cases must occur at least once for the test to mean anything.
    strata = [s for r in results.values() for s in r.strata if s.subgroups is not None]
    without = [s for s in strata if sum(int(k) >= 2 for k in s.subgroups.k) < 2]
    shown = [s for s in strata if sum(int(k) >= 2 for k in s.subgroups.k) >= 2]
    assert without and shown
    for st in without:
        assert not st.subgroup_test
        assert any("no test for subgroup differences: it needs at least two subgroups with 2 or more studies"
                   in n for n in st.notes)
    assert all(s.subgroup_test for s in shown)
    assert not forest_layout(without[0], subgroup="modality").texts["label"].str.startswith("Test for subgroup").any()
    assert forest_layout(shown[0], subgroup="modality").texts["label"].str.startswith(
        "Test for subgroup differences").any()


def test_funnel_needs_ten_studies_unless_forced(evidence):
    shipped = load_spec(ANALYSES / "symptom-response.yaml")
    assert shipped.small_study.min_k == 10  # the Cochrane Handbook's limit is the default
    k = run_spec(evidence, shipped).strata[0].k
    assert k >= 3
    # a limit just above the pool's k: no funnel, and the note says why and how to override
    spec = shipped.model_copy(update={"small_study": shipped.small_study.model_copy(update={"min_k": k + 1})})
    st = run_spec(evidence, spec).strata[0]
    assert st.funnel is None
    assert any(n.startswith(f"funnel plot not drawn: k = {k} is below {k + 1} studies") and "force: true" in n
               for n in st.notes)
    forced = spec.model_copy(update={"small_study": spec.small_study.model_copy(update={"force": True})})
    assert run_spec(evidence, forced).strata[0].funnel is not None
    lower = spec.model_copy(update={"small_study": spec.small_study.model_copy(update={"min_k": k})})
    assert run_spec(evidence, lower).strata[0].funnel is not None
    two = run_spec(evidence, load_spec(ANALYSES / "prrt-response.yaml"))
    one = next(s for s in two.strata if s.k == 2)
    assert "funnel plot not drawn: it needs at least 3 pooled studies (k = 2)" in one.notes


def test_small_study_option_is_validated():
    with pytest.raises(ValueError, match="min_k"):
        AnalysisSpec.model_validate({"id": "x", "title": "x", "select": {"endpoints": ["pfs"]},
                                     "small_study": {"min_k": 2}})
