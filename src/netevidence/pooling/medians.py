"""Median of medians across studies that report a median without a measure of its precision.

McGrath, Zhao, Qin, Steele & Benedetti, "One-sample aggregate data meta-analysis of medians",
Statistics in Medicine 38:969-984, 2019: the pooled estimate is the median of the study medians, and
its confidence interval inverts the sign test (Conover, Practical Nonparametric Statistics, 1999,
Section 3.2), so it is a pair of order statistics of the study medians:

* ``ci="exact"``: ``[m_(T+1), m_(k-T)]`` with ``T`` the largest integer such that the exact coverage
  ``1 - 2 P(B <= T)``, ``B ~ Binomial(k, 1/2)``, is at least ``level``. With ``k < 6`` no such ``T``
  exists at 95% and the interval is the range ``[m_(1), m_(k)]`` with its coverage ``1 - 2^(1-k)``,
  reported in ``coverage``.
* ``ci="normal"``: the normal approximation to the binomial, the sample quantiles (linear
  interpolation between order statistics, R's type 7) at ``1/2 -+ z / (2 sqrt(k))``, as the metamedian
  R package's ``pool.med(norm.approx = TRUE)``.

Medians that were not reached are right-censored: the median exceeds a known lower bound (usually the
longest follow-up). They are kept. Every order statistic used is computed twice, with each
not-reached median at its lower bound and at +infinity; when both agree the order statistic is
determined, otherwise only its range is known and the result says so (``status``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..summary import Summary, summary_of
from .._arrays import readonly
from ..effects.validation import check_level

__all__ = ["MedianOfMediansResult", "median_of_medians"]

_CI_METHODS = ("exact", "normal")


@dataclass(frozen=True)
class MedianOfMediansResult:
    """Median of study medians with its sign-test confidence interval.

    ``estimate`` is NaN unless ``status == "determined"``; ``estimate_low``/``estimate_high`` always
    bound it (``estimate_high`` is +inf when the pooled median is itself not reached). ``ci_low`` and
    ``ci_high`` are the outer bounds of the interval's end points (+inf when the upper end point is a
    not-reached median). ``coverage`` is the interval's exact coverage (``ci="exact"``) or the nominal
    level (``ci="normal"``).
    """

    estimate: float
    estimate_low: float
    estimate_high: float
    status: str
    ci_low: float
    ci_high: float
    coverage: float
    level: float
    ci: str
    k: int
    k_not_reached: int
    order_low: float
    order_high: float
    medians: np.ndarray = field(repr=False)
    not_reached: np.ndarray = field(repr=False)
    labels: tuple = field(repr=False, default=())

    def to_frame(self) -> pd.DataFrame:
        """One row per study, as pooled: its median, whether it was reached, and the pooled result."""
        rows = pd.DataFrame({
            "study": list(self.labels) if self.labels else list(range(self.k)),
            "median": self.medians,
            "not_reached": self.not_reached,
        })
        rows["shown_as"] = [f"> {m:g} (not reached)" if nr else f"{m:g}"
                            for m, nr in zip(self.medians, self.not_reached)]
        pooled = pd.DataFrame({
            "study": ["median of medians"],
            "median": [self.estimate],
            "not_reached": [self.status == "not reached"],
            "shown_as": [self.describe()],
        })
        return pd.concat([rows, pooled], ignore_index=True)

    def describe(self) -> str:
        """The pooled median and interval in words, stating what the not-reached medians allow."""
        fmt = lambda x: "not reached" if np.isinf(x) else f"{x:.4g}"
        if self.status == "determined":
            point = fmt(self.estimate)
        elif self.status == "not reached":
            point = f"not reached (> {self.estimate_low:.4g})"
        else:
            point = f"between {self.estimate_low:.4g} and {self.estimate_high:.4g}"
        cov = f"{100 * self.coverage:.1f}%"
        return f"{point}; {cov} CI {fmt(self.ci_low)} to {fmt(self.ci_high)}"

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text())

    def summary_text(self) -> str:
        text = (f"Median of medians (McGrath et al. 2019), k = {self.k}"
                f" ({self.k_not_reached} not reached), {self.ci} sign-test interval")
        if self.ci == "exact" and self.coverage < self.level:
            text += f"; with k = {self.k} no order-statistic interval reaches {100 * self.level:g}%"
        return text + "\n" + self.describe()


def _order_stat(values: np.ndarray, r: float) -> float:
    """The order statistic of rank ``r`` (1-based; fractional ranks interpolate linearly)."""
    x = np.sort(values)
    lo = int(np.floor(r)) - 1
    frac = r - np.floor(r)
    if frac == 0:
        return float(x[lo])
    if np.isinf(x[lo + 1]) or np.isinf(x[lo]):
        return float(np.inf) if np.isinf(x[lo + 1]) else float(x[lo])
    return float(x[lo] + frac * (x[lo + 1] - x[lo]))


def median_of_medians(
    medians,
    *,
    not_reached=None,
    ci: str = "exact",
    level: float = 0.95,
    labels: Sequence | None = None,
) -> MedianOfMediansResult:
    """Pool study medians by their median, with a sign-test confidence interval (McGrath et al. 2019).

    ``medians`` holds each study's median; for a study whose median was not reached
    (``not_reached[i]`` true) it holds the lower bound the study gives (e.g. its longest follow-up), or
    NaN when none is given (the bound is then taken as -inf and the result shows it).
    """
    check_level(level)
    if ci not in _CI_METHODS:
        raise ValueError(f"ci must be one of {_CI_METHODS} (got {ci!r})")
    m = np.asarray(medians, dtype=float).ravel()
    k = m.size
    if k == 0:
        raise ValueError("at least one study median is required (k = 0)")
    nr = np.zeros(k, dtype=bool) if not_reached is None else np.asarray(not_reached, dtype=bool).ravel()
    if nr.size != k:
        raise ValueError(f"not_reached must have one entry per study (got {nr.size} for k = {k})")
    if labels is not None and len(labels) != k:
        raise ValueError(f"labels must have one entry per study (got {len(labels)} for k = {k})")
    name = (lambda i: f"study {labels[i]!r} (index {i})") if labels is not None else (lambda i: f"study {i}")
    bad = np.flatnonzero(~nr & ~np.isfinite(m))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name(i)}: median must be finite (got {m[i]}); "
                         "mark a median that was not reached with not_reached=True")
    bad = np.flatnonzero(nr & np.isinf(m))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name(i)}: the lower bound of a not-reached median must be finite or NaN (got {m[i]})")

    at_bound = np.where(nr, np.where(np.isnan(m), -np.inf, m), m)
    at_inf = np.where(nr, np.inf, m)

    def bounds(r: float) -> tuple[float, float]:
        return _order_stat(at_bound, r), _order_stat(at_inf, r)

    mid = (k + 1) / 2.0
    est_lo, est_hi = bounds(mid)
    if est_lo == est_hi:
        status, estimate = "determined", est_lo
    elif np.isinf(est_hi):
        status, estimate = "not reached", np.nan
    else:
        status, estimate = "bounded", np.nan

    if ci == "exact":
        t_values = np.arange(0, k // 2 + 1)
        cover = 1.0 - 2.0 * stats.binom.cdf(t_values, k, 0.5)
        ok = np.flatnonzero(cover >= level - 1e-12)
        t = int(t_values[ok[-1]]) if ok.size else 0
        coverage = float(cover[t])
        r_low, r_high = t + 1.0, float(k - t)
    else:
        z = stats.norm.isf((1.0 - level) / 2.0)
        half = min(0.5, z / (2.0 * np.sqrt(k)))
        # R's type-7 quantile at probability p is the order statistic of rank 1 + (k - 1) p
        r_low, r_high = 1.0 + (k - 1) * (0.5 - half), 1.0 + (k - 1) * (0.5 + half)
        coverage = float(level)
    ci_low = bounds(r_low)[0]
    ci_high = bounds(r_high)[1]

    return MedianOfMediansResult(
        estimate=float(estimate),
        estimate_low=est_lo,
        estimate_high=est_hi,
        status=status,
        ci_low=ci_low,
        ci_high=ci_high,
        coverage=coverage,
        level=float(level),
        ci=ci,
        k=k,
        k_not_reached=int(nr.sum()),
        order_low=r_low,
        order_high=r_high,
        medians=readonly(m),
        not_reached=readonly(nr, dtype=bool),
        labels=tuple(labels) if labels is not None else (),
    )
