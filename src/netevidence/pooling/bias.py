"""Small-study effects: funnel plot data, Egger's and Begg's tests, trim-and-fill.

* :func:`funnel_data`: effect sizes against standard errors with the pseudo
  confidence region ``estimate +/- z * se`` (Sterne & Egger, Journal of
  Clinical Epidemiology, 2001).
* :func:`egger_test`: regression test for funnel plot asymmetry (Egger, Davey
  Smith, Schneider & Minder, BMJ, 1997). The default, as in metafor's
  ``regtest()``, is the mixed-effects meta-regression of ``yi`` on the standard
  error with the model's tau^2 estimator (``model="rma"``; Sterne & Egger, in
  Publication Bias in Meta-Analysis, 2005). ``model="lm"`` gives the classical
  Egger test: weighted least squares with weights ``1 / v_i`` and a
  multiplicative dispersion parameter, t test on ``k - 2`` df (identical to
  regressing the standard normal deviate on precision). ``predictor="vi"``
  uses the variance instead (Moreno et al., BMC Medical Research Methodology, 2009).
* :func:`begg_test`: rank correlation test (Begg & Mazumdar, Biometrics,
  1994): Kendall's tau between the standardized deviates
  ``(y_i - b) / sqrt(v_i - 1/sum(w))`` and the variances, with the exact null
  distribution of Kendall's statistic when there are no ties and the normal
  approximation with tie-corrected variance otherwise (Kendall, Rank
  Correlation Methods, 1970).
* :func:`trim_and_fill`: Duval & Tweedie's nonparametric trim-and-fill method
  (Biometrics, 2000; JASA, 2000), estimators L0 (default) and R0, with the side
  of missing studies chosen from the sign of the Egger-type slope as metafor does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._arrays import readonly as _ro
from ..summary import Summary, summary_of
from .fitted import accepts_fit
from .core import PoolResult, pool
from .regression import check_yi_vi, meta_regression

__all__ = [
    "FunnelData",
    "EggerTestResult",
    "BeggTestResult",
    "TrimFillResult",
    "funnel_data",
    "egger_test",
    "begg_test",
    "trim_and_fill",
]


# --------------------------------------------------------------------------- funnel


@dataclass(frozen=True)
class FunnelData:
    """Points and pseudo confidence region of a funnel plot (standard error on the vertical axis)."""

    yi: np.ndarray
    sei: np.ndarray
    estimate: float
    level: float
    se_grid: np.ndarray
    region_low: np.ndarray
    region_high: np.ndarray

    def summary(self) -> Summary:
        """Centre over the table of :meth:`to_frame` (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, title=f"Funnel data: k = {self.yi.size}, centre {self.estimate:.4f}, {100 * self.level:g}% pseudo confidence region")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"yi": self.yi, "sei": self.sei})

    def region_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"se": self.se_grid, "low": self.region_low, "high": self.region_high})


@accepts_fit
def funnel_data(
    yi,
    vi,
    *,
    method: str = "REML",
    level: float = 0.95,
    n_grid: int = 100,
    labels: Sequence | None = None,
    **pool_options,
) -> FunnelData:
    """Funnel plot data centred on the pooled estimate of ``pool(yi, vi, method=method)``."""
    y, v = check_yi_vi(yi, vi, labels=labels)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1) (got {level})")
    fit = pool(y, v, method=method, **pool_options)
    sei = np.sqrt(v)
    grid = np.linspace(0.0, sei.max(), n_grid)
    crit = stats.norm.isf((1 - level) / 2)
    return FunnelData(
        yi=_ro(y),
        sei=_ro(sei),
        estimate=float(fit.estimate),
        level=level,
        se_grid=_ro(grid),
        region_low=_ro(fit.estimate - crit * grid),
        region_high=_ro(fit.estimate + crit * grid),
    )


# --------------------------------------------------------------------------- Egger


