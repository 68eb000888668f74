"""Bayesian random-effects meta-analysis by numerical integration over the heterogeneity.

The normal-normal hierarchical model ``y_i | mu, tau ~ N(mu, v_i + tau^2)`` with a flat (improper)
prior on ``mu`` by default, or a normal prior ``N(mu_prior_mean, mu_prior_sd^2)``, and a proper prior
on ``tau`` (Spiegelhalter, Abrams & Myles, Bayesian Approaches to Clinical Trials and Health-Care
Evaluation, 2004; Roever, Journal of Statistical Software, 2020, "Bayesian random-effects
meta-analysis using the bayesmeta R package").

Given ``tau`` the conditional posterior of ``mu`` is normal with precision
``S(tau) = sum_i 1/(v_i + tau^2) [+ 1/mu_prior_sd^2]`` and mean ``m(tau)``, the precision-weighted
mean of the ``y_i`` (and the prior mean). Integrating ``mu`` out gives the marginal posterior of
``tau`` in closed form up to a constant::

    p(tau | y) ~ p(tau) prod_i (v_i + tau^2)^(-1/2) S(tau)^(-1/2) exp(-Q(tau) / 2),
    Q(tau) = sum_i (y_i - m(tau))^2 / (v_i + tau^2) [+ (mu_prior_mean - m(tau))^2 / mu_prior_sd^2].

No sampling is needed: ``p(tau | y)`` is evaluated on a dense grid of ``tau`` (log-spaced over many
decades, trapezoid weights), and the marginal posterior of ``mu`` is the resulting mixture of the
normals ``N(m(tau_j), 1/S(tau_j))`` -- the same construction as bayesmeta, which chooses its mixture
points adaptively (Roever & Friede, Journal of Computational and Graphical Statistics, 2017). The
predictive distribution of a new study's true effect is the mixture of ``N(m(tau_j), 1/S(tau_j) +
tau_j^2)``. Medians and quantiles come from the mixture (or grid) distribution functions; credible
intervals are the shortest intervals of the requested probability, as bayesmeta's default.

Heterogeneity priors: half-normal and half-Cauchy on ``tau`` with a scale (Friede et al., Biometrical
Journal, 2017; Roever et al., Research Synthesis Methods, 2021), and the empirical log-normal priors
on ``tau^2`` of Turner et al. (Statistics in Medicine, 2015, Table IV) for log odds ratios, see
:func:`turner_prior`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ..summary import Summary, summary_of
from .._arrays import readonly
from ..effects.validation import check_level
from .regression import check_yi_vi

__all__ = ["BayesPoolResult", "TauPrior", "bayes_pool", "turner_prior", "TURNER_PRIORS"]

_GRID_POINTS = 8000
_DISPLAY_POINTS = 401


@dataclass(frozen=True)
class TauPrior:
    """A proper prior density for the heterogeneity standard deviation ``tau``.

    ``logpdf`` maps an array of ``tau >= 0`` to log densities; ``quantile`` maps a probability to a
    prior quantile of ``tau`` (used to bound the integration grid); ``label`` names it in reports.
    """

    name: str
    label: str
    logpdf: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)
    quantile: Callable[[float], float] = field(repr=False, compare=False)

    @classmethod
    def half_normal(cls, scale: float) -> "TauPrior":
        """Half-normal prior on ``tau`` with the given scale (its standard deviation before folding)."""
        s = _positive(scale, "tau_scale")
        dist = stats.halfnorm(scale=s)
        return cls("half_normal", f"half-normal(scale = {s:g})", dist.logpdf, dist.ppf)

    @classmethod
    def half_cauchy(cls, scale: float) -> "TauPrior":
        """Half-Cauchy prior on ``tau`` with the given scale (its median)."""
        s = _positive(scale, "tau_scale")
        dist = stats.halfcauchy(scale=s)
        return cls("half_cauchy", f"half-Cauchy(scale = {s:g})", dist.logpdf, dist.ppf)

    @classmethod
    def log_normal_tau2(cls, meanlog: float, sdlog: float, label: str | None = None) -> "TauPrior":
        """Log-normal prior on ``tau^2``: ``log tau^2 ~ N(meanlog, sdlog^2)``.

        Equivalently ``log tau ~ N(meanlog / 2, (sdlog / 2)^2)``; the density is that of ``tau``.
        """
        if not np.isfinite(meanlog):
            raise ValueError(f"meanlog must be finite (got {meanlog})")
        sd = _positive(sdlog, "sdlog")
        dist = stats.lognorm(s=sd / 2.0, scale=np.exp(meanlog / 2.0))
        text = label or f"log-normal on tau^2 (meanlog = {meanlog:g}, sdlog = {sd:g})"
        return cls("log_normal_tau2", text, dist.logpdf, dist.ppf)


def _positive(value: float, name: str) -> float:
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number (got {value!r})")
    return v


# Turner, Jackson, Wei, Thompson & Higgins, Statistics in Medicine 34(6):984-998, 2015, Table IV:
# predictive log-normal distributions for tau^2 of log odds ratios, mean and sd of log tau^2, by outcome
# type (rows) and type of comparison (columns); "general" is the paper's overall setting (Section 4.3).
_TURNER_COMPARISONS = (
    "pharmacological vs placebo/control",
    "pharmacological vs pharmacological",
    "non-pharmacological vs placebo/control",
    "non-pharmacological vs pharmacological",
    "non-pharmacological vs non-pharmacological",
)
_TURNER_OUTCOMES = (
    "all-cause mortality", "obstetric outcomes", "cause-specific mortality/major morbidity",
    "resource use/hospital stay/process", "surgical/device related success/failure", "withdrawals/drop-outs",
    "internal/structure-related outcomes", "general physical health indicators", "adverse events",
    "infection/onset of new disease", "signs/symptoms of condition", "pain",
    "quality of life/functioning (dichotomised)", "mental health indicators", "biological markers (dichotomised)",
    "subjective outcomes (various)",
)
_TURNER_MEAN = -np.array([  # one row per comparison type, one column per outcome type
    [3.95, 3.52, 3.71, 2.34, 2.14, 2.99, 2.71, 2.29, 1.87, 2.49, 2.06, 1.83, 2.54, 2.12, 1.77, 2.70],
    [4.18, 3.75, 3.95, 2.58, 2.37, 3.23, 2.94, 2.53, 2.10, 2.73, 2.29, 2.06, 2.78, 2.35, 2.00, 2.93],
    [4.17, 3.74, 3.93, 2.56, 2.36, 3.21, 2.93, 2.51, 2.10, 2.71, 2.28, 2.05, 2.77, 2.34, 1.99, 2.92],
    [2.92, 2.49, 2.68, 1.31, 1.11, 1.96, 1.67, 1.26, 0.84, 1.46, 1.03, 0.80, 1.51, 1.09, 0.74, 1.67],
    [3.50, 3.08, 3.27, 1.90, 1.69, 2.55, 2.26, 1.85, 1.43, 2.05, 1.61, 1.38, 2.10, 1.67, 1.33, 2.26],
])
_TURNER_SD = np.array([
    [1.34, 1.74, 1.74, 1.74, 1.74, 1.74, 1.74, 1.53, 1.52, 1.52, 1.51, 1.52, 1.54, 1.53, 1.52, 1.52],
    [1.41, 1.79, 1.79, 1.79, 1.79, 1.79, 1.79, 1.58, 1.58, 1.58, 1.58, 1.58, 1.60, 1.60, 1.58, 1.58],
    [1.55, 1.91, 1.91, 1.91, 1.91, 1.91, 1.92, 1.72, 1.71, 1.71, 1.71, 1.71, 1.73, 1.72, 1.71, 1.71],
    [1.02, 1.50, 1.51, 1.50, 1.50, 1.51, 1.51, 1.25, 1.24, 1.24, 1.24, 1.25, 1.27, 1.27, 1.24, 1.25],
    [1.26, 1.68, 1.68, 1.68, 1.68, 1.68, 1.68, 1.46, 1.45, 1.45, 1.45, 1.45, 1.47, 1.47, 1.45, 1.45],
])
TURNER_PRIORS: dict[tuple[str, str], tuple[float, float]] = {
    ("general", "any"): (-2.56, 1.74),
    **{(o, c): (float(_TURNER_MEAN[j, i]), float(_TURNER_SD[j, i]))
       for j, c in enumerate(_TURNER_COMPARISONS) for i, o in enumerate(_TURNER_OUTCOMES)},
}


def turner_prior(outcome: str = "general", comparison: str = "any") -> TauPrior:
    """The empirical log-normal prior on ``tau^2`` of Turner et al. (2015, Table IV) for log odds ratios.

    ``outcome`` is ``"general"`` (with ``comparison="any"``) or one of the paper's 16 outcome types (e.g.
    ``"all-cause mortality"``, ``"adverse events"``, ``"signs/symptoms of condition"``; see
    ``TURNER_PRIORS``); ``comparison`` one of ``"pharmacological vs placebo/control"``,
    ``"pharmacological vs pharmacological"``, ``"non-pharmacological vs placebo/control"``,
    ``"non-pharmacological vs pharmacological"``, ``"non-pharmacological vs non-pharmacological"``.
    """
    key = (outcome, comparison)
    if key not in TURNER_PRIORS:
        known = sorted({o for o, _ in TURNER_PRIORS})
        raise ValueError(
            f"no Turner et al. (2015) prior for outcome {outcome!r} and comparison {comparison!r}; "
            f"outcomes: {known}; comparisons: {list(_TURNER_COMPARISONS)} (or 'any' with 'general')"
        )
    meanlog, sdlog = TURNER_PRIORS[key]
    return TauPrior.log_normal_tau2(
        meanlog, sdlog,
        label=f"Turner et al. 2015: log tau^2 ~ N({meanlog:g}, {sdlog:g}^2) ({outcome}, {comparison})",
    )


@dataclass(frozen=True)
class BayesPoolResult:
    """Posterior of the normal-normal hierarchical model (see :func:`bayes_pool`).

    ``estimate`` is the posterior median of ``mu``; ``ci_low``/``ci_high`` the shortest credible
    interval; ``tau_*`` summarise the posterior of ``tau``; ``pi_*`` the predictive distribution of
    a new study's true effect. Densities are tabulated on ``mu_grid``, ``tau_grid`` and ``pi_grid``.
    """

    estimate: float
    ci_low: float
    ci_high: float
    mu_mean: float
    mu_sd: float
    tau_median: float
    tau_mean: float
    tau_sd: float
    tau_ci_low: float
    tau_ci_high: float
    pi_median: float
    pi_mean: float
    pi_sd: float
    pi_low: float
    pi_high: float
    k: int
    level: float
    tau_prior: str
    mu_prior: str
    mu_grid: np.ndarray = field(repr=False)
    mu_density: np.ndarray = field(repr=False)
    tau_grid: np.ndarray = field(repr=False)
    tau_density: np.ndarray = field(repr=False)
    pi_grid: np.ndarray = field(repr=False)
    pi_density: np.ndarray = field(repr=False)
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row each for ``mu``, ``tau`` and the predictive distribution ``theta_new``."""
        return pd.DataFrame(
            {
                "median": [self.estimate, self.tau_median, self.pi_median],
                "mean": [self.mu_mean, self.tau_mean, self.pi_mean],
                "sd": [self.mu_sd, self.tau_sd, self.pi_sd],
                "ci_low": [self.ci_low, self.tau_ci_low, self.pi_low],
                "ci_high": [self.ci_high, self.tau_ci_high, self.pi_high],
            },
            index=pd.Index(["mu", "tau", "theta_new"], name="parameter"),
        )

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text())

    def summary_text(self) -> str:
        """Plain-text report of the posterior."""
        pct = f"{100 * self.level:g}%"
        return "\n".join([
            f"Bayesian random-effects meta-analysis (k = {self.k}); tau prior: {self.tau_prior}; "
            f"mu prior: {self.mu_prior}",
            f"(posterior medians; {pct} shortest credible intervals)",
            self.to_frame().to_string(float_format=lambda x: f"{x:.4f}"),
        ])


