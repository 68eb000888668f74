"""Quantile estimation (QE): pooling study medians whose variance comes from a distribution fitted to the
reported quantiles.

McGrath, Zhao, Steele, Thombs & Benedetti, "Estimating the sample mean and standard deviation from commonly
reported quantiles in meta-analysis", Statistical Methods in Medical Research 29:2520-2537, 2020, fit a
parametric distribution to the quantiles a study reports; McGrath, Zhao, Qin, Steele & Benedetti,
"One-sample aggregate data meta-analysis of medians", Statistics in Medicine 38:969-984, 2019, use such a fit
to estimate the variance of each study's median and pool the medians by inverse variance.

For each study that reports its median, its size ``n`` and either the quartiles (``q1``, ``q3``), the range
(``minimum``, ``maximum``) or both (McGrath's scenarios S2, S1 and S3):

1. every candidate family (normal, log-normal, gamma, Weibull; the last three only for non-negative data) is
   fitted by least squares on the quantile scale, ``min_theta sum_i (F^-1(p_i; theta) - x_i)^2``, with
   ``p = 1/2`` for the median, ``1/4`` and ``3/4`` for the quartiles and, for the sample extremes, Blom's
   plotting positions ``(1 - 3/8) / (n + 1/4)`` and ``(n - 3/8) / (n + 1/4)`` (Blom, Statistical Estimates
   and Transformed Beta-Variables, 1958);
2. the family with the smallest sum of squares is kept (as McGrath et al.);
3. the variance of the sample median is its asymptotic value under the fitted density ``f``,
   ``1 / (4 n f(xi)^2)`` with ``xi`` the fitted distribution's median (e.g. Serfling, Approximation
   Theorems of Mathematical Statistics, 1980, section 2.3.3);
4. the reported medians are pooled with these variances by the random-effects model
   (:func:`netevidence.pooling.pool`), on the original scale.

Medians not reached, and medians without ``n`` or without quartiles or range, cannot be fitted: they are
kept in the result (``to_frame``, ``excluded``) with the reason, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .._arrays import readonly
from ..effects.validation import check_level
from ..summary import Summary, summary_of
from .core import pool

__all__ = ["FAMILIES", "QuantileFit", "QuantileEstimationResult", "qe_fit", "qe_pool", "quantile_probabilities"]

FAMILIES = ("normal", "lognormal", "gamma", "weibull")
"""The candidate families, in the order they are tried (ties keep the earlier one)."""
_POSITIVE = ("lognormal", "gamma", "weibull")
ASSUMPTIONS = ("each study's reported quantiles (quartiles and/or range) describe the n values whose median "
               "is reported (for survival times: no censoring), drawn from one of the candidate families; "
               "the medians' variances are asymptotic (1 / (4 n f(median)^2))")


def quantile_probabilities(n: float, *, quartiles: bool, extremes: bool) -> np.ndarray:
    """The probabilities matched to ``[minimum, q1, median, q3, maximum]`` (only those reported)."""
    p = []
    if extremes:
        p.append((1.0 - 0.375) / (n + 0.25))
    if quartiles:
        p.append(0.25)
    p.append(0.5)
    if quartiles:
        p.append(0.75)
    if extremes:
        p.append((n - 0.375) / (n + 0.25))
    return np.sort(np.asarray(p, dtype=float))


def _ppf(family: str, theta: np.ndarray, p: np.ndarray) -> np.ndarray:
    a, b = float(theta[0]), float(np.exp(theta[1]))
    if family == "normal":
        return a + b * special.ndtri(p)
    if family == "lognormal":
        return np.exp(a + b * special.ndtri(p))
    if family == "gamma":
        return special.gammaincinv(np.exp(a), p) * b
    return b * (-np.log1p(-p)) ** (1.0 / np.exp(a))   # weibull: shape exp(a), scale b


def _density_at_median(family: str, theta: np.ndarray) -> tuple[float, float]:
    """The fitted distribution's median and its density there."""
    a, b = float(theta[0]), float(np.exp(theta[1]))
    if family == "normal":
        return a, float(stats.norm.pdf(0.0) / b)
    if family == "lognormal":
        m = float(np.exp(a))
        return m, float(stats.norm.pdf(0.0) / (m * b))
    if family == "gamma":
        m = float(stats.gamma.ppf(0.5, np.exp(a), scale=b))
        return m, float(stats.gamma.pdf(m, np.exp(a), scale=b))
    k = float(np.exp(a))
    m = b * np.log(2.0) ** (1.0 / k)
    return float(m), float(k / b * np.log(2.0) ** ((k - 1.0) / k) / 2.0)