@dataclass(frozen=True)
class EggerTestResult:
    """Regression test for funnel plot asymmetry.

    ``statistic`` tests the slope on the predictor (z, or t with ``df`` degrees of
    freedom); ``limit_estimate`` is the intercept, the estimate as the predictor
    goes to zero (only for predictors ``sei`` and ``vi``).
    """

    statistic: float
    pval: float
    df: int | None
    slope: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    tau2: float
    model: str
    predictor: str
    method: str

    def summary(self) -> Summary:
        """Test line over the table of :meth:`to_frame` (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, title=f"Egger's test ({self.model}, predictor {self.predictor}): statistic = {self.statistic:.4f}, p = {self.pval:.4g}; limit estimate {self.limit_estimate:.4f} [{self.limit_ci_low:.4f}, {self.limit_ci_high:.4f}]")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{f: getattr(self, f) for f in self.__dataclass_fields__}])


@accepts_fit
def egger_test(
    yi,
    vi,
    *,
    model: str = "rma",
    predictor: str = "sei",
    method: str = "REML",
    ci: str = "z",
    level: float = 0.95,
    tau2: float | None = None,
    labels: Sequence | None = None,
) -> EggerTestResult:
    """Egger's regression test (metafor's ``regtest()``; default ``model="rma"``, ``predictor="sei"``).

    ``model="rma"`` fits ``meta_regression(yi, vi, mods=sqrt(vi))`` with the given
    tau^2 estimator and inference ``ci``; ``model="lm"`` is the classical
    weighted regression with a dispersion parameter and a t test on k - 2 df.
    """
    y, v = check_yi_vi(yi, vi, labels=labels)
    if model not in ("rma", "lm"):
        raise ValueError(f"model must be 'rma' or 'lm' (got {model!r})")
    if predictor not in ("sei", "vi"):
        raise ValueError(f"predictor must be 'sei' or 'vi' (got {predictor!r})")
    k = y.size
    if k < 3:
        raise ValueError(f"Egger's test needs at least 3 studies (got k = {k})")
    x = np.sqrt(v) if predictor == "sei" else v
    if np.all(x == x[0]):
        raise ValueError(f"Egger's test needs studies of different precision (all {predictor} are equal)")
    if model == "rma":
        fit = meta_regression(y, v, x, names=[predictor], method=method, ci=ci, level=level, tau2=tau2)
    else:
        # weighted least squares with weights 1/vi and an estimated dispersion: the Knapp-Hartung
        # scaling of the common-effect fit, t on k - 2 df
        fit = meta_regression(y, v, x, names=[predictor], method="EE", ci="knha", level=level)
    return EggerTestResult(
        statistic=float(fit.statistic[1]),
        pval=float(fit.pval[1]),
        df=fit.df,
        slope=float(fit.coef[1]),
        limit_estimate=float(fit.coef[0]),
        limit_ci_low=float(fit.ci_low[0]),
        limit_ci_high=float(fit.ci_high[0]),
        tau2=fit.tau2,
        model=model,
        predictor=predictor,
        method=fit.method if model == "rma" else "lm",
    )


# --------------------------------------------------------------------------- Begg


@dataclass(frozen=True)
class BeggTestResult:
    """Begg and Mazumdar's rank correlation test: Kendall's tau (tau-b) and its two-sided p-value."""

    tau: float
    pval: float
    exact: bool
    k: int

    def summary(self) -> Summary:
        """Test line over the table of :meth:`to_frame` (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, title=f"Begg's rank correlation test: Kendall's tau = {self.tau:.4f}, p = {self.pval:.4g} ({'exact' if self.exact else 'normal approximation'}), k = {self.k}")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"tau": self.tau, "pval": self.pval, "exact": self.exact, "k": self.k}])


@accepts_fit
def begg_test(yi, vi, *, exact: bool = True, labels: Sequence | None = None) -> BeggTestResult:
    """Begg's rank correlation test (metafor's ``ranktest()``).

    The exact p-value is used when ``exact`` and there are no ties; with ties
    the normal approximation with tie-corrected variance (no continuity
    correction) is used, as R's ``cor.test(method = "kendall")`` does.
    """
    y, v = check_yi_vi(yi, vi, labels=labels)
    k = y.size
    if k < 3:
        raise ValueError(f"Begg's test needs at least 3 studies (got k = {k})")
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    v_star = v - 1.0 / np.sum(w)
    y_star = (y - theta) / np.sqrt(v_star)
    tau, pval, used_exact = kendall_test(y_star, v, exact=exact)
    return BeggTestResult(tau=tau, pval=pval, exact=used_exact, k=k)


