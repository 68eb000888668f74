"""Mixed-effects meta-regression on study-level covariates.

The model is ``y_i = x_i' beta + u_i + e_i`` with ``u_i ~ N(0, tau^2)`` and
``e_i ~ N(0, v_i)`` (Berkey, Hoaglin, Mosteller & Colditz, Statistics in
Medicine, 1995; Thompson & Higgins, Statistics in Medicine, 2002). tau^2 comes
from :func:`netevidence.pooling.estimators.estimate_tau2` with the design
matrix; given tau^2 the coefficients are the weighted least-squares solution
with weights ``1 / (v_i + tau^2)``.

Inference follows metafor's ``rma(mods = ...)`` (Viechtbauer, Journal of
Statistical Software, 2010):

* ``ci="z"``: Wald z tests, chi-square omnibus test ``QM`` on ``m`` df;
* ``ci="knha"``: Knapp & Hartung (Statistics in Medicine, 2003): the
  covariance matrix is scaled by ``s^2 = sum w_i r_i^2 / (k - p)``, t tests on
  ``k - p`` df and ``QM / m`` referred to ``F(m, k - p)``;
* ``ci="adhoc"``: as ``knha`` but the scale factor is never below 1.

``QE`` is the test for residual heterogeneity, computed with the common-effect
weights ``1 / v_i`` on ``k - p`` df. ``I2`` and ``H2`` use the typical
within-study variance ``(k - p) / tr(P)`` (Higgins & Thompson, Statistics in
Medicine, 2002, generalised to meta-regression as in metafor); for the
common-effect model they come from ``QE``. ``R2`` is the proportional reduction
of tau^2 against the intercept-only model with the same estimator (Raudenbush,
in The Handbook of Research Synthesis, 2009); for the common-effect model it
is the adjusted R^2 of the weighted least-squares fit, as metafor reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..summary import Summary, summary_of
from .._arrays import readonly as _frozen
from .estimators import estimate_tau2

__all__ = ["MetaRegressionResult", "meta_regression", "design_matrix"]

_CI_METHODS = ("z", "knha", "adhoc")


def check_yi_vi(yi, vi, *, labels: Sequence | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate effect sizes and sampling variances, returning float arrays.

    Raises ``ValueError`` naming the first offending study and the rule it breaks.
    """
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if y.shape != v.shape:
        raise ValueError(
            f"yi and vi must have the same length (got {y.size} effect sizes and {v.size} variances)"
        )
    if y.size == 0:
        raise ValueError("at least one study is required (k = 0)")
    if labels is not None and len(labels) != y.size:
        raise ValueError(f"labels must have one entry per study (got {len(labels)} for k = {y.size})")

    def name(i: int) -> str:
        return f"study {labels[i]!r} (index {i})" if labels is not None else f"study {i}"

    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise ValueError(f"{name(int(bad[0]))}: effect size yi must be finite (got {y[bad[0]]})")
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        raise ValueError(f"{name(int(bad[0]))}: sampling variance vi must be finite (got {v[bad[0]]})")
    bad = np.flatnonzero(v <= 0)
    if bad.size:
        raise ValueError(f"{name(int(bad[0]))}: sampling variance vi must be positive (got {v[bad[0]]})")
    return y, v