def _starts(family: str, x: np.ndarray, p: np.ndarray) -> list[np.ndarray]:
    z = stats.norm.ppf(p)
    med = float(np.interp(0.5, p, x))
    spread = float((x[-1] - x[0]) / (z[-1] - z[0]))
    spread = spread if spread > 0 else max(abs(med), 1.0)
    if family == "normal":
        return [np.array([med, np.log(spread)])]
    if family == "lognormal":
        lx = np.log(np.maximum(x, med * 1e-3))
        s = float((lx[-1] - lx[0]) / (z[-1] - z[0]))
        return [np.array([np.log(med), np.log(max(s, 1e-3))])]
    if family == "gamma":
        shape = max((med / spread) ** 2, 0.05)
        return [np.array([np.log(shape), np.log(med / shape)]), np.array([0.0, np.log(med / 0.69)])]
    return [np.array([np.log(k), np.log(med / np.log(2.0) ** (1.0 / k))]) for k in (0.7, 1.5, 3.0)]


@dataclass(frozen=True)
class QuantileFit:
    """The distribution fitted to one study's quantiles and the variance of its median.

    ``params`` are the chosen family's parameters: normal ``(mean, sd)``, log-normal ``(meanlog, sdlog)``,
    gamma ``(shape, scale)``, Weibull ``(shape, scale)``. ``sse`` holds each candidate's sum of squares.
    """

    family: str
    params: tuple[float, float]
    scenario: str
    n: float
    quantiles: tuple[float, ...]
    probabilities: tuple[float, ...]
    median_fitted: float
    density: float
    variance: float
    sse: dict = field(repr=False)

    @property
    def se(self) -> float:
        return float(np.sqrt(self.variance))


def qe_fit(median: float, n: float, *, q1: float | None = None, q3: float | None = None,
           minimum: float | None = None, maximum: float | None = None,
           families: Sequence[str] = FAMILIES) -> QuantileFit:
    """Fit the candidate families to one study's quantiles; keep the best fit and the variance of the median.

    Needs the median, ``n`` and the quartiles (S2), the range (S1) or both (S3). See the module docstring
    for the method (McGrath et al. 2020; variance ``1 / (4 n f(xi)^2)``).
    """
    given = lambda v: v is not None and bool(np.isfinite(v))
    quartiles, extremes = given(q1) and given(q3), given(minimum) and given(maximum)
    if not given(median):
        raise ValueError(f"the median must be finite (got {median})")
    if not given(n) or n < 2:
        raise ValueError(f"n must be at least 2 (got {n})")
    if not quartiles and not extremes:
        raise ValueError("quantile estimation needs the quartiles (q1, q3), the range (minimum, maximum) or both")
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise ValueError(f"families must be chosen from {FAMILIES} (got {list(families)})")
    x = [median]
    if quartiles:
        x += [q1, q3]
    if extremes:
        x += [minimum, maximum]
    x = np.sort(np.asarray(x, dtype=float))
    order = [minimum] * extremes + [q1] * quartiles + [median] + [q3] * quartiles + [maximum] * extremes
    if not np.all(np.diff(np.asarray(order, dtype=float)) >= 0):
        raise ValueError(f"the quantiles must be ordered (minimum <= q1 <= median <= q3 <= maximum; got {order})")
    if x[-1] == x[0]:
        raise ValueError("the reported quantiles are all equal: no spread to fit")
    p = quantile_probabilities(float(n), quartiles=quartiles, extremes=extremes)
    scenario = "S3" if quartiles and extremes else ("S2" if quartiles else "S1")
    best: tuple[float, str, np.ndarray] | None = None
    sse: dict[str, float] = {}
    for family in families:
        if family in _POSITIVE and (x[0] < 0 or median <= 0):
            continue
        with np.errstate(all="ignore"):
            def loss(theta, family=family):
                q = _ppf(family, theta, p)
                return float(np.sum((q - x) ** 2)) if np.all(np.isfinite(q)) else np.inf
            fits = [optimize.minimize(loss, s, method="Nelder-Mead",
                                      options={"xatol": 1e-10, "fatol": 1e-14 * max(1.0, float(x @ x)),
                                               "maxiter": 4000})
                    for s in _starts(family, x, p)]
        res = min(fits, key=lambda r: r.fun)
        if not np.isfinite(res.fun):
            continue
        sse[family] = float(res.fun)
        if best is None or res.fun < best[0]:
            best = (float(res.fun), family, res.x)
    if best is None:
        raise ValueError("no candidate family could be fitted to the reported quantiles")
    _, family, theta = best
    m, f = _density_at_median(family, theta)
    a, b = float(theta[0]), float(np.exp(theta[1]))
    params = (a, b) if family in ("normal", "lognormal") else (float(np.exp(a)), b)
    return QuantileFit(family=family, params=params, scenario=scenario, n=float(n), quantiles=tuple(x),
                       probabilities=tuple(p), median_fitted=m, density=f, variance=1.0 / (4.0 * n * f * f),
                       sse=sse)