def kendall_test(x: np.ndarray, y: np.ndarray, *, exact: bool = True) -> tuple[float, float, bool]:
    """Kendall's tau-b and two-sided p-value (exact null distribution without ties)."""
    n = x.size
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(n, 1)
    s = float(np.sum(dx[iu] * dy[iu]))
    n0 = n * (n - 1) / 2
    tx = _tie_counts(x)
    ty = _tie_counts(y)
    n1 = float(np.sum(tx * (tx - 1)) / 2)
    n2 = float(np.sum(ty * (ty - 1)) / 2)
    denom = np.sqrt((n0 - n1) * (n0 - n2))
    tau = s / denom if denom > 0 else np.nan
    ties = tx.size > 0 or ty.size > 0
    if exact and not ties:
        concordant = int(round((s + n0) / 2))
        return float(tau), _kendall_exact_pval(concordant, n), True
    v0 = n * (n - 1) * (2 * n + 5)
    vt = np.sum(tx * (tx - 1) * (2 * tx + 5))
    vu = np.sum(ty * (ty - 1) * (2 * ty + 5))
    v1 = np.sum(tx * (tx - 1)) * np.sum(ty * (ty - 1))
    v2 = np.sum(tx * (tx - 1) * (tx - 2)) * np.sum(ty * (ty - 1) * (ty - 2))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + (v2 / (9 * n * (n - 1) * (n - 2)) if n > 2 else 0.0)
    z = s / np.sqrt(var_s)
    pval = 2 * min(stats.norm.cdf(z), stats.norm.sf(z))
    return float(tau), float(min(1.0, pval)), False


def _tie_counts(a: np.ndarray) -> np.ndarray:
    _, counts = np.unique(a, return_counts=True)
    return counts[counts > 1].astype(float)


def _kendall_exact_pval(concordant: int, n: int) -> float:
    """Two-sided exact p-value from the null distribution of the number of concordant pairs.

    The counts are the Mahonian numbers (permutations of n items by number of
    inversions), built by the usual recursion one item at a time and kept as
    probabilities to avoid overflow.
    """
    dist = np.array([1.0])
    for m in range(2, n + 1):
        new = np.zeros(dist.size + m - 1)
        c = np.concatenate([[0.0], np.cumsum(dist)])
        # new[j] = sum_{i=max(0, j-m+1)}^{j} dist[i]
        j = np.arange(new.size)
        hi = np.minimum(j, dist.size - 1) + 1
        lo = np.maximum(0, j - m + 1)
        new = (c[hi] - c[lo]) / m
        dist = new
    cdf = np.cumsum(dist)
    half = n * (n - 1) / 4
    if concordant > half:
        p = 1.0 - (cdf[concordant - 1] if concordant >= 1 else 0.0)
    else:
        p = cdf[concordant]
    return float(min(1.0, 2.0 * p))


# --------------------------------------------------------------------------- trim and fill