def design_matrix(
    mods, k: int, *, intercept: bool = True, names: Sequence[str] | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Build the k x p design matrix from moderators.

    ``mods`` may be ``None`` (intercept only), a 1-d or 2-d numeric array, or a
    pandas DataFrame/Series. Non-numeric DataFrame columns are treatment coded
    with the first sorted level as reference (R's ``factor()`` default); the
    dummy for level ``b`` of column ``g`` is named ``"g[b]"``. Without an
    intercept the first non-numeric column keeps every level (the cell-means
    model of R's ``~ factor(g) - 1``) and later ones are treatment coded, as
    R's ``model.matrix`` does.
    """
    cols: list[np.ndarray] = []
    colnames: list[str] = []
    full_coding = not intercept
    if intercept:
        cols.append(np.ones(k))
        colnames.append("intercept")
    if mods is not None:
        if isinstance(mods, pd.Series):
            mods = mods.to_frame()
        if isinstance(mods, pd.DataFrame):
            if len(mods) != k:
                raise ValueError(f"mods must have one row per study (got {len(mods)} rows for k = {k})")
            for col in mods.columns:
                s = mods[col]
                if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
                    cols.append(s.to_numpy(dtype=float))
                    colnames.append(str(col))
                else:
                    if s.isna().any():
                        i = int(np.flatnonzero(s.isna().to_numpy())[0])
                        raise ValueError(f"study {i}: moderator {col!r} must not be missing")
                    levels = sorted(pd.unique(s.astype(str)))
                    values = s.astype(str).to_numpy()
                    for lev in levels if full_coding else levels[1:]:
                        cols.append((values == lev).astype(float))
                        colnames.append(f"{col}[{lev}]")
                    full_coding = False
        else:
            arr = np.asarray(mods, dtype=float)
            if arr.ndim == 1:
                arr = arr[:, None]
            if arr.ndim != 2 or arr.shape[0] != k:
                raise ValueError(f"mods must have one row per study (got shape {arr.shape} for k = {k})")
            given = list(names) if names is not None else [f"x{j + 1}" for j in range(arr.shape[1])]
            if len(given) != arr.shape[1]:
                raise ValueError(f"names must have one entry per moderator column (got {len(given)})")
            for j in range(arr.shape[1]):
                cols.append(arr[:, j])
                colnames.append(str(given[j]))
    if not cols:
        raise ValueError("the model has no coefficients: give mods or set intercept=True")
    X = np.column_stack(cols)
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        i, j = (int(t) for t in bad[0])
        raise ValueError(f"study {i}: moderator {colnames[j]!r} must be finite (got {X[i, j]})")
    return X, tuple(colnames)


def _tau2_of(estimate) -> float:
    """Read tau^2 from the estimator's result object (or a bare float)."""
    value = getattr(estimate, "tau2", estimate)
    return float(value)


@dataclass(frozen=True)
class WLSFit:
    """Weighted least-squares fit of a meta-regression at a given tau^2 (internal)."""

    beta: np.ndarray
    vcov: np.ndarray
    s2w: float
    unscaled_vcov: np.ndarray


def wls_fit(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float, ci: str) -> WLSFit:
    """Coefficients and covariance at fixed tau^2; ``s2w`` is the Knapp-Hartung factor (1 under z)."""
    w = 1.0 / (vi + tau2)
    XtW = X.T * w
    unscaled = np.linalg.inv(XtW @ X)
    beta = unscaled @ (XtW @ yi)
    s2w = 1.0
    if ci in ("knha", "adhoc"):
        k, p = X.shape
        rss = float(np.sum(w * (yi - X @ beta) ** 2))
        s2w = 0.0 if rss <= np.finfo(float).eps else (rss / (k - p) if k > p else np.nan)
        if ci == "adhoc":
            s2w = max(1.0, s2w)
    return WLSFit(beta=beta, vcov=s2w * unscaled, s2w=s2w, unscaled_vcov=unscaled)


def residual_heterogeneity(yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> tuple[float, float]:
    """Return (QE, typical within-study variance ``(k - p) / tr(P)``) with weights 1/v_i."""
    k, p = X.shape
    if k <= p:
        return 0.0, 0.0
    w = 1.0 / vi
    XtW = X.T * w
    A = np.linalg.inv(XtW @ X)
    beta = A @ (XtW @ yi)
    qe = max(0.0, float(np.sum(w * (yi - X @ beta) ** 2)))
    trace_p = float(np.sum(w) - np.trace(A @ (XtW * w) @ X))
    return qe, (k - p) / trace_p


def fit_tau2(yi, vi, X, method: str, tau2: float | None, **tau2_options) -> float:
    """tau^2 for the model: fixed, zero for the common-effect model, else estimated."""
    if tau2 is not None:
        return float(tau2)
    if method == "EE":
        return 0.0
    return _tau2_of(estimate_tau2(yi, vi, method, X=X, **tau2_options))


@dataclass(frozen=True)
class MetaRegressionResult:
    """Result of :func:`meta_regression` (field names follow PoolResult where they overlap)."""

    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    vcov: np.ndarray
    tau2: float
    qm: float
    qm_df: int
    qm_pval: float
    qe: float
    qe_df: int
    qe_pval: float
    i2: float
    h2: float
    r2: float | None
    k: int
    p: int
    df: int | None
    btt: tuple[int, ...]
    method: str
    ci: str
    level: float
    s2w: float = field(repr=False)
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)

    @property
    def fitted(self) -> np.ndarray:
        """Fitted values ``X beta``."""
        return self.X @ self.coef

    def to_frame(self) -> pd.DataFrame:
        """Coefficient table, one row per coefficient."""
        stat = "t" if self.df is not None else "z"
        return pd.DataFrame(
            {
                "estimate": self.coef,
                "se": self.se,
                stat: self.statistic,
                "pval": self.pval,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            },
            index=pd.Index(self.names, name="coefficient"),
        )

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text())

    def summary_text(self) -> str:
        """Plain-text report of the fit."""
        qm_test = (
            f"F({self.qm_df}, {self.df}) = {self.qm:.4f}" if self.df is not None
            else f"QM(df = {self.qm_df}) = {self.qm:.4f}"
        )
        lines = [
            f"Meta-regression (k = {self.k}, tau^2 estimator {self.method}, {self.ci} inference)",
            f"tau^2 = {self.tau2:.4g}, I^2 = {self.i2:.2f}%, H^2 = {self.h2:.4g}"
            + (f", R^2 = {self.r2:.2f}%" if self.r2 is not None else ""),
            f"Residual heterogeneity: QE(df = {self.qe_df}) = {self.qe:.4f}, p = {self.qe_pval:.4g}",
            f"Test of moderators (coefficients {', '.join(self.names[j] for j in self.btt)}): "
            f"{qm_test}, p = {self.qm_pval:.4g}",
            self.to_frame().to_string(float_format=lambda x: f"{x:.4f}"),
        ]
        return "\n".join(lines)


def meta_regression(
    yi,
    vi,
    mods=None,
    *,
    intercept: bool = True,
    names: Sequence[str] | None = None,
    method: str = "REML",
    ci: str = "z",
    level: float = 0.95,
    tau2: float | None = None,
    btt: Sequence[int] | None = None,
    labels: Sequence | None = None,
    **tau2_options,
) -> MetaRegressionResult:
    """Fit a meta-regression of ``yi`` on study-level moderators.

    Parameters mirror metafor's ``rma(yi, vi, mods = ..., method, test, level,
    tau2, btt)``. ``btt`` holds 0-based indices of the coefficients tested by the
    omnibus ``QM`` test (default: all but the intercept). ``tau2`` fixes tau^2.
    Extra keyword arguments go to ``estimate_tau2``.
    """
    y, v = check_yi_vi(yi, vi, labels=labels)
    if ci not in _CI_METHODS:
        raise ValueError(f"ci must be one of {_CI_METHODS} (got {ci!r})")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1) (got {level})")
    if tau2 is not None and not (np.isfinite(tau2) and tau2 >= 0):
        raise ValueError(f"a fixed tau2 must be finite and non-negative (got {tau2})")
    k = y.size
    X, colnames = design_matrix(mods, k, intercept=intercept, names=names)
    p = X.shape[1]
    if k < p:
        raise ValueError(f"the model has {p} coefficients but only k = {k} studies")
    if np.linalg.matrix_rank(X) < p:
        raise ValueError("the moderators are linearly dependent (design matrix not of full column rank)")

    if btt is None:
        btt_idx = tuple(range(1, p)) if (intercept and p > 1) else tuple(range(p))
    else:
        btt_idx = tuple(sorted({int(j) for j in btt}))
        if not btt_idx or min(btt_idx) < 0 or max(btt_idx) >= p:
            raise ValueError(f"btt must index coefficients 0..{p - 1} (got {tuple(btt)})")
    m = len(btt_idx)

    t2 = fit_tau2(y, v, X, method, tau2, **tau2_options)
    fit = wls_fit(y, v, X, t2, ci)
    beta, vb = fit.beta, fit.vcov
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    sub = np.ix_(btt_idx, btt_idx)
    qm = float(beta[list(btt_idx)] @ np.linalg.solve(vb[sub], beta[list(btt_idx)]))
    alpha = 1.0 - level
    if ci == "z":
        df = None
        pval = 2.0 * stats.norm.sf(np.abs(stat))
        crit = stats.norm.isf(alpha / 2)
        qm_pval = float(stats.chi2.sf(qm, m))
    else:
        df = k - p
        qm = qm / m
        if df > 0:
            pval = 2.0 * stats.t.sf(np.abs(stat), df)
            crit = stats.t.isf(alpha / 2, df)
            qm_pval = float(stats.f.sf(qm, m, df))
        else:
            pval = np.full(p, np.nan)
            crit = np.nan
            qm_pval = np.nan

    qe, vt = residual_heterogeneity(y, v, X)
    qe_df = k - p
    if k > p:
        qe_pval = float(stats.chi2.sf(qe, qe_df))
        if method == "EE" and tau2 is None:
            i2 = max(0.0, 100.0 * (qe - qe_df) / qe) if qe > 0 else 0.0
            h2 = qe / qe_df
        else:
            i2 = 100.0 * t2 / (vt + t2)
            h2 = t2 / vt + 1.0
    else:
        qe_pval, i2, h2 = 1.0, 0.0, 1.0

    r2 = _r_squared(y, v, X, intercept, method, t2, tau2_options)
    return MetaRegressionResult(
        names=colnames,
        coef=beta,
        se=se,
        statistic=stat,
        pval=pval,
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        vcov=vb,
        tau2=t2,
        qm=qm,
        qm_df=m,
        qm_pval=qm_pval,
        qe=qe,
        qe_df=qe_df,
        qe_pval=qe_pval,
        i2=i2,
        h2=h2,
        r2=r2,
        k=k,
        p=p,
        df=df,
        btt=btt_idx,
        method=method,
        ci=ci,
        level=level,
        s2w=fit.s2w,
        yi=_frozen(y),
        vi=_frozen(v),
        X=_frozen(X),
    )


def _r_squared(y, v, X, intercept: bool, method: str, tau2: float, tau2_options) -> float | None:
    """Pseudo-R^2 in percent (None for intercept-only models or models without intercept)."""
    k, p = X.shape
    if not intercept or p == 1:
        return None
    if method == "EE":
        # adjusted R^2 of the weighted least-squares regression, weights 1 / v_i
        w = 1.0 / v
        if np.all(y == y[0]):
            return 0.0
        XtW = X.T * w
        beta = np.linalg.solve(XtW @ X, XtW @ y)
        rss = float(np.sum(w * (y - X @ beta) ** 2))
        ybar = float(np.sum(w * y) / np.sum(w))
        tss = float(np.sum(w * (y - ybar) ** 2))
        adj = 1.0 - (rss / (k - p)) / (tss / (k - 1))
        return max(0.0, 100.0 * adj)
    tau2_re = fit_tau2(y, v, np.ones((k, 1)), method, None, **tau2_options)
    if tau2_re == 0:
        return 0.0
    return max(0.0, 100.0 * (tau2_re - tau2) / tau2_re)
