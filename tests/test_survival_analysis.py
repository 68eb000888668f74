"""Kaplan-Meier, medians, landmarks, restricted mean, log-rank and Cox on the RADIANT-4 rows, against
R's survival package (tests/reference/survival.R -> survival.json)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netevidence.survival.analysis import (
    compare_arms,
    derived_summary,
    kaplan_meier,
    restricted_mean,
    survival_quantile,
)

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "survival.json").read_text())


def arm_rows(fig, arm):
    d = pd.read_csv(HERE / "data" / "radiant4" / f"RADIANT4_{fig}.csv")
    return d[d.arm == arm]


def nan_or(x):
    return np.nan if x is None else x


@pytest.mark.parametrize("fig", ["2A", "2C"])
@pytest.mark.parametrize("arm", ["everolimus", "placebo"])
@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
def test_kaplan_meier_matches_survfit(fig, arm, conf_type):
    ref = REF[fig][f"{arm}|{conf_type}"]
    x = arm_rows(fig, arm)
    km = kaplan_meier(x.time, x.event, conf_type=conf_type)
    np.testing.assert_allclose(km.time, ref["time"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(km.survival, ref["surv"], rtol=1e-12)
    np.testing.assert_array_equal(km.n_at_risk, ref["n_risk"])
    np.testing.assert_array_equal(km.n_event, ref["n_event"])
    lo = np.array([nan_or(v) for v in ref["lower"]], dtype=float)
    hi = np.array([nan_or(v) for v in ref["upper"]], dtype=float)
    ok = ~np.isnan(lo)
    np.testing.assert_allclose(km.ci_low[ok], lo[ok], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(km.ci_high[ok], hi[ok], rtol=1e-10, atol=1e-12)
    for mine, theirs in [(km.median, ref["median"]), (km.median_ci_low, ref["median_lcl"]),
                         (km.median_ci_high, ref["median_ucl"])]:
        if theirs is None:
            assert np.isnan(mine)
        else:
            assert mine == pytest.approx(theirs, abs=1e-12)
    lm = km.survival_at(ref["landmark_times"])
    np.testing.assert_allclose(lm["survival"], ref["landmark_surv"], rtol=1e-12)
    np.testing.assert_allclose(lm["ci_low"], ref["landmark_lower"], rtol=1e-10)
    np.testing.assert_allclose(lm["ci_high"], ref["landmark_upper"], rtol=1e-10)
    np.testing.assert_array_equal(lm["n_at_risk"], ref["landmark_n_risk"])


@pytest.mark.parametrize("fig", ["2A", "2C"])
@pytest.mark.parametrize("arm", ["everolimus", "placebo"])
def test_restricted_mean_matches_survfit(fig, arm):
    ref = REF[fig][f"{arm}|rmst24"]
    x = arm_rows(fig, arm)
    r = restricted_mean(x.time, x.event, 24.0)
    assert r.estimate == pytest.approx(ref["rmean"], rel=1e-12)
    assert r.se == pytest.approx(ref["se"], rel=1e-10)


@pytest.mark.parametrize("fig", ["2A", "2C"])
def test_logrank_and_cox_match_r(fig):
    a, b = arm_rows(fig, "everolimus"), arm_rows(fig, "placebo")
    c = compare_arms(a.time, a.event, b.time, b.event)
    assert c.logrank_statistic == pytest.approx(REF[fig]["logrank"]["chisq"], rel=1e-8)
    assert c.logrank_pval == pytest.approx(REF[fig]["logrank"]["pval"], rel=1e-6)
    # R stops Newton-Raphson at a relative log-likelihood change of 1e-9, lifelines later: 1e-5 apart
    assert c.log_hr == pytest.approx(REF[fig]["cox"]["coef"], abs=1e-5)
    assert c.log_hr_se == pytest.approx(REF[fig]["cox"]["se"], rel=1e-5)
    assert np.log(c.hr_ci_low) == pytest.approx(REF[fig]["cox"]["lower"], abs=1e-5)


def test_quantile_midpoint_rule_and_errors():
    # curve exactly on 0.5 from t=2 to the next drop at t=4: R reports the midpoint, 3
    assert survival_quantile(np.array([1.0, 2.0, 4.0]), np.array([0.75, 0.5, 0.25])) == 3.0
    assert np.isnan(survival_quantile(np.array([1.0]), np.array([0.8])))
    with pytest.raises(ValueError, match="row 1: event must be 0 or 1"):
        kaplan_meier([1.0, 2.0], [1, 2])
    with pytest.raises(ValueError, match="row 0: time must be finite"):
        kaplan_meier([-1.0, 2.0], [1, 0])
    with pytest.raises(ValueError, match="conf_type"):
        kaplan_meier([1.0, 2.0], [1, 0], conf_type="arcsine")


def test_derived_summary_next_to_published_values():
    a, b = arm_rows("2A", "everolimus"), arm_rows("2A", "placebo")
    tab = derived_summary({"everolimus": (a.time, a.event), "placebo": (b.time, b.event)}, landmarks=[12],
                          published={("everolimus", "median"): 11.0, ("everolimus", "HR vs placebo"): 0.48})
    assert (tab["basis"] == "derived").all()
    row = tab.set_index(["arm", "quantity"])
    ref = REF["2A"]
    assert row.loc[("everolimus", "median"), "value"] == pytest.approx(ref["everolimus|log-log"]["median"])
    assert row.loc[("everolimus", "median"), "difference"] == pytest.approx(ref["everolimus|log-log"]["median"] - 11.0)
    assert row.loc[("placebo", "survival at 12"), "value"] == pytest.approx(ref["placebo|log-log"]["landmark_surv"][1])
    assert np.log(row.loc[("everolimus", "HR vs placebo"), "value"]) == pytest.approx(ref["cox"]["coef"], abs=1e-5)
    assert np.isnan(row.loc[("placebo", "median"), "published"])
    with pytest.raises(ValueError, match="reference arm 'control' is not among"):
        derived_summary({"a": (a.time, a.event), "b": (b.time, b.event)}, reference="control")