def _resolve_prior(tau_prior, tau_scale: float) -> TauPrior:
    if isinstance(tau_prior, TauPrior):
        return tau_prior
    if tau_prior == "half_normal":
        return TauPrior.half_normal(tau_scale)
    if tau_prior == "half_cauchy":
        return TauPrior.half_cauchy(tau_scale)
    if tau_prior == "turner":
        return turner_prior()
    raise ValueError(
        f"tau_prior must be 'half_normal', 'half_cauchy', 'turner' or a TauPrior (got {tau_prior!r})"
    )


def _conditional(y, v, tau, prior_mean, prior_prec):
    """Conditional posterior mean and precision of mu, and the log marginal likelihood, per tau."""
    w = 1.0 / (v[None, :] + tau[:, None] ** 2)
    prec = w.sum(axis=1) + prior_prec
    mean = (w @ y + prior_prec * prior_mean) / prec
    q = (w * (y[None, :] - mean[:, None]) ** 2).sum(axis=1) + prior_prec * (prior_mean - mean) ** 2
    loglik = 0.5 * np.log(w).sum(axis=1) - 0.5 * np.log(prec) - 0.5 * q
    return mean, prec, loglik


def _trapezoid_weights(x: np.ndarray) -> np.ndarray:
    dx = np.diff(x)
    w = np.zeros_like(x)
    w[:-1] += dx / 2
    w[1:] += dx / 2
    return w


