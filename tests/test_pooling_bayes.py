"""Bayesian random-effects meta-analysis (netevidence.pooling.bayes_pool).

References:

* the eight-schools example of the bayesmeta vignette ("bayesmeta" package documentation, section "A
  simple example"; data Rubin 1981 as printed there), whose printed posterior summaries are used below;
* direct adaptive quadrature of the same posterior with scipy.integrate.quad (independent of the grid);
* a random-walk Metropolis sampler written here (fixed seed) on the Crins et al. (2014) log odds ratios
  printed in the same vignette.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from netevidence.pooling import BayesPoolResult, TauPrior, bayes_pool, turner_prior

SCHOOLS_Y = np.array([28.39, 7.94, -2.75, 6.82, -0.64, 0.63, 18.01, 12.16])
SCHOOLS_SE = np.array([14.9, 10.2, 16.3, 11.0, 9.4, 11.4, 10.4, 17.6])
# bayesmeta(y, sigma, mu.prior.mean=0, mu.prior.sd=50, tau.prior=function(t) dhalfcauchy(t, scale=25)),
# "marginal posterior summary" as printed in the bayesmeta vignette (shortest 95% intervals)
SCHOOLS_PRINTED = {
    "tau": dict(median=4.758539, mean=5.884511, sd=4.869904, low=0.0, high=15.165894),
    "mu": dict(median=7.962961, mean=7.985729, sd=4.995762, low=-1.823353, high=17.824562),
}
# escalc(measure="OR", ...) on CrinsEtAl2014 (acute rejection), as printed in the bayesmeta vignette
CRINS_Y = np.array([-2.3097, -0.4595, -2.3026, -1.7579, -1.2585, -2.4179])
CRINS_V = np.array([0.3594, 0.3096, 0.7750, 0.2078, 0.4122, 2.3373])


@pytest.fixture(scope="module")
def schools() -> BayesPoolResult:
    return bayes_pool(SCHOOLS_Y, SCHOOLS_SE ** 2, tau_prior="half_cauchy", tau_scale=25,
                      mu_prior_mean=0, mu_prior_sd=50)


def test_matches_printed_bayesmeta_example(schools):
    tau, mu = SCHOOLS_PRINTED["tau"], SCHOOLS_PRINTED["mu"]
    # tau's summaries are integrals of the exact marginal density: agree to the printed digits
    np.testing.assert_allclose(
        [schools.tau_median, schools.tau_mean, schools.tau_sd, schools.tau_ci_high],
        [tau["median"], tau["mean"], tau["sd"], tau["high"]], rtol=2e-5)
    assert schools.tau_ci_low == 0.0
    # bayesmeta approximates mu's marginal by a mixture chosen to a divergence bound (delta = 0.01);
    # its printed mu summaries are within 0.001 posterior sd of the exact ones (checked below)
    got = [schools.estimate, schools.mu_mean, schools.mu_sd, schools.ci_low, schools.ci_high]
    want = [mu["median"], mu["mean"], mu["sd"], mu["low"], mu["high"]]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-3 * mu["sd"])


def _quad_posterior(y, v, log_tau_prior, prior_mean=0.0, prior_prec=0.0):
    """Marginal posterior of tau and distribution function of mu by adaptive quadrature."""

    def cond(t):
        w = 1.0 / (v + t * t)
        s = w.sum() + prior_prec
        m = (w @ y + prior_prec * prior_mean) / s
        q = (w * (y - m) ** 2).sum() + prior_prec * (prior_mean - m) ** 2
        return m, s, 0.5 * np.log(w).sum() - 0.5 * np.log(s) - 0.5 * q

    shift = -cond(0.0)[2]
    post = lambda t: np.exp(cond(t)[2] + shift + log_tau_prior(t))
    quad = lambda f, a, b: integrate.quad(f, a, b, epsabs=0, epsrel=1e-11, limit=500)[0]
    z = quad(post, 0, np.inf)
    tau_cdf = lambda x: quad(post, 0, x) / z
    mu_cdf = lambda x: quad(lambda t: post(t) * stats.norm.cdf((x - cond(t)[0]) * np.sqrt(cond(t)[1])),
                            0, np.inf) / z
    return tau_cdf, mu_cdf


def _solve(cdf, p, a, b):
    return optimize.brentq(lambda x: cdf(x) - p, a, b, xtol=1e-12)


def test_matches_direct_quadrature(schools):
    tau_cdf, mu_cdf = _quad_posterior(SCHOOLS_Y, SCHOOLS_SE ** 2, stats.halfcauchy(scale=25).logpdf,
                                      prior_mean=0.0, prior_prec=1 / 50 ** 2)
    np.testing.assert_allclose(schools.estimate, _solve(mu_cdf, 0.5, -20, 30), rtol=1e-7)
    np.testing.assert_allclose(schools.tau_median, _solve(tau_cdf, 0.5, 0.01, 50), rtol=1e-5)
    np.testing.assert_allclose(schools.tau_ci_high, _solve(tau_cdf, 0.95, 0.01, 100), rtol=1e-5)
    # the shortest interval holds exactly `level` posterior probability
    np.testing.assert_allclose(mu_cdf(schools.ci_high) - mu_cdf(schools.ci_low), 0.95, atol=1e-7)


def _metropolis(y, v, scale, n_iter=60_000, seed=20240611):
    """Random-walk Metropolis on (mu, log tau), flat prior on mu, half-normal(scale) prior on tau."""
    rng = np.random.default_rng(seed)

    def logpost(mu, eta):
        tau2 = np.exp(2 * eta)
        s2 = v + tau2
        # log-likelihood + half-normal log prior on tau + log Jacobian of tau = exp(eta)
        return -0.5 * np.sum(np.log(s2) + (y - mu) ** 2 / s2) - 0.5 * tau2 / scale ** 2 + eta

    mu, eta = float(np.mean(y)), np.log(scale / 2)
    current = logpost(mu, eta)
    steps = rng.normal(size=(n_iter, 2)) * np.array([0.45, 0.9])
    logu = np.log(rng.uniform(size=n_iter))
    draws = np.empty((n_iter, 2))
    for i in range(n_iter):
        mu_new, eta_new = mu + steps[i, 0], eta + steps[i, 1]
        proposal = logpost(mu_new, eta_new)
        if logu[i] < proposal - current:
            mu, eta, current = mu_new, eta_new, proposal
        draws[i] = mu, eta
    draws = draws[5_000:]
    mu_s, tau_s = draws[:, 0], np.exp(draws[:, 1])
    theta_new = mu_s + tau_s * rng.normal(size=mu_s.size)
    return mu_s, tau_s, theta_new


def _hpd(samples, level=0.95):
    x = np.sort(samples)
    n = int(np.floor(level * x.size))
    i = int(np.argmin(x[n:] - x[: x.size - n]))
    return x[i], x[i + n]


def test_agrees_with_independent_mcmc():
    res = bayes_pool(CRINS_Y, CRINS_V, tau_prior="half_normal", tau_scale=0.5)
    mu_s, tau_s, new_s = _metropolis(CRINS_Y, CRINS_V, 0.5)
    tol = 0.04  # Monte Carlo error of ~55,000 correlated draws, on posterior sds of 0.2-0.6
    assert abs(res.estimate - np.median(mu_s)) < tol
    assert abs(res.mu_mean - np.mean(mu_s)) < tol
    assert abs(res.mu_sd - np.std(mu_s)) < tol
    assert abs(res.tau_median - np.median(tau_s)) < tol
    assert abs(res.tau_mean - np.mean(tau_s)) < tol
    assert abs(res.pi_median - np.median(new_s)) < tol
    for ours, theirs in [((res.ci_low, res.ci_high), _hpd(mu_s)),
                         ((res.tau_ci_low, res.tau_ci_high), _hpd(tau_s)),
                         ((res.pi_low, res.pi_high), _hpd(new_s))]:
        np.testing.assert_allclose(ours, theirs, atol=0.08)


def test_single_study_posterior_of_tau_is_its_prior():
    # with a flat prior on mu one study carries no information on tau
    res = bayes_pool([0.3], [0.04], tau_prior="half_normal", tau_scale=0.5)
    prior = stats.halfnorm(scale=0.5)
    np.testing.assert_allclose(res.tau_median, prior.median(), rtol=1e-5)
    np.testing.assert_allclose(res.tau_mean, prior.mean(), rtol=1e-5)
    np.testing.assert_allclose([res.tau_ci_low, res.tau_ci_high], [0.0, prior.ppf(0.95)], rtol=1e-5)
    assert res.estimate == pytest.approx(0.3, abs=1e-9)  # symmetric about the single estimate
    assert res.k == 1


def test_half_cauchy_moments_that_do_not_exist_are_infinite():
    one = bayes_pool([0.3], [0.04], tau_prior="half_cauchy", tau_scale=0.5)
    assert np.isinf(one.tau_mean) and np.isinf(one.mu_sd) and np.isinf(one.pi_sd)
    assert one.tau_median == pytest.approx(0.5, rel=1e-5)  # the prior's median
    two = bayes_pool([0.3, 0.1], [0.04, 0.05], tau_prior="half_cauchy", tau_scale=0.5)
    assert np.isfinite(two.tau_mean) and np.isinf(two.tau_sd) and np.isinf(two.mu_sd)
    three = bayes_pool([0.3, 0.1, 0.5], [0.04, 0.05, 0.03], tau_prior="half_cauchy", tau_scale=0.5)
    assert np.isfinite(three.tau_sd) and np.isfinite(three.mu_sd)
    # with a normal prior on mu the tail is one power thinner
    two_normal = bayes_pool([0.3, 0.1], [0.04, 0.05], tau_prior="half_cauchy", tau_scale=0.5,
                            mu_prior_mean=0.0, mu_prior_sd=2.0)
    assert np.isfinite(two_normal.tau_sd)


def test_huge_scale_approaches_uniform_prior_on_tau():
    res = bayes_pool(CRINS_Y, CRINS_V, tau_prior="half_normal", tau_scale=1e4)
    tau_cdf, mu_cdf = _quad_posterior(CRINS_Y, CRINS_V, lambda t: 0.0)
    np.testing.assert_allclose(res.tau_median, _solve(tau_cdf, 0.5, 1e-3, 50), rtol=1e-4)
    np.testing.assert_allclose(res.estimate, _solve(mu_cdf, 0.5, -5, 5), rtol=1e-5)


def test_tiny_scale_approaches_common_effect_model():
    res = bayes_pool(CRINS_Y, CRINS_V, tau_prior="half_normal", tau_scale=1e-6)
    w = 1 / CRINS_V
    est, se = (w @ CRINS_Y) / w.sum(), 1 / np.sqrt(w.sum())
    np.testing.assert_allclose([res.estimate, res.mu_sd], [est, se], rtol=1e-5)
    np.testing.assert_allclose([res.ci_low, res.ci_high], est + np.array([-1, 1]) * 1.959963984540054 * se,
                               rtol=1e-5)


def test_symmetric_data_give_symmetric_posterior():
    y = np.array([-1.0, -0.2, 0.2, 1.0])
    v = np.array([0.1, 0.3, 0.3, 0.1])
    res = bayes_pool(y, v, tau_prior="half_cauchy", tau_scale=0.5)
    assert res.estimate == pytest.approx(0.0, abs=1e-9)
    assert res.ci_low == pytest.approx(-res.ci_high, abs=1e-7)
    assert res.pi_low == pytest.approx(-res.pi_high, abs=1e-7)
    mirrored = bayes_pool(-y[::-1], v[::-1], tau_prior="half_cauchy", tau_scale=0.5)
    assert mirrored.tau_median == pytest.approx(res.tau_median, rel=1e-10)
    np.testing.assert_allclose(res.mu_density, res.mu_density[::-1], rtol=1e-6)


def test_densities_integrate_to_one_and_result_is_frozen(schools):
    for grid, dens in [(schools.mu_grid, schools.mu_density), (schools.pi_grid, schools.pi_density),
                       (schools.tau_grid, schools.tau_density)]:
        assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=2e-3)
        assert np.all(dens >= 0)
    with pytest.raises(AttributeError):
        schools.estimate = 0.0
    with pytest.raises(ValueError):
        schools.mu_density[0] = 1.0
    frame = schools.to_frame()
    assert list(frame.index) == ["mu", "tau", "theta_new"]
    assert frame.loc["mu", "median"] == schools.estimate
    assert frame.loc["tau", "ci_high"] == schools.tau_ci_high
    assert "half-Cauchy(scale = 25)" in schools.summary()


def test_turner_prior_parameters():
    prior = turner_prior("all-cause mortality", "pharmacological vs placebo/control")
    # log tau^2 ~ N(-3.95, 1.34^2): the prior median of tau^2 is exp(-3.95)
    assert prior.quantile(0.5) ** 2 == pytest.approx(np.exp(-3.95), rel=1e-12)
    z = stats.norm.ppf(0.9)
    assert np.log(prior.quantile(0.9) ** 2) == pytest.approx(-3.95 + z * 1.34, rel=1e-12)
    # Table IV of Turner et al. (2015): corner and inner cells, and the size of the table
    from netevidence.pooling.bayes import TURNER_PRIORS

    assert len(TURNER_PRIORS) == 16 * 5 + 1
    assert TURNER_PRIORS[("general", "any")] == (-2.56, 1.74)
    assert TURNER_PRIORS[("subjective outcomes (various)", "non-pharmacological vs non-pharmacological")] == (-2.26, 1.45)
    assert TURNER_PRIORS[("adverse events", "non-pharmacological vs pharmacological")] == (-0.84, 1.24)
    assert TURNER_PRIORS[("obstetric outcomes", "pharmacological vs pharmacological")] == (-3.75, 1.79)
    general = bayes_pool(CRINS_Y, CRINS_V, tau_prior="turner")
    assert "-2.56" in general.tau_prior
    assert isinstance(TauPrior.half_normal(1.0), TauPrior)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(tau_prior="gamma"), "tau_prior must be"),
        (dict(tau_scale=0.0), "tau_scale must be a positive"),
        (dict(level=1.0), "level"),
        (dict(mu_prior_mean=0.0), "give both mu_prior_mean and mu_prior_sd"),
        (dict(mu_prior_mean=0.0, mu_prior_sd=-1.0), "mu_prior_sd must be a positive"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bayes_pool(CRINS_Y, CRINS_V, **kwargs)


def test_bad_studies_are_named():
    with pytest.raises(ValueError, match="study 'b' \\(index 1\\): sampling variance vi must be positive"):
        bayes_pool([0.1, 0.2], [0.1, 0.0], labels=["a", "b"])
    with pytest.raises(ValueError, match="no Turner et al. \\(2015\\) prior for outcome 'pain'"):
        turner_prior("pain", "any")
