"""Pooling landmark survival and medians (against metafor, tests/reference/survival.R ->
survival_pooling.json) and model-based curves through reported landmarks."""

import json
from pathlib import Path

import numpy as np
import pytest

from netevidence.survival.parametric import fit_parametric
from netevidence.survival.pooling import pool_landmark_survival, pool_median_ratios, pool_medians

REF = json.loads((Path(__file__).parent / "reference" / "survival_pooling.json").read_text())["pooling"]


@pytest.mark.parametrize("method", ["REML", "DL"])
def test_landmark_survival_matches_metafor(method):
    r = REF[f"landmark_{method}"]
    res = pool_landmark_survival(r["surv"], ci_low=r["ci_low"], ci_high=r["ci_high"], method=method)
    assert res.estimate == pytest.approx(r["pred"], rel=1e-8)
    assert res.ci_low == pytest.approx(r["ci_lb"], rel=1e-8)
    assert res.ci_high == pytest.approx(r["ci_ub"], rel=1e-8)
    assert res.pooled.tau2 == pytest.approx(r["tau2"], rel=1e-6)
    assert res.ci_low < res.estimate < res.ci_high


def test_median_matches_metafor_and_ratio_of_medians():
    r = REF["median_REML"]
    res = pool_medians(r["median"], r["ci_low"], r["ci_high"])
    assert res.estimate == pytest.approx(r["pred"], rel=1e-8)
    assert res.ci_low == pytest.approx(r["ci_lb"], rel=1e-8)
    assert res.ci_high == pytest.approx(r["ci_ub"], rel=1e-8)
    # one study: the ratio of medians is that study's ratio
    one = pool_median_ratios([20.0], [15.0], [28.0], [10.0], [8.0], [13.0], method="EE")
    assert one.estimate == pytest.approx(2.0, rel=1e-12)
    assert "ROM_SURV" in one.summary()


def test_landmark_errors_name_the_study():
    with pytest.raises(ValueError, match="SURV needs 0 < surv < 1"):
        pool_landmark_survival([0.8, 1.0], ci_low=[0.7, 0.9], ci_high=[0.9, 1.0])


def test_parametric_curves_pass_through_reported_points():
    # an exact Weibull: S(t) = exp(-0.05 t^1.3); report 12- and 36-month survival and the median
    lam, gam = 0.05, 1.3
    s = lambda t: np.exp(-lam * t ** gam)  # noqa: E731
    med = (np.log(2) / lam) ** (1 / gam)
    w = fit_parametric(landmarks={12: s(12), 36: s(36)}, median=med, model="weibull", label="Pickens")
    assert w.rate == pytest.approx(lam, rel=1e-10) and w.shape == pytest.approx(gam, rel=1e-10)
    assert w.median == pytest.approx(med, rel=1e-10)
    assert w.basis == "model-based"
    frame = w.to_frame([0, 12, 24])
    assert (frame["basis"] == "model-based").all()
    assert "model-based" in w.summary()
    si = w.study_intervals([12.0, 24.0], n=50)
    assert si.basis == "model-based" and si.n_at_risk[0] == 50
    # exponential through a single median
    e = fit_parametric(median=20.0, model="exponential")
    assert e.survival(20.0) == pytest.approx(0.5, rel=1e-12)
    with pytest.raises(ValueError, match="Weibull curve needs points at two or more"):
        fit_parametric(median=20.0, model="weibull")
    with pytest.raises(ValueError, match=r"survival 1.2 at time 12 must be strictly between 0 and 1"):
        fit_parametric(landmarks=[(12, 1.2)], model="exponential")
