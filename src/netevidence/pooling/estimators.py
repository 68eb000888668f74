"""Estimators of the between-study variance tau^2.

``estimate_tau2(yi, vi, method, X=None)`` covers the intercept-only model (``X=None``) and the
meta-regression model with a (k x p) design matrix ``X``. With W = diag(1/v_i), P = W - W X (X'WX)^-1 X'W
and Q = y'Py (Cochran's Q, or the residual heterogeneity statistic QE):

- ``DL``  DerSimonian and Laird (Controlled Clinical Trials, 1986): (Q - (k - p)) / tr(P).
- ``HE``  Hedges (Psychological Bulletin, 1983): (RSS_OLS - tr(P_OLS V)) / (k - p).
- ``HS``  Hunter and Schmidt (Methods of Meta-Analysis, 2004): (Q - k) / sum(1/v_i).
- ``SJ``  Sidik and Jonkman (Journal of Biopharmaceutical Statistics, 2005): tau0 y'P(tau0)y / (k - p)
          with tau0 the sample variance of y (divisor k).
- ``ML``, ``REML``  maximum and restricted maximum likelihood (Harville, JASA, 1977; Viechtbauer, Journal
          of Educational and Behavioral Statistics, 2005), Fisher scoring safeguarded by a bracket.
- ``PM``  Paule and Mandel (Journal of Research of the National Bureau of Standards, 1982): the
          generalised Q-statistic equals k - p.
- ``EB``  empirical Bayes (Morris, JASA, 1983; Berkey et al., Statistics in Medicine, 1995); its
          estimating equation k/(k-p) Q(tau^2) = k is the Paule-Mandel equation (Viechtbauer et al.,
          Research Synthesis Methods, 2015), so EB and PM coincide.
- ``EE``  the equal-effects (common-effect) model: tau^2 = 0.

Negative moment estimates are truncated at 0. Standard errors follow the large-sample formulas that
metafor reports as ``se.tau2`` (for the moment estimators: the variance of the quadratic form at the
estimate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _kernel
from ._solve import bracketed_root
from ._validate import METHODS, check_iteration, design_matrix, study_arrays

__all__ = [
    "Tau2Estimate",
    "estimate_tau2",
    "tau2_dl",
    "tau2_he",
    "tau2_hs",
    "tau2_sj",
    "tau2_ml",
    "tau2_reml",
    "tau2_pm",
    "tau2_eb",
    "METHODS",
]


@dataclass(frozen=True)
class Tau2Estimate:
    """A tau^2 estimate with its standard error (NaN where none is defined: EE, k <= p)."""

    tau2: float
    se: float
    method: str
    converged: bool

    def __float__(self) -> float:
        return self.tau2


def estimate_tau2(yi, vi, method: str = "REML", *, X=None, max_iter: int = 100, tol: float = 1e-10) -> Tau2Estimate:
    """Estimate tau^2 for the intercept-only model (``X=None``) or a meta-regression with design ``X``.

    With k <= p (e.g. a single study) tau^2 is not identifiable and 0 is returned, as metafor does for k = 1.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    check_iteration(max_iter, tol)
    y, v = study_arrays(yi, vi)
    k = y.size
    A = design_matrix(X, k)
    p = 1 if A is None else A.shape[1]
    if method == "EE" or k <= p:
        return Tau2Estimate(0.0, float("nan"), method, True)
    if A is None:
        Y, V = y[None, :], v[None, :]
        fe = _kernel.fe_stats(Y, V)
        tau2, se, conv = _kernel.estimate_rows(Y, V, method, fe, tol=tol, max_iter=max_iter)
        return Tau2Estimate(float(tau2[0]), float(se[0]), method, bool(conv[0]))
    if k - p < 1:
        raise ValueError(f"method {method} needs more studies than coefficients (k = {k}, p = {p})")
    return _estimate_general(y, v, A, method, tol=tol, max_iter=max_iter)


def _method_function(method: str):
    def f(yi, vi, *, X=None, max_iter: int = 100, tol: float = 1e-10) -> Tau2Estimate:
        return estimate_tau2(yi, vi, method, X=X, max_iter=max_iter, tol=tol)

    f.__name__ = f"tau2_{method.lower()}"
    f.__doc__ = f"tau^2 by the {method} estimator; see :func:`estimate_tau2`."
    return f


tau2_dl = _method_function("DL")
tau2_he = _method_function("HE")
tau2_hs = _method_function("HS")
tau2_sj = _method_function("SJ")
tau2_ml = _method_function("ML")
tau2_reml = _method_function("REML")
tau2_pm = _method_function("PM")
tau2_eb = _method_function("EB")


# --------------------------------------------------------------------------- general design matrix


