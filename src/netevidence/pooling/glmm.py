"""Random-intercept logistic model for single proportions, fitted by maximum likelihood.

Study ``i`` has ``x_i`` events out of ``n_i`` with ``x_i ~ Binomial(n_i, expit(beta + tau u_i))`` and
``u_i ~ N(0, 1)``: the binomial-normal model (Hamza, van Houwelingen and Stijnen, Journal of Clinical
Epidemiology, 2008; Stijnen, Hamza and Ozdemir, Statistics in Medicine, 2010). It uses the exact
binomial likelihood, so studies with 0% or 100% events need no continuity correction.

Each study's integral over ``u_i`` is computed by adaptive Gauss-Hermite quadrature (Pinheiro and Bates,
Journal of Computational and Graphical Statistics, 1995): centred on the mode of the integrand and scaled
by its curvature there. With one node this is the Laplace approximation. The default, ``n_agq=7``, is the
default of metafor's ``rma.glmm()`` (which passes ``nAGQ = 7`` to ``lme4::glmer()``); ``n_agq=1`` gives
the Laplace fit of ``glmer()``'s own default, and more nodes approach the exact likelihood.

The standard error of ``beta`` comes from the inverse of the observed information of ``(beta, tau)``
(as ``lme4``'s ``vcov()`` for GLMMs); when ``tau`` is estimated at 0 it reduces to the binomial
information of ``beta``. Intervals are Wald intervals (normal quantile), the prediction interval is
``beta +- z sqrt(se^2 + tau^2)``, as metafor's ``predict()``; all three are also given as proportions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from numpy.polynomial.hermite import hermgauss
from scipy.optimize import minimize
from scipy.special import expit, gammaln
from scipy.stats import norm

from ..summary import Summary, summary_of
from ..effects.validation import as_float_arrays, check_counts, check_ids, check_level

_MODE_TOL = 1e-12


@dataclass(frozen=True)
class GlmmResult:
    """Maximum-likelihood fit of the random-intercept logistic model (logit scale unless stated)."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    pval: float
    pi_low: float
    pi_high: float
    tau2: float
    loglik: float
    proportion: float
    proportion_ci_low: float
    proportion_ci_high: float
    proportion_pi_low: float
    proportion_pi_high: float
    k: int
    n_agq: int
    level: float
    converged: bool
    events: np.ndarray = field(repr=False)
    n: np.ndarray = field(repr=False)

    def predict(self, transf: Callable[[float], float] | None = None) -> Any:
        """The pooled logit with CI and prediction interval, passed through ``transf`` when given
        (``back_transform("PLO")`` gives proportions), as ``PoolResult.predict()``."""
        from .core import make_prediction

        return make_prediction(self.estimate, self.ci_low, self.ci_high, self.pi_low, self.pi_high, transf)

    def summary(self) -> Summary:
        """Model line over the table of :meth:`to_frame` (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, title=f"Random-effects logistic model (GLMM), k = {self.k}: proportion "
                                      f"{self.proportion:.4f} [{self.proportion_ci_low:.4f}, "
                                      f"{self.proportion_ci_high:.4f}]")

    def scalars(self) -> dict[str, float | int | bool]:
        """The scalar results as a dict."""
        return {name: getattr(self, name) for name in (
            "estimate", "se", "ci_low", "ci_high", "statistic", "pval", "pi_low", "pi_high", "tau2",
            "loglik", "proportion", "proportion_ci_low", "proportion_ci_high", "proportion_pi_low",
            "proportion_pi_high", "k", "n_agq", "level", "converged")}

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([self.scalars()])


def _log_binom(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    return gammaln(n + 1.0) - gammaln(x + 1.0) - gammaln(n - x + 1.0)


def _h(u: np.ndarray, beta: float, tau: float, x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Log of the integrand without constants: binomial kernel times the standard-normal kernel."""
    eta = beta + tau * u
    return -x * np.logaddexp(0.0, -eta) - (n - x) * np.logaddexp(0.0, eta) - 0.5 * u * u


