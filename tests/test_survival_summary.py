"""Summary survival curve (Combescure, Foucher & Jackson, Stat Med 2014)."""

import json
from pathlib import Path

import numpy as np
import pytest

from netevidence.survival.parametric import fit_parametric
from netevidence.survival.simulate import simulate_trial
from netevidence.survival.summary_curve import StudyIntervals, study_intervals, summary_curve

REF = json.loads((Path(__file__).parent / "reference" / "survival_pooling.json").read_text())["pooling"]
GRID = np.array([6.0, 12.0, 18.0, 24.0])


def test_single_study_returns_its_own_curve():
    tr = simulate_trial(np.random.default_rng(1), 150, shape=1.2, scale=20.0)
    st = study_intervals(tr.time, tr.event, GRID)
    sc = summary_curve([st], GRID)
    np.testing.assert_allclose(sc.survival, st.survival, rtol=1e-12)
    assert np.all(sc.tau2 == 0) and sc.i2 == 0
    assert np.all(sc.ci_low <= sc.survival) and np.all(sc.survival <= sc.ci_high)


def test_identical_studies_have_no_heterogeneity():
    tr = simulate_trial(np.random.default_rng(2), 120, shape=1.0, scale=15.0)
    st = study_intervals(tr.time, tr.event, GRID)
    one = summary_curve([st], GRID)
    four = summary_curve([st] * 4, GRID)
    np.testing.assert_allclose(four.survival, st.survival, rtol=1e-12)
    assert np.allclose(four.tau2, 0, atol=1e-15)
    assert four.i2 == 0 and four.h2 == pytest.approx(1.0)
    np.testing.assert_allclose(np.sqrt(np.diag(four.mu_cov)), np.sqrt(np.diag(one.mu_cov)) / 2, rtol=1e-10)


def test_one_interval_is_dersimonian_laird_on_the_arcsine_scale():
    r = REF["arcsine_DL"]
    studies = [StudyIntervals(label=f"s{i}", survival=np.array([p]), n_at_risk=np.array([float(n)]))
               for i, (p, n) in enumerate(zip(r["p"], r["n"]))]
    sc = summary_curve(studies, np.array([12.0]))
    assert sc.mu[0] == pytest.approx(r["mu"], rel=1e-12)
    assert np.sqrt(sc.mu_cov[0, 0]) == pytest.approx(r["se"], rel=1e-10)
    assert sc.tau2[0, 0] == pytest.approx(r["tau2"], rel=1e-10)
    assert 100 * sc.i2_interval[0] == pytest.approx(r["I2"], rel=1e-10)
    assert sc.survival[0] == pytest.approx(np.sin(r["mu"]) ** 2, rel=1e-12)


def _simulate_studies(rng, mu, chol, k):
    studies = []
    for i in range(k):
        theta = np.clip(mu + chol @ rng.normal(size=len(mu)), 0.05, np.pi / 2)
        n = int(rng.integers(60, 250))
        at_risk, s, surv, starts = n, 1.0, [], []
        for th in theta:
            starts.append(at_risk)
            deaths = rng.binomial(at_risk, 1 - np.sin(th) ** 2)
            s *= 1 - deaths / at_risk
            at_risk -= deaths
            surv.append(s)
        studies.append(StudyIntervals(label=f"s{i}", survival=np.array(surv), n_at_risk=np.array(starts, float)))
    return studies


def test_coverage_with_between_study_variation():
    rng = np.random.default_rng(20140213)
    p = np.array([0.9, 0.85, 0.85, 0.8])
    mu = np.arcsin(np.sqrt(p))
    sd = np.array([0.06, 0.05, 0.05, 0.05])
    corr = 0.5 ** np.abs(np.subtract.outer(np.arange(4), np.arange(4)))
    chol = np.linalg.cholesky(np.outer(sd, sd) * corr)
    truth = np.cumprod(np.sin(mu) ** 2)
    reps = 300
    hits = np.zeros(4)
    i2 = []
    for _ in range(reps):
        sc = summary_curve(_simulate_studies(rng, mu, chol, 15), GRID)
        hits += (sc.ci_low <= truth) & (truth <= sc.ci_high)
        i2.append(sc.i2)
    coverage = hits / reps
    assert np.all(coverage > 0.88) and np.all(coverage < 0.99), coverage
    assert np.mean(i2) > 0.3  # the heterogeneity is seen


def test_missing_follow_up_median_and_model_based_label():
    rng = np.random.default_rng(5)
    long = simulate_trial(rng, 200, shape=1.0, scale=18.0, accrual=12, follow_up=30)
    short = simulate_trial(rng, 200, shape=1.0, scale=18.0, accrual=6, follow_up=8)
    st_long = study_intervals(long.time, long.event, GRID, label="long")
    st_short = study_intervals(short.time, short.event, GRID, label="short")
    assert np.isnan(st_short.survival[-1])  # no follow-up there
    model = fit_parametric(landmarks={12: 0.55, 24: 0.3}, median=14.0, model="weibull", label="Jia")
    sc = summary_curve([st_long, st_short, model.study_intervals(GRID, 60)], GRID)
    assert sc.model_based_studies == ("Jia",)
    assert "model-based curves from: Jia" in sc.summary()
    assert np.all(np.diff(sc.survival) <= 0)
    assert 12.0 <= sc.median <= 24.0
    assert sc.median_ci_low <= sc.median <= sc.median_ci_high
    frame = sc.to_frame()
    assert frame["time"].iloc[0] == 0 and frame["survival"].iloc[0] == 1


def test_summary_curve_errors():
    with pytest.raises(ValueError, match=r"study 0 \(a\): survival must not increase"):
        summary_curve([StudyIntervals("a", np.array([0.8, 0.9]), np.array([10.0, 8.0]))], np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="no study follows the interval ending at grid time 2"):
        summary_curve([StudyIntervals("a", np.array([0.8, np.nan]), np.array([10.0, np.nan]))],
                      np.array([1.0, 2.0]))