@dataclass(frozen=True)
class TrimFillResult:
    """Trim-and-fill: estimated number of missing studies and the model refitted with them filled in.

    ``yi``/``vi`` hold the observed studies followed by the ``k0`` filled ones
    (``filled`` marks them); ``pooled`` is ``pool()`` on that augmented data.
    ``p_k0`` is the R0 test of k0 = 0 (None for L0). ``se_k0`` is NaN when the
    L0 variance formula turns negative (as in metafor).
    """

    k0: int
    se_k0: float
    side: str
    estimator: str
    p_k0: float | None
    yi: np.ndarray
    vi: np.ndarray
    filled: np.ndarray
    pooled: PoolResult = field(repr=False)

    @property
    def estimate(self) -> float:
        return float(self.pooled.estimate)

    def summary(self) -> Summary:
        """Result line over the table of :meth:`to_frame` (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, title=f"Trim-and-fill ({self.estimator}): {self.k0} studies filled on the {self.side}; estimate {self.pooled.estimate:.4f} [{self.pooled.ci_low:.4f}, {self.pooled.ci_high:.4f}]")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"yi": self.yi, "vi": self.vi, "filled": self.filled})


@accepts_fit
def trim_and_fill(
    yi,
    vi,
    *,
    method: str = "REML",
    estimator: str = "L0",
    side: str | None = None,
    ci: str = "z",
    level: float = 0.95,
    max_iter: int = 100,
    labels: Sequence | None = None,
    **pool_options,
) -> TrimFillResult:
    """Duval & Tweedie's trim-and-fill (metafor's ``trimfill()``).

    ``side=None`` estimates on which side studies are missing: the left when
    the slope of ``meta_regression(yi, vi, mods=sqrt(vi))`` is non-negative,
    else the right. Each iteration pools the ``k - k0`` least extreme studies,
    ranks ``|y_i - b|`` (ties by order) and updates ``k0``:

    * L0: ``k0 = (4 S_r - k (k + 1)) / (2 k - 1)`` with ``S_r`` the sum of the
      positive signed ranks;
    * R0: ``k0 = k - r* - 1`` with ``r*`` the largest rank among negative deviations;

    rounded and truncated at zero, until it stops changing. The ``k0`` most
    extreme studies are then mirrored about the last pooled estimate and the
    model is refitted with ``pool(method=method, ci=ci)`` on all studies.
    """
    y, v = check_yi_vi(yi, vi, labels=labels)
    k = y.size
    if estimator not in ("L0", "R0"):
        raise ValueError(f"estimator must be 'L0' or 'R0' (got {estimator!r})")
    if k < 3:
        raise ValueError(f"trim-and-fill needs at least 3 studies (got k = {k})")
    if side is None:
        slope = meta_regression(y, v, np.sqrt(v), method=method).coef[1]
        side = "right" if slope < 0 else "left"
    elif side not in ("left", "right"):
        raise ValueError(f"side must be 'left', 'right' or None (got {side!r})")
    ys = -y if side == "right" else y.copy()
    idx = np.argsort(ys, kind="stable")
    ys, vs = ys[idx], v[idx]

    k0, k0_prev, it = 0, -1, 0
    se_k0 = 0.0
    beta = np.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > max_iter:
            raise ValueError(f"trim-and-fill did not converge in {max_iter} iterations")
        beta = float(pool(ys[: k - k0], vs[: k - k0], method=method, **pool_options).estimate)
        dev = ys - beta
        ranks = stats.rankdata(np.abs(dev), method="ordinal")
        signed = np.sign(dev) * ranks
        if estimator == "L0":
            sr = float(np.sum(signed[signed > 0]))
            k0f = (4 * sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0f**3 + 27 * k0f**2 + 17 * k0f
                      - 18 * k * k0f**2 - 18 * k * k0f + 6 * k**2 * k0f) / 24
            # the variance formula can turn negative for large k0; the standard error is then undefined
            se_k0 = 4 * np.sqrt(var_sr) / (2 * k - 1) if var_sr >= 0 else np.nan
        else:
            neg = -signed[signed < 0]
            k0f = (k - (neg.max() if neg.size else 0.0)) - 1
            se_k0 = np.sqrt(2 * max(0.0, k0f) + 2)
        k0 = int(max(0, _round_half_even(k0f)))
        se_k0 = float(se_k0) if np.isnan(se_k0) else max(0.0, float(se_k0))

    if k0 > 0:
        mirrored = 2 * beta - ys[k - k0 :]
        fill_y = -mirrored if side == "right" else mirrored
        yi_all = np.concatenate([y, fill_y])
        vi_all = np.concatenate([v, vs[k - k0 :]])
    else:
        yi_all, vi_all = y, v
    pooled = pool(yi_all, vi_all, method=method, ci=ci, level=level, **pool_options)
    filled = np.r_[np.zeros(k, bool), np.ones(k0, bool)]
    filled.setflags(write=False)
    return TrimFillResult(
        k0=k0,
        se_k0=se_k0,
        side=side,
        estimator=estimator,
        p_k0=0.5 ** (k0 + 1) if estimator == "R0" else None,
        yi=_ro(yi_all),
        vi=_ro(vi_all),
        filled=filled,
        pooled=pooled,
    )


def _round_half_even(x: float) -> float:
    """R's round(): halves to even."""
    return float(np.round(x))
