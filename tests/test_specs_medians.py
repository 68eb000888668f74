"""Median of medians in analyses: study medians without a CI and medians not reached are summarised."""

from __future__ import annotations

import numpy as np
import pytest

from netevidence import load_evidence
from netevidence.pooling import median_of_medians
from netevidence.specs import run_spec
from netevidence.specs.schema import AnalysisSpec

SERIES = """\
id: {id}
name: {name}
design: case_series
modality: [prrt]
citation: {id}
sources:
  {id}: {{title: Series {name}, year: 2017}}
outcomes:
  - endpoint: os
    statistic: {statistic}
    provenance: {{source: {id}, location: abstract, kind: primary, verified: true}}
"""

MEDIANS = {
    "m1": "{kind: median_time, estimate: 40, unit: months}",
    "m2": "{kind: median_time, estimate: 3, unit: years}",
    "m3": "{kind: median_time, estimate: 52, unit: months, ci_low: 41, ci_high: 66}",
    "m4": "{kind: median_time, not_reached: true, unit: months}",
    "m5": "{kind: median_time, estimate: 28, unit: months}",
}


@pytest.fixture(scope="module")
def medians_evidence(tmp_path_factory):
    d = tmp_path_factory.mktemp("medians")
    for sid, stat in MEDIANS.items():
        (d / f"{sid}.yaml").write_text(SERIES.format(id=sid, name=sid.upper(), statistic=stat))
    return load_evidence(d)


def _spec(**model):
    return AnalysisSpec.model_validate({"id": "x", "title": "x",
                                        "select": {"endpoints": ["os"], "statistics": ["median_time"]},
                                        "model": model})


def test_stratum_carries_the_median_of_medians_with_not_reached_kept(medians_evidence):
    (st,) = run_spec(medians_evidence, _spec()).strata
    mm = st.medians
    assert mm is not None and mm.k == 5 and mm.k_not_reached == 1
    # in months: 40, 36, 52, not reached, 28 -> the middle value depends on the not-reached median:
    # at -inf it is 36, at +inf it is 40
    assert mm.status == "bounded" and (mm.estimate_low, mm.estimate_high) == (36.0, 40.0)
    ref = median_of_medians([40, 36, 52, np.nan, 28], not_reached=[0, 0, 0, 1, 0])
    assert (mm.ci_low, mm.ci_high, mm.coverage) == (ref.ci_low, ref.ci_high, ref.coverage)
    summary = st.summary()
    assert summary["median_of_medians_not_reached"] == 1 and summary["median_of_medians_k"] == 5
    note = next(n for n in st.notes if n.startswith("median of the 5 study medians"))
    assert "1 not reached, kept as censored" in note and "between 36 and 40" in note
    labels = set(mm.labels)
    assert "M4" in labels  # the not-reached median is kept and named


def test_medians_can_be_switched_off(medians_evidence):
    (st,) = run_spec(medians_evidence, _spec(medians="none")).strata
    assert st.medians is None and "median_of_medians" not in st.summary()


WITH_PATIENTS = SERIES.replace("outcomes:\n", "population:\n  patients: {patients}\n"
                               "  provenance: {{source: {id}, location: abstract, kind: primary, verified: true}}\n"
                               "outcomes:\n")
RANGED = {  # (patients, statistic)
    "q1": (40, "{kind: median_time, estimate: 22, range_low: 3, range_high: 80, unit: months}"),
    "q2": (55, "{kind: median_time, estimate: 2.5, range_low: 0.25, range_high: 8, unit: years}"),
    "q3": (28, "{kind: median_time, estimate: 18, range_low: 1.5, range_high: 70, unit: months}"),
    "q4": (30, "{kind: median_time, not_reached: true, unit: months}"),
    "q5": (35, "{kind: median_time, estimate: 40, unit: months}"),
}


def test_quantile_estimation_pools_medians_with_range_and_keeps_the_others(tmp_path):
    from netevidence.pooling import qe_pool

    for sid, (patients, stat) in RANGED.items():
        (tmp_path / f"{sid}.yaml").write_text(WITH_PATIENTS.format(id=sid, name=sid.upper(), statistic=stat,
                                                                   patients=patients))
    ev = load_evidence(tmp_path)
    (st,) = run_spec(ev, _spec(medians="qe")).strata
    qe = st.medians
    assert qe.status == "pooled" and qe.k == 3 and qe.k_total == 5 and qe.k_not_reached == 1
    # in months, with each study's number of patients
    ref = qe_pool([22, 30, 18, np.nan, 40], [40, 55, 28, 30, 35], minimum=[3, 3, 1.5, np.nan, np.nan],
                  maximum=[80, 96, 70, np.nan, np.nan], not_reached=[0, 0, 0, 1, 0])
    assert (qe.estimate, qe.ci_low, qe.ci_high) == pytest.approx((ref.estimate, ref.ci_low, ref.ci_high), rel=1e-12)
    note = next(n for n in st.notes if n.startswith("quantile estimation on the 5 study medians"))
    assert "McGrath et al. 2020" in note and "for survival times: no censoring" in note
    assert "not pooled (median not reached" in note and "Q4" in note
    assert "not pooled (neither quartiles nor range reported): Q5" in note
    assert st.summary()["median_method"] == "qe"
    # the default stays the median of medians
    (st,) = run_spec(ev, _spec()).strata
    assert st.summary()["median_method"] == "median_of_medians" and st.medians.k == 5


def test_methods_text_names_the_chosen_summary_of_medians_and_its_assumptions():
    from netevidence.report.methods import spec_methods

    qe = " ".join(spec_methods(_spec(medians="qe")))
    assert "quantile estimation (McGrath et al." in qe and "1 / (4 n f(median)²)" in qe
    assert "no censoring" in qe and "medians not reached" in qe and "median of their medians" not in qe
    mm = " ".join(spec_methods(_spec()))
    assert "summarised by their median with a sign-test interval" in mm and "quantile estimation" not in mm