@dataclass(frozen=True)
class QuantileEstimationResult:
    """Study medians pooled by inverse variance with QE variances (McGrath et al. 2019, 2020).

    ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high`` are on the scale of the medians (NaN when
    fewer than two studies could be fitted); ``fits`` has one entry per study (None where no fit was
    possible, with the reason in ``reasons``).
    """

    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    k: int
    k_total: int
    k_not_reached: int
    level: float
    method: str
    status: str
    medians: np.ndarray = field(repr=False)
    not_reached: np.ndarray = field(repr=False)
    fits: tuple = field(repr=False)
    reasons: tuple = field(repr=False)
    labels: tuple = field(repr=False, default=())
    assumptions: str = ASSUMPTIONS

    @property
    def coverage(self) -> float:
        return self.level

    @property
    def excluded(self) -> tuple[str, ...]:
        """The studies kept but not pooled, each with its reason."""
        names = self.labels or tuple(range(self.k_total))
        return tuple(f"{names[i]}: {r}" for i, r in enumerate(self.reasons) if r)

    def to_frame(self) -> pd.DataFrame:
        """One row per study (its median, the fitted family, the median's standard error or why it has
        none), then the pooled row."""
        rows = []
        for i in range(self.k_total):
            f = self.fits[i]
            nr = bool(self.not_reached[i])
            rows.append({
                "study": self.labels[i] if self.labels else i,
                "median": float(self.medians[i]),
                "shown_as": (("not reached" if np.isnan(self.medians[i]) else f"> {self.medians[i]:g} (not reached)")
                             if nr else f"{self.medians[i]:g}"),
                "n": np.nan if f is None else f.n,
                "scenario": None if f is None else f.scenario,
                "family": None if f is None else f.family,
                "se": np.nan if f is None else f.se,
                "pooled": f is not None and self.status == "pooled",
                "reason": self.reasons[i] or None,
            })
        rows.append({"study": "pooled (quantile estimation)", "median": self.estimate,
                     "shown_as": self.describe(), "n": np.nan, "scenario": None, "family": None,
                     "se": np.nan, "pooled": self.status == "pooled", "reason": None})
        return pd.DataFrame(rows)

    def describe(self) -> str:
        if self.status != "pooled":
            return f"not pooled: {self.k} of {self.k_total} medians could be fitted (2 needed)"
        return (f"{self.estimate:.4g}; {100 * self.level:g}% CI {self.ci_low:.4g} to {self.ci_high:.4g}"
                f" (k = {self.k} of {self.k_total}"
                + (f", {self.k_not_reached} not reached and not pooled" if self.k_not_reached else "") + ")")

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text())

    def summary_text(self) -> str:
        lines = [f"Quantile estimation (McGrath et al. 2020), medians pooled by inverse variance ({self.method}): "
                 + self.describe(), f"Assumes {self.assumptions}."]
        lines += [f"Not pooled: {e}" for e in self.excluded]
        return "\n".join(lines)