def _modes(beta: float, tau: float, x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mode of each study's integrand (damped Newton; the integrand is log-concave) and the scale
    ``1 / sqrt(-h''(mode))``."""
    u = np.zeros_like(x)
    for _ in range(200):
        mu = expit(beta + tau * u)
        grad = tau * (x - n * mu) - u
        curv = tau * tau * n * mu * (1.0 - mu) + 1.0
        step = grad / curv
        h0 = _h(u, beta, tau, x, n)
        t = np.ones_like(u)
        for _ in range(60):
            trial = u + t * step
            worse = _h(trial, beta, tau, x, n) < h0 - 1e-14 * np.abs(h0)
            if not worse.any():
                break
            t = np.where(worse, t * 0.5, t)
        u = u + t * step
        if np.max(np.abs(t * step)) < _MODE_TOL:
            break
    mu = expit(beta + tau * u)
    scale = 1.0 / np.sqrt(tau * tau * n * mu * (1.0 - mu) + 1.0)
    return u, scale


def marginal_loglik(beta: float, tau: float, x: np.ndarray, n: np.ndarray, n_agq: int) -> float:
    """Log-likelihood of ``(beta, tau)`` by adaptive Gauss-Hermite quadrature with ``n_agq`` nodes,
    including the binomial coefficients. Even in ``tau``."""
    z, w = hermgauss(n_agq)
    t = np.sqrt(2.0) * z                      # nodes and weights for the standard normal density
    logw = np.log(w) - 0.5 * np.log(np.pi)
    mode, scale = _modes(beta, tau, x, n)
    u = mode[:, None] + scale[:, None] * t[None, :]
    terms = logw[None, :] + 0.5 * t[None, :] ** 2 + _h(u, beta, tau, x[:, None], n[:, None])
    peak = terms.max(axis=1)
    log_int = peak + np.log(np.exp(terms - peak[:, None]).sum(axis=1))
    return float(np.sum(_log_binom(x, n) + np.log(scale) + log_int))


def _hessian(f: Callable[[np.ndarray], float], theta: np.ndarray, step: np.ndarray) -> np.ndarray:
    p = theta.size
    hess = np.empty((p, p))
    f0 = f(theta)
    for i in range(p):
        ei = np.zeros(p)
        ei[i] = step[i]
        hess[i, i] = (f(theta + ei) - 2.0 * f0 + f(theta - ei)) / step[i] ** 2
        for j in range(i):
            ej = np.zeros(p)
            ej[j] = step[j]
            hess[i, j] = hess[j, i] = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej)
                                       + f(theta - ei - ej)) / (4.0 * step[i] * step[j])
    return hess


def _gradient(f: Callable[[np.ndarray], float], theta: np.ndarray, step: np.ndarray) -> np.ndarray:
    g = np.empty(theta.size)
    for i in range(theta.size):
        e = np.zeros(theta.size)
        e[i] = step[i]
        g[i] = (f(theta + e) - f(theta - e)) / (2.0 * step[i])
    return g


def glmm_proportion(events: Any, n: Any, *, n_agq: int = 7, level: float = 0.95,
                    ids: Any = None) -> GlmmResult:
    """Fit the random-intercept logistic model to ``events`` out of ``n`` per study.

    ``n_agq`` is the number of adaptive Gauss-Hermite nodes (1 = Laplace); ``level`` the confidence level.
    With one study ``tau^2`` is estimated at 0 (the model reduces to the binomial). All studies at 0% or
    all at 100% have no finite estimate and raise ``ValueError``.
    """
    x, m = as_float_arrays(("events", "n"), {"events": events, "n": n})
    check_ids(ids, x.size)
    check_counts(x, m, ids)
    level = check_level(level)
    if not isinstance(n_agq, (int, np.integer)) or not 1 <= n_agq <= 100:
        raise ValueError(f"n_agq = {n_agq!r} must be an integer between 1 and 100")
    if x.sum() == 0 or x.sum() == m.sum():
        raise ValueError("all studies have 0% (or all 100%) events: the logistic model has no finite estimate")

    def nll(theta: np.ndarray) -> float:
        return -marginal_loglik(float(theta[0]), float(theta[1]), x, m, n_agq)

    def fit_from(start: np.ndarray) -> Any:
        return minimize(nll, start, method="L-BFGS-B", bounds=[(-50.0, 50.0), (0.0, 50.0)],
                        options={"ftol": 1e-13, "gtol": 1e-8})

    p0 = (x.sum() + 0.5) / (m.sum() + 1.0)
    best = fit_from(np.array([np.log(p0 / (1 - p0)), 1.0]))
    if best.x[1] < 1e-3 and nll(np.array([best.x[0], 1e-3])) < nll(np.array([best.x[0], 0.0])):
        # stopped at tau = 0 although the likelihood rises away from it: restart from small tau
        for tau0 in (0.01, 0.1, 0.3):
            trial = fit_from(np.array([best.x[0], tau0]))
            if trial.fun < best.fun:
                best = trial
    theta = best.x.copy()
    # polish with Newton steps on the smooth, even-in-tau likelihood (central differences)
    for _ in range(20):
        step = 1e-4 * np.maximum(1.0, np.abs(theta))
        grad = _gradient(nll, theta, step)
        hess = _hessian(nll, theta, step)
        if theta[1] <= 1e-8 and hess[1, 1] <= 0 or not np.all(np.linalg.eigvalsh(hess) > 0):
            # at the boundary tau = 0 (or not locally convex in tau): update beta alone
            delta = np.array([grad[0] / hess[0, 0], 0.0])
        else:
            delta = np.linalg.solve(hess, grad)
        new = theta - delta
        new[1] = abs(new[1])
        if nll(new) > nll(theta) + 1e-12:
            break
        theta = new
        if np.max(np.abs(delta)) < 1e-10:
            break
    beta, tau = float(theta[0]), float(abs(theta[1]))
    step = 1e-4 * np.maximum(1.0, np.abs(theta))
    hess = _hessian(nll, np.array([beta, tau]), step)
    grad = _gradient(nll, np.array([beta, tau]), step)
    # converged: stationary in beta, and in tau unless at the boundary tau = 0 where it may not rise
    tol = 1e-5 * (1.0 + abs(best.fun))
    converged = bool(abs(grad[0]) < tol and hess[0, 0] > 0
                     and (abs(grad[1]) < tol if tau > 1e-6 else hess[1, 1] >= -tol))
    if tau > 1e-6 and np.all(np.linalg.eigvalsh(hess) > 0):
        var = float(np.linalg.inv(hess)[0, 0])
    else:
        # tau at 0: the information of beta alone (as lme4 when the joint Hessian is not positive definite)
        converged = converged and tau <= 1e-6
        var = 1.0 / float(hess[0, 0])
        if tau <= 1e-6:
            tau = 0.0
    se = float(np.sqrt(var))
    crit = float(norm.isf((1.0 - level) / 2.0))
    tau2 = tau * tau
    z = beta / se
    ci = (beta - crit * se, beta + crit * se)
    pi_half = crit * np.sqrt(var + tau2)
    pi = (beta - pi_half, beta + pi_half)
    xs, ms = x.copy(), m.copy()
    xs.setflags(write=False)
    ms.setflags(write=False)
    return GlmmResult(
        estimate=beta, se=se, ci_low=ci[0], ci_high=ci[1], statistic=z, pval=float(2.0 * norm.sf(abs(z))),
        pi_low=float(pi[0]), pi_high=float(pi[1]), tau2=tau2, loglik=-nll(np.array([beta, tau])),
        proportion=float(expit(beta)), proportion_ci_low=float(expit(ci[0])),
        proportion_ci_high=float(expit(ci[1])), proportion_pi_low=float(expit(pi[0])),
        proportion_pi_high=float(expit(pi[1])), k=int(x.size), n_agq=int(n_agq), level=level,
        converged=converged, events=xs, n=ms,
    )