def _projection(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    WX = X * w[:, None]
    return np.diag(w) - WX @ np.linalg.solve(X.T @ WX, WX.T)


def _quad_se(c: float, PV: np.ndarray, P: np.ndarray, tau2: float) -> float:
    """sqrt(c^2 (2 tr(PVPV) + 4 tau2 sum(PV*P) + 2 tau2^2 sum(P*P)))."""
    return c * float(np.sqrt(2.0 * np.sum(PV * PV.T) + 4.0 * tau2 * np.sum(PV * P) + 2.0 * tau2**2 * np.sum(P * P)))


def _estimate_general(y, v, X, method, *, tol, max_iter) -> Tau2Estimate:
    k, p = X.shape
    yc = y - y.mean()
    w0 = 1.0 / v
    P0 = _projection(w0, X)
    q0 = float(yc @ P0 @ yc)
    V = np.diag(v)
    if method == "DL":
        trp = float(np.trace(P0))
        tau2 = max(0.0, (q0 - (k - p)) / trp)
        se = float(np.sqrt(2.0 * (k - p) + 4.0 * tau2 * trp + 2.0 * tau2**2 * np.sum(P0 * P0))) / trp
        return Tau2Estimate(tau2, se, method, True)
    if method == "HS":
        sw = float(w0.sum())
        tau2 = max(0.0, (q0 - k) / sw)
        se = float(np.sqrt(2.0 * (k - p) + 4.0 * tau2 * np.trace(P0) + 2.0 * tau2**2 * np.sum(P0 * P0))) / sw
        return Tau2Estimate(tau2, se, method, True)
    if method in ("HE", "ML", "REML"):
        Pols = np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)
        PV = Pols @ V
        he = max(0.0, (float(yc @ Pols @ yc) - float(np.trace(PV))) / (k - p))
        if method == "HE":
            se = float(np.sqrt(2.0 * np.sum(PV * PV.T) + 4.0 * he * np.trace(PV) + 2.0 * he**2 * (k - p))) / (k - p)
            return Tau2Estimate(he, se, method, True)
        return _ml_general(y, v, X, he, restricted=method == "REML", tol=tol, max_iter=max_iter)
    if method == "SJ":
        t0 = float(np.mean(yc * yc))
        P = _projection(1.0 / (v + t0), X)
        tau2 = max(0.0, t0 * float(yc @ P @ yc) / (k - p))
        return Tau2Estimate(tau2, _quad_se(t0 / (k - p), P @ V, P, tau2), method, True)
    if method in ("PM", "EB"):
        target = float(k - p)
        if q0 <= target:
            tau2, conv = 0.0, True
        else:
            x, c = bracketed_root(_q_fn(yc, v, X, target), np.zeros(1), np.zeros(1), np.array([v.mean()]),
                                  tol=tol, max_iter=max_iter)
            tau2, conv = float(x[0]), bool(c[0])
        sw = float(np.sum(1.0 / (v + tau2)))
        return Tau2Estimate(tau2, float(np.sqrt(2.0 * k * k / (k - p))) / sw, method, conv)
    raise ValueError(f"unknown method {method!r}")


def _q_fn(y, v, X, target):
    def fn(rows, x):
        g = np.empty(rows.size)
        d = np.empty(rows.size)
        for j, t in enumerate(x):
            Py = _projection(1.0 / (v + t), X) @ y
            g[j] = y @ Py - target
            d[j] = Py @ Py
        with np.errstate(divide="ignore", invalid="ignore"):
            return g, g / d

    return fn


def _score_fn(y, v, X, restricted):
    def fn(rows, x):
        g = np.empty(rows.size)
        s = np.empty(rows.size)
        for j, t in enumerate(x):
            w = 1.0 / (v + t)
            P = _projection(w, X)
            Py = P @ y
            if restricted:
                g[j] = Py @ Py - np.trace(P)
                s[j] = g[j] / np.sum(P * P)
            else:
                g[j] = Py @ Py - w.sum()
                s[j] = g[j] / np.sum(w * w)
        return g, s

    return fn


def _loglik_general(y, v, X, t, restricted):
    w = 1.0 / (v + t)
    P = _projection(w, X)
    k, p = X.shape
    ll = -0.5 * np.sum(np.log(v + t)) - 0.5 * float(y @ P @ y)
    if restricted:
        return ll - 0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(X.T @ (X * w[:, None]))[1]
    return ll - 0.5 * k * np.log(2 * np.pi)


def _ml_general(y, v, X, start, *, restricted, tol, max_iter) -> Tau2Estimate:
    """As the intercept-only kernel: scan the score, solve each local maximum in its bracket, keep the best."""
    k, p = X.shape
    yc = y - y.mean()
    fn = _score_fn(yc, v, X, restricted)
    P0 = _projection(1.0 / v, X)
    dl = max(0.0, (float(yc @ P0 @ yc) - (k - p)) / float(np.trace(P0)))
    u = max(start, dl, float(np.mean(yc * yc)))
    scale = float(v.mean())
    u = u if u > 0 else scale
    grid = np.concatenate([[0.0], u * _kernel.SCAN])
    g, _ = fn(np.zeros(grid.size, dtype=int), grid)
    pos = g > 0
    cands = [] if pos[0] else [(0.0, True)]
    for j in range(grid.size):
        if pos[j] and (j == grid.size - 1 or not pos[j + 1]):
            x, c = bracketed_root(fn, grid[j:j + 1], grid[j:j + 1], np.array([scale]), tol=tol, max_iter=max_iter)
            cands.append((float(x[0]), bool(c[0])))
    lls = [_loglik_general(yc, v, X, t, restricted) for t, _ in cands]
    tau2, conv = cands[int(np.argmax(lls))]
    w = 1.0 / (v + tau2)
    if restricted:
        P = _projection(w, X)
        se = float(np.sqrt(2.0 / np.sum(P * P)))
    else:
        se = float(np.sqrt(2.0 / np.sum(w * w)))
    return Tau2Estimate(tau2, se, "REML" if restricted else "ML", conv)