class _NormalMixture:
    """A finite mixture of normals with its distribution function and quantiles."""

    def __init__(self, weights, means, sds):
        keep = weights > 1e-13 * weights.max()
        self.w = weights[keep] / weights[keep].sum()
        self.m = means[keep]
        self.s = sds[keep]
        self._table: tuple[np.ndarray, np.ndarray] | None = None

    def cdf(self, x: float) -> float:
        return float(self.w @ special.ndtr((x - self.m) / self.s))

    def pdf(self, x: np.ndarray) -> np.ndarray:
        z = (x[:, None] - self.m[None, :]) / self.s[None, :]
        return np.exp(-0.5 * z * z) @ (self.w / self.s) / np.sqrt(2.0 * np.pi)

    def mean(self) -> float:
        return float(self.w @ self.m)

    def sd(self) -> float:
        mu = self.mean()
        return float(np.sqrt(self.w @ (self.s ** 2 + (self.m - mu) ** 2)))

    def quantile(self, p: float) -> float:
        """Bracketed in a tabulated distribution function, then solved by Brent's method."""
        if self._table is None:
            main = self.w > 1e-8
            lo = float(np.min(self.m[main] - 10 * self.s[main]))
            hi = float(np.max(self.m[main] + 10 * self.s[main]))
            x = np.linspace(lo, hi, 401)
            cdf = special.ndtr((x[:, None] - self.m[None, :]) / self.s[None, :]) @ self.w
            self._table = (x, np.maximum.accumulate(cdf))
        x_tab, cdf_tab = self._table
        i = int(np.searchsorted(cdf_tab, p))
        # one grid step of margin on each side: the table and cdf() may round a value at a grid point
        # (the median 0 of symmetric data) to opposite sides of p
        a = x_tab[i - 2] if i > 1 else float(np.min(self.m - 40 * self.s))
        b = x_tab[i + 1] if i + 1 < x_tab.size else float(np.max(self.m + 40 * self.s))
        return optimize.brentq(lambda x: self.cdf(x) - p, a, b, xtol=1e-12, rtol=1e-12)


