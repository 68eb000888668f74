"""Quantile estimation (netevidence.pooling.quantiles): distributions fitted to reported quantiles.

No R package is installable here (metamedian, estmeansd), so the checks are independent: exact theoretical
quantiles of each family must give back its parameters and the closed-form asymptotic variance of the
sample median, ``1 / (4 n f(xi)^2)`` with the density from scipy; simulated samples from a known
distribution must give a QE variance close to that closed form; and the pool must equal
:func:`netevidence.pooling.pool` on the fitted variances.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from netevidence.pooling import pool, qe_fit, qe_pool
from netevidence.pooling.quantiles import quantile_probabilities

N = 60
TRUE = {  # family: (scipy frozen distribution, parameters as QuantileFit reports them)
    "normal": (stats.norm(30.0, 8.0), (30.0, 8.0)),
    "lognormal": (stats.lognorm(0.7, scale=np.exp(3.2)), (3.2, 0.7)),
    "gamma": (stats.gamma(2.5, scale=9.0), (2.5, 9.0)),
    "weibull": (stats.weibull_min(1.4, scale=35.0), (1.4, 35.0)),
}
SCENARIOS = {"S1": (False, True), "S2": (True, False), "S3": (True, True)}


def _quantiles(dist, quartiles, extremes, n=N):
    p = quantile_probabilities(n, quartiles=quartiles, extremes=extremes)
    q = dist.ppf(p)
    kw = {"median": float(dist.ppf(0.5))}
    i = 0
    if extremes:
        kw["minimum"], i = float(q[0]), 1
    if quartiles:
        kw["q1"], kw["q3"] = float(q[i]), float(q[i + 2])
    if extremes:
        kw["maximum"] = float(q[-1])
    return kw


def test_blom_positions_for_the_extremes():
    p = quantile_probabilities(20, quartiles=True, extremes=True)
    assert p == pytest.approx([0.625 / 20.25, 0.25, 0.5, 0.75, 19.625 / 20.25], rel=1e-15)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("family", TRUE)
def test_exact_quantiles_give_back_the_family_and_the_median_variance(family, scenario):
    dist, params = TRUE[family]
    fit = qe_fit(n=N, **_quantiles(dist, *SCENARIOS[scenario]), families=[family])
    assert fit.family == family and fit.scenario == scenario
    assert fit.params == pytest.approx(params, rel=1e-5)
    xi = dist.ppf(0.5)
    assert fit.median_fitted == pytest.approx(xi, rel=1e-6)
    assert fit.variance == pytest.approx(1.0 / (4 * N * dist.pdf(xi) ** 2), rel=1e-5)


@pytest.mark.parametrize("family", TRUE)
def test_the_best_fitting_family_is_chosen(family):
    dist, _ = TRUE[family]
    fit = qe_fit(n=N, **_quantiles(dist, True, True))
    assert fit.family == family
    assert fit.sse[family] < 1e-8 * min(v for f, v in fit.sse.items() if f != family)


def test_normal_closed_form_variance_of_the_median():
    # for a normal distribution 1 / (4 n f(mu)^2) = pi sigma^2 / (2 n)
    fit = qe_fit(n=100, median=10.0, q1=10 - 3 * 0.6744897501960817, q3=10 + 3 * 0.6744897501960817,
                 families=["normal"])
    assert fit.variance == pytest.approx(np.pi * 9.0 / 200.0, rel=1e-8)


def test_simulated_samples_recover_the_variance_of_the_median():
    # samples of n = 400 from a log-normal (meanlog 3, sdlog 0.8): the reported median, quartiles and range
    rng = np.random.default_rng(20200101)
    n, reps = 400, 40
    xi = np.exp(3.0)
    closed = 1.0 / (4 * n * stats.lognorm(0.8, scale=xi).pdf(xi) ** 2)
    var, sdlog, families = [], [], []
    for _ in range(reps):
        x = rng.lognormal(3.0, 0.8, n)
        q1, m, q3 = np.quantile(x, [0.25, 0.5, 0.75])
        fit = qe_fit(m, n, q1=q1, q3=q3, minimum=x.min(), maximum=x.max())
        var.append(fit.variance)
        families.append(fit.family)
        if fit.family == "lognormal":
            sdlog.append(fit.params[1])
    assert np.mean(var) == pytest.approx(closed, rel=0.10)
    assert families.count("lognormal") >= reps // 2
    assert np.median(sdlog) == pytest.approx(0.8, rel=0.05)


def test_bad_quantiles_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="quartiles .* range"):
        qe_fit(10.0, 30)
    with pytest.raises(ValueError, match="ordered"):
        qe_fit(10.0, 30, q1=12.0, q3=20.0)
    with pytest.raises(ValueError, match="n must be at least 2"):
        qe_fit(10.0, float("nan"), minimum=1.0, maximum=30.0)
    with pytest.raises(ValueError, match="families"):
        qe_fit(10.0, 30, minimum=1.0, maximum=30.0, families=["beta"])
    # negative values leave only the normal family
    assert set(qe_fit(1.0, 30, minimum=-5.0, maximum=9.0).sse) == {"normal"}


def test_pool_uses_the_qe_variances_and_keeps_every_median():
    medians = [22.0, 31.0, 18.0, 60.0, 27.0, 40.0]
    n = [40, 55, 28, 30, np.nan, 35]
    low = [3.0, 2.0, 1.5, np.nan, 4.0, np.nan]
    high = [80.0, 96.0, 70.0, np.nan, 90.0, np.nan]
    q1 = [np.nan, np.nan, np.nan, np.nan, np.nan, 25.0]
    q3 = [np.nan, np.nan, np.nan, np.nan, np.nan, 61.0]
    nr = [False, False, False, True, False, False]
    labels = list("ABCDEF")
    res = qe_pool(medians, n, q1=q1, q3=q3, minimum=low, maximum=high, not_reached=nr, labels=labels)
    assert res.status == "pooled" and res.k == 4 and res.k_total == 6 and res.k_not_reached == 1
    used = [0, 1, 2, 5]
    fits = [qe_fit(medians[i], n[i], q1=None if np.isnan(q1[i]) else q1[i], q3=None if np.isnan(q3[i]) else q3[i],
                   minimum=None if np.isnan(low[i]) else low[i], maximum=None if np.isnan(high[i]) else high[i])
            for i in used]
    ref = pool(np.array(medians)[used], [f.variance for f in fits], method="REML")
    assert res.estimate == pytest.approx(ref.estimate, rel=1e-12)
    assert res.ci_low == pytest.approx(ref.ci_low, rel=1e-12)
    assert res.ci_high == pytest.approx(ref.ci_high, rel=1e-12)
    assert [res.fits[i].scenario for i in used] == ["S1", "S1", "S1", "S2"]
    frame = res.to_frame()
    assert list(frame["study"]) == [*labels, "pooled (quantile estimation)"]
    d = frame.set_index("study")
    assert d.loc["D", "shown_as"] == "> 60 (not reached)" and not d.loc["D", "pooled"]
    assert "not reached" in d.loc["D", "reason"]
    assert d.loc["E", "reason"] == "no median or no number of patients"
    assert any(e.startswith("D: median not reached") for e in res.excluded)
    assert "1 not reached and not pooled" in res.describe()


def test_pool_with_fewer_than_two_fits_says_so():
    res = qe_pool([20.0, 30.0], [40, 50], minimum=[2.0, np.nan], maximum=[70.0, np.nan])
    assert res.status == "too few" and np.isnan(res.estimate)
    assert res.describe() == "not pooled: 1 of 2 medians could be fitted (2 needed)"
    assert res.reasons[1] == "neither quartiles nor range reported"
