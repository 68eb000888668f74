"""Heterogeneity statistics: Q-profile confidence intervals for tau^2, I^2 and H^2.

The Q-profile interval (Viechtbauer, Statistics in Medicine, 2007) inverts the generalised Q-statistic
Q(tau^2) = sum w_i(tau^2) (y_i - mu_hat(tau^2))^2, w_i = 1/(v_i + tau^2), which follows a chi-square
distribution with k - p degrees of freedom at the true tau^2 and decreases in tau^2. The bounds solve

    Q(tau2_low) = chi2_{k-p; 1-alpha/2},   Q(tau2_high) = chi2_{k-p; alpha/2},

a bound being 0 when Q(0) already lies below its quantile (both are 0 when Q(0) < chi2_{k-p; alpha/2}).
The bounds carry over to I^2 = 100 tau^2 / (vt + tau^2) and H^2 = 1 + tau^2 / vt with the typical
within-study variance vt = (k - p) / tr(P) (Higgins and Thompson, Statistics in Medicine, 2002), as in
metafor's ``confint()``.

Unlike metafor, the upper search limit is not capped (metafor stops at ``tau2.max``, by default
max(100, 10 tau^2)): the bracket grows until it holds the root. The interval depends on the data only,
not on the tau^2 estimator, so it is reported for every method (metafor's confint() refuses EE fits).
With k = p (one study for an intercept-only model) any tau^2 is compatible with the data: the interval
is [0, inf), I^2 in [0, 100] and H^2 in [1, inf).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from . import _kernel
from ._solve import bracketed_root
from ._validate import check_iteration, check_level, design_matrix, study_arrays

__all__ = ["HeterogeneityCI", "tau2_confint", "i2_from_tau2", "h2_from_tau2"]


def i2_from_tau2(tau2, vt):
    """I^2 in percent from tau^2 and the typical within-study variance (Higgins and Thompson, 2002)."""
    tau2 = np.asarray(tau2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(np.isinf(tau2), 100.0, 100.0 * tau2 / (vt + tau2))
    return np.where(tau2 == 0, 0.0, out)


def h2_from_tau2(tau2, vt):
    """H^2 = 1 + tau^2 / vt (Higgins and Thompson, 2002)."""
    tau2 = np.asarray(tau2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 + tau2 / vt
    return np.where(tau2 == 0, 1.0, out)


def _qprofile_from(q0, df, level, solve) -> tuple[np.ndarray, np.ndarray]:
    """Shared logic of the two Q-profile paths; ``solve(rows, targets)`` finds Q(tau2) = target."""
    n = q0.shape[0]
    alpha = 1.0 - level
    crit_u = special.chdtri(df, alpha / 2.0)  # upper quantile: gives the lower bound
    crit_l = special.chdtri(df, 1.0 - alpha / 2.0)  # lower quantile: gives the upper bound
    lb = np.zeros(n)
    ub = np.zeros(n)
    need_ub = np.flatnonzero(q0 >= crit_l)
    need_lb = np.flatnonzero(q0 >= crit_u)
    rows = np.concatenate([need_lb, need_ub])
    targets = np.concatenate([np.full(need_lb.size, crit_u), np.full(need_ub.size, crit_l)])
    if rows.size:
        roots = solve(rows, targets)
        lb[need_lb] = roots[: need_lb.size]
        ub[need_ub] = roots[need_lb.size:]
    return lb, ub


def qprofile_rows(Y, V, q0, *, level, tol, max_iter):
    """Q-profile bounds for tau^2 for rows of equal k >= 2 (intercept-only model)."""
    k = Y.shape[1]

    def solve(rows, targets):
        x, _ = _kernel.solve_q(Y[rows], V[rows], np.full(rows.size, np.inf), targets, np.zeros(rows.size),
                               tol=tol, max_iter=max_iter)
        return x

    return _qprofile_from(q0, k - 1, level, solve)


def interval_rows(Y, V, q0, vt, *, level, tol, max_iter) -> dict[str, np.ndarray]:
    """tau^2, I^2 and H^2 intervals for rows of equal k (any k >= 1)."""
    n, k = Y.shape
    if k == 1:
        lb, ub = np.zeros(n), np.full(n, np.inf)
        return {"tau2_ci_low": lb, "tau2_ci_high": ub, "i2_ci_low": np.zeros(n), "i2_ci_high": np.full(n, 100.0),
                "h2_ci_low": np.ones(n), "h2_ci_high": np.full(n, np.inf)}
    lb, ub = qprofile_rows(Y, V, q0, level=level, tol=tol, max_iter=max_iter)
    return {
        "tau2_ci_low": lb,
        "tau2_ci_high": ub,
        "i2_ci_low": i2_from_tau2(lb, vt),
        "i2_ci_high": i2_from_tau2(ub, vt),
        "h2_ci_low": h2_from_tau2(lb, vt),
        "h2_ci_high": h2_from_tau2(ub, vt),
    }


@dataclass(frozen=True)
class HeterogeneityCI:
    """Q-profile confidence intervals for tau^2, I^2 (percent) and H^2."""

    tau2_ci_low: float
    tau2_ci_high: float
    i2_ci_low: float
    i2_ci_high: float
    h2_ci_low: float
    h2_ci_high: float
    level: float


def _projection(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    WX = X * w[:, None]
    return np.diag(w) - WX @ np.linalg.solve(X.T @ WX, WX.T)


def tau2_confint(yi, vi, *, X=None, level: float = 0.95, tol: float = 1e-10, max_iter: int = 100) -> HeterogeneityCI:
    """Q-profile confidence intervals for tau^2, I^2 and H^2 of one (meta-regression) model.

    ``X`` is a (k x p) design matrix (None: intercept only).
    """
    y, v = study_arrays(yi, vi)
    check_level(level)
    check_iteration(max_iter, tol)
    k = y.size
    A = design_matrix(X, k)
    if A is None:
        fe = _kernel.fe_stats(y[None, :], v[None, :])
        out = interval_rows(y[None, :], v[None, :], fe["q"], fe["vt"], level=level, tol=tol, max_iter=max_iter)
        return HeterogeneityCI(**{key: float(val[0]) for key, val in out.items()}, level=level)
    p = A.shape[1]
    if k <= p:
        return HeterogeneityCI(0.0, np.inf, 0.0, 100.0, 1.0, np.inf, level)
    P0 = _projection(1.0 / v, A)
    q0 = max(0.0, float(y @ P0 @ y))
    vt = (k - p) / float(np.trace(P0))

    def solve(rows, targets):
        def fn(idx, x):
            g = np.empty(idx.size)
            d = np.empty(idx.size)
            for j, (i, t) in enumerate(zip(idx, x)):
                P = _projection(1.0 / (v + t), A)
                Py = P @ y
                g[j] = y @ Py - targets[i]
                d[j] = Py @ Py
            with np.errstate(divide="ignore", invalid="ignore"):
                return g, g / d

        x, _ = bracketed_root(fn, np.zeros(rows.size), np.zeros(rows.size), np.full(rows.size, v.mean()),
                              tol=tol, max_iter=max_iter)
        return x

    lb, ub = _qprofile_from(np.array([q0]), k - p, level, solve)
    return HeterogeneityCI(
        float(lb[0]), float(ub[0]),
        float(i2_from_tau2(lb, vt)[0]), float(i2_from_tau2(ub, vt)[0]),
        float(h2_from_tau2(lb, vt)[0]), float(h2_from_tau2(ub, vt)[0]),
        level,
    )