def _opt(values, k: int, name: str) -> np.ndarray:
    if values is None:
        return np.full(k, np.nan)
    a = np.asarray(values, dtype=float).ravel()
    if a.size != k:
        raise ValueError(f"{name} must have one entry per study (got {a.size} for k = {k})")
    return a


def qe_pool(medians, n, *, q1=None, q3=None, minimum=None, maximum=None, not_reached=None,
            labels: Sequence | None = None, method: str = "REML", ci: str = "z", level: float = 0.95,
            families: Sequence[str] = FAMILIES) -> QuantileEstimationResult:
    """Pool study medians with variances from quantile estimation (see the module docstring).

    Arrays have one entry per study; NaN marks what a study does not report. A study is pooled when it
    reports its median, ``n`` and its quartiles or range; the others (including medians not reached, whose
    ``medians`` entry is the lower bound) are kept with the reason. ``method``, ``ci`` and ``level`` go to
    :func:`netevidence.pooling.pool`.
    """
    check_level(level)
    m = np.asarray(medians, dtype=float).ravel()
    k = m.size
    if k == 0:
        raise ValueError("at least one study median is required (k = 0)")
    if labels is not None and len(labels) != k:
        raise ValueError(f"labels must have one entry per study (got {len(labels)} for k = {k})")
    nn, a1, a3, lo, hi = (_opt(v, k, name) for v, name in ((n, "n"), (q1, "q1"), (q3, "q3"),
                                                          (minimum, "minimum"), (maximum, "maximum")))
    nr = np.zeros(k, dtype=bool) if not_reached is None else np.asarray(not_reached, dtype=bool).ravel()
    if nr.size != k:
        raise ValueError(f"not_reached must have one entry per study (got {nr.size} for k = {k})")
    fits: list[QuantileFit | None] = []
    reasons: list[str] = []
    for i in range(k):
        fin = lambda v: float(v) if np.isfinite(v) else None
        if nr[i]:
            fits.append(None)
            reasons.append("median not reached: no distribution can be fitted; shown, not pooled")
            continue
        if not np.isfinite(m[i]) or not np.isfinite(nn[i]):
            fits.append(None)
            reasons.append("no median or no number of patients")
            continue
        if not (np.isfinite(a1[i]) and np.isfinite(a3[i])) and not (np.isfinite(lo[i]) and np.isfinite(hi[i])):
            fits.append(None)
            reasons.append("neither quartiles nor range reported")
            continue
        try:
            fits.append(qe_fit(m[i], nn[i], q1=fin(a1[i]), q3=fin(a3[i]), minimum=fin(lo[i]), maximum=fin(hi[i]),
                               families=families))
            reasons.append("")
        except ValueError as exc:
            fits.append(None)
            reasons.append(f"no fit: {exc}")
    ok = [i for i, f in enumerate(fits) if f is not None]
    est = lo_ci = hi_ci = plo = phi = tau2 = np.nan
    status = "too few"
    if len(ok) >= 2:
        yi = m[ok]
        vi = np.array([fits[i].variance for i in ok])
        res = pool(yi, vi, method=method, ci=ci, level=level)
        p = res.predict()
        est, lo_ci, hi_ci, plo, phi, tau2 = p.pred, p.ci_low, p.ci_high, p.pi_low, p.pi_high, res.tau2
        status = "pooled"
    return QuantileEstimationResult(
        estimate=float(est), ci_low=float(lo_ci), ci_high=float(hi_ci), pi_low=float(plo), pi_high=float(phi),
        tau2=float(tau2), k=len(ok), k_total=k, k_not_reached=int(nr.sum()), level=float(level), method=method,
        status=status, medians=readonly(m), not_reached=readonly(nr, dtype=bool), fits=tuple(fits), reasons=tuple(reasons),
        labels=tuple(labels) if labels is not None else ())