def _shortest(quantile: Callable[[float], float], level: float, eps: float = 0.0) -> tuple[float, float]:
    """Shortest interval ``[q(p), q(p + level)]`` over ``p`` in ``[eps, 1 - level - eps]``."""
    lo_p, hi_p = eps, 1.0 - level - eps
    width = lambda p: quantile(p + level) - quantile(p)
    res = optimize.minimize_scalar(width, bounds=(lo_p, hi_p), method="bounded", options={"xatol": 1e-10})
    candidates = [(width(lo_p), lo_p), (width(hi_p), hi_p), (float(res.fun), float(res.x))]
    _, p = min(candidates)
    return quantile(p), quantile(p + level)


def bayes_pool(
    yi,
    vi,
    *,
    tau_prior: str | TauPrior = "half_normal",
    tau_scale: float = 0.5,
    level: float = 0.95,
    mu_prior_mean: float | None = None,
    mu_prior_sd: float | None = None,
    labels=None,
) -> BayesPoolResult:
    """Posterior of the normal-normal hierarchical model by numerical integration over ``tau``.

    ``tau_prior`` is ``"half_normal"`` or ``"half_cauchy"`` (with ``tau_scale``), ``"turner"`` (the
    general-setting log-normal prior on ``tau^2`` of Turner et al. 2015), or a :class:`TauPrior`
    such as ``turner_prior("all-cause mortality", "non-pharmacological vs placebo/control")``.
    The prior on ``mu`` is flat unless ``mu_prior_mean`` and ``mu_prior_sd`` are given (as
    bayesmeta's ``mu.prior.mean``/``mu.prior.sd``). See the module docstring for the method.
    """
    y, v = check_yi_vi(yi, vi, labels=labels)
    check_level(level)
    prior = _resolve_prior(tau_prior, tau_scale)
    if (mu_prior_mean is None) != (mu_prior_sd is None):
        raise ValueError("give both mu_prior_mean and mu_prior_sd for a normal prior on mu, or neither")
    if mu_prior_sd is None:
        prior_mean, prior_prec, mu_label = 0.0, 0.0, "uniform (improper)"
    else:
        if not np.isfinite(mu_prior_mean):
            raise ValueError(f"mu_prior_mean must be finite (got {mu_prior_mean})")
        prior_mean = float(mu_prior_mean)
        prior_prec = 1.0 / _positive(mu_prior_sd, "mu_prior_sd") ** 2
        mu_label = f"normal(mean = {prior_mean:g}, sd = {float(mu_prior_sd):g})"

    # integration grid for tau: log-spaced from far below the smallest to far above the largest
    # relevant scale (data and prior), plus tau = 0
    ref = [float(np.sqrt(np.min(v))), float(np.sqrt(np.max(v))), float(np.std(y)) or 1.0,
           float(prior.quantile(0.5))]
    lo = 1e-4 * min(r for r in ref if r > 0)
    hi = max(1e3 * max(ref), float(prior.quantile(1.0 - 1e-7)))
    tau = np.concatenate([[0.0], np.geomspace(lo, hi, _GRID_POINTS)])
    mean, prec, loglik = _conditional(y, v, tau, prior_mean, prior_prec)
    logpost = loglik + prior.logpdf(tau)
    logpost = np.where(np.isfinite(logpost), logpost, -np.inf)
    dens = np.exp(logpost - np.max(logpost))
    tw = _trapezoid_weights(tau)
    norm_const = float(tw @ dens)
    dens /= norm_const
    mass = dens * tw

    # tau: distribution function on the grid by the trapezoid rule
    # (the density is linear between grid points, so the distribution function is piecewise quadratic)
    cdf = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(tau))])

    def tau_quantile(p: float) -> float:
        target = p * cdf[-1]
        i = int(np.clip(np.searchsorted(cdf, target) - 1, 0, tau.size - 2))
        h = tau[i + 1] - tau[i]
        d0, d1, r = dens[i], dens[i + 1], target - cdf[i]
        a = (d1 - d0) / (2.0 * h)
        if abs(a) * h <= 1e-12 * max(d0, 1e-300):
            t = r / d0 if d0 > 0 else 0.0
        else:
            t = (-d0 + np.sqrt(max(d0 * d0 + 4.0 * a * r, 0.0))) / (2.0 * a)
        return float(tau[i] + min(max(t, 0.0), h))

    tau_mean = float(mass @ tau)
    tau_sd = float(np.sqrt(max(mass @ tau ** 2 - tau_mean ** 2, 0.0)))
    tau_lo, tau_hi = _shortest(tau_quantile, level)

    mu_mix = _NormalMixture(mass, mean, 1.0 / np.sqrt(prec))
    pred_mix = _NormalMixture(mass, mean, np.sqrt(1.0 / prec + tau ** 2))
    mu_lo, mu_hi = _shortest(mu_mix.quantile, level, eps=1e-9)
    pi_lo, pi_hi = _shortest(pred_mix.quantile, level, eps=1e-9)

    def display(mix: _NormalMixture) -> tuple[np.ndarray, np.ndarray]:
        grid = np.linspace(mix.quantile(0.0005), mix.quantile(0.9995), _DISPLAY_POINTS)
        return grid, mix.pdf(grid)

    mu_grid, mu_density = display(mu_mix)
    pi_grid, pi_density = display(pred_mix)
    tau_grid = np.linspace(0.0, tau_quantile(0.999), _DISPLAY_POINTS)
    tau_density = np.interp(tau_grid, tau, dens)

    mu_sd, pi_sd = mu_mix.sd(), pred_mix.sd()
    if prior.name == "half_cauchy":
        # the posterior of tau has a tail ~ tau^-a (prior tau^-2 times the likelihood's tau^-(k-1), or
        # tau^-k with a normal prior on mu): moments of order r exist only for a > r + 1
        a = y.size + 1 + (prior_prec > 0)
        if a <= 2:
            tau_mean = np.inf
        if a <= 3:
            tau_sd = mu_sd = pi_sd = np.inf

    return BayesPoolResult(
        estimate=mu_mix.quantile(0.5),
        ci_low=mu_lo,
        ci_high=mu_hi,
        mu_mean=mu_mix.mean(),
        mu_sd=mu_sd,
        tau_median=tau_quantile(0.5),
        tau_mean=tau_mean,
        tau_sd=tau_sd,
        tau_ci_low=tau_lo,
        tau_ci_high=tau_hi,
        pi_median=pred_mix.quantile(0.5),
        pi_mean=pred_mix.mean(),
        pi_sd=pi_sd,
        pi_low=pi_lo,
        pi_high=pi_hi,
        k=int(y.size),
        level=float(level),
        tau_prior=prior.label,
        mu_prior=mu_label,
        mu_grid=readonly(mu_grid),
        mu_density=readonly(mu_density),
        tau_grid=readonly(tau_grid),
        tau_density=readonly(tau_density),
        pi_grid=readonly(pi_grid),
        pi_density=readonly(pi_density),
        yi=readonly(y),
        vi=readonly(v),
    )
