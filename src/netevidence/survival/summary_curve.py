"""Summary survival curve from several single-arm studies.

Combescure C, Foucher Y, Jackson D. Meta-analysis of single-arm survival studies: a distribution-free
approach for estimating summary survival curves with random effects. Statistics in Medicine
2014;33:2521-37.

On a common grid 0 = t_0 < t_1 < ... < t_J, study i contributes, for every interval (t_{j-1}, t_j] it
follows, the conditional survival p_ij = S_i(t_j) / S_i(t_{j-1}) and the number at risk n_ij at t_{j-1}.
Each p_ij is arcsine transformed, y_ij = arcsin(sqrt(p_ij)) with within-study variance 1 / (4 n_ij);
conditional survivals of different intervals are (asymptotically) independent within a study. The
vectors y_i follow the multivariate random-effects model y_i = mu + b_i + e_i, b_i ~ N(0, Sigma),
and Sigma is estimated by the multivariate extension of DerSimonian and Laird's method of moments
(Jackson, White & Thompson, Statistics in Medicine 2010;29:1282-97), which allows studies with missing
intervals: with univariate weights w_ij = 1 / v_ij and Q_jl = sum_i w_ij (y_ij - ybar_j)(y_il - ybar_l),

    Sigma_jj = max(0, (Q_jj - (k_j - 1)) / (W_j - sum_i w_ij^2 / W_j)),
    Sigma_jl = Q_jl / sum_i w_ij (1 - u_ij - u_il + sum_m u_mj u_ml)   (u_ij = w_ij / W_j),

symmetrised and truncated to the nearest positive semi-definite matrix. mu is then the generalised least
squares estimate with V_i = diag(v_i) + Sigma. The summary curve is S(t_j) = prod_{l<=j} sin^2(mu_l); its
pointwise confidence interval is built on the log(-log) scale by the delta method (d log S_j / d mu_l =
2 cot mu_l); the median is read off the summary curve and its limits off the confidence curves.
Heterogeneity: per-interval I^2 from Q_jj and the multivariate H^2 = (det V_RE / det V_FE)^(1/J) of
Jackson, White & Riley (Statistics in Medicine 2012;31:3805-20), with I^2 = (H^2 - 1) / H^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..summary import Summary, summary_of
from .._arrays import readonly as _ro
from .analysis import survival_quantile

__all__ = ["StudyIntervals", "SummaryCurve", "study_intervals", "summary_curve"]


@dataclass(frozen=True)
class StudyIntervals:
    """One study's conditional survival per grid interval: ``survival`` S(t_j) at the grid times
    t_1..t_J and ``n_at_risk`` at the start of each interval (0 or NaN where the study has no follow-up).
    ``basis`` is ``"reconstructed"``, ``"published"`` or ``"model-based"``."""

    label: str
    survival: np.ndarray
    n_at_risk: np.ndarray
    basis: str = "reconstructed"


def study_intervals(time, event, grid, *, label: str = "study", basis: str = "reconstructed") -> StudyIntervals:
    """Kaplan-Meier survival at the grid times and numbers at risk at each interval's start, from
    individual (reconstructed) data. Intervals starting after the last observed time are missing."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    grid = np.asarray(grid, dtype=float)
    if np.any(np.diff(grid) <= 0) or grid[0] <= 0:
        raise ValueError(f"{label}: grid must be strictly increasing positive times")
    ut, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=e, minlength=len(ut))
    tot = np.bincount(inv, minlength=len(ut))
    nr = len(t) - np.concatenate(([0], np.cumsum(tot)[:-1]))
    s = np.cumprod(np.where(d > 0, 1 - d / nr, 1.0))
    idx = np.searchsorted(ut, grid, side="right") - 1
    surv = np.where(idx >= 0, s[np.maximum(idx, 0)], 1.0)
    starts = np.concatenate(([0.0], grid[:-1]))
    n_start = (len(t) - np.searchsorted(np.sort(t), starts, side="left")).astype(float)
    followed = grid <= t.max()
    surv = np.where(followed, surv, np.nan)
    n_start = np.where(followed, n_start, np.nan)
    return StudyIntervals(label=label, survival=_ro(surv), n_at_risk=_ro(n_start), basis=basis)


@dataclass(frozen=True)
class SummaryCurve:
    """Summary survival at the grid times with pointwise confidence interval, the median read off it,
    and heterogeneity."""

    time: np.ndarray
    survival: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    mu: np.ndarray
    mu_cov: np.ndarray
    tau2: np.ndarray  # between-study covariance matrix Sigma (arcsine scale)
    i2_interval: np.ndarray
    h2: float
    i2: float
    k: int
    level: float
    median: float
    median_ci_low: float
    median_ci_high: float
    model_based_studies: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "time": np.concatenate(([0.0], self.time)),
            "survival": np.concatenate(([1.0], self.survival)),
            "ci_low": np.concatenate(([1.0], self.ci_low)),
            "ci_high": np.concatenate(([1.0], self.ci_high)),
        })

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text())

    def summary_text(self) -> str:
        pct = int(round(self.level * 100))
        note = ""
        if self.model_based_studies:
            note = f"; model-based curves from: {', '.join(self.model_based_studies)}"
        return (f"Summary survival curve (Combescure et al. 2014), k={self.k}: median {self.median:.4g} "
                f"({pct}% CI {self.median_ci_low:.4g} to {self.median_ci_high:.4g}), I^2 {100 * self.i2:.1f}%"
                f"{note}")


def _psd(m: np.ndarray) -> np.ndarray:
    m = (m + m.T) / 2
    w, v = np.linalg.eigh(m)
    return (v * np.maximum(w, 0)) @ v.T


def summary_curve(studies, grid, *, level: float = 0.95) -> SummaryCurve:
    """Pool single-arm survival curves into a summary survival curve (Combescure et al., 2014).

    ``studies``: sequence of :class:`StudyIntervals` on ``grid`` (the interval ends t_1..t_J)."""
    studies = list(studies)
    grid = np.asarray(grid, dtype=float)
    J = len(grid)
    k = len(studies)
    if k == 0:
        raise ValueError("summary_curve: no studies")
    Y = np.full((k, J), np.nan)
    V = np.full((k, J), np.nan)
    for i, st in enumerate(studies):
        s = np.asarray(st.survival, dtype=float)
        n = np.asarray(st.n_at_risk, dtype=float)
        if s.shape != (J,) or n.shape != (J,):
            raise ValueError(f"study {i} ({st.label}): survival and n_at_risk must have one value per grid time")
        ok = np.isfinite(s) & np.isfinite(n) & (n > 0)
        if np.any((s[ok] < 0) | (s[ok] > 1)):
            raise ValueError(f"study {i} ({st.label}): survival must lie in [0, 1]")
        prev = np.concatenate(([1.0], s[:-1]))
        if np.any(ok & (s > prev + 1e-12)):
            raise ValueError(f"study {i} ({st.label}): survival must not increase over the grid")
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(prev > 0, s / prev, np.nan)
        ok &= np.isfinite(p) & (prev > 0)
        Y[i, ok] = np.arcsin(np.sqrt(np.clip(p[ok], 0, 1)))
        V[i, ok] = 1.0 / (4.0 * n[ok])
    obs = np.isfinite(Y)
    if not obs[:, 0].any() or not obs.any(axis=0).all():
        bad = int(np.argmax(~obs.any(axis=0)))
        raise ValueError(f"summary_curve: no study follows the interval ending at grid time {grid[bad]:g}")

    # multivariate DerSimonian-Laird (Jackson, White & Thompson 2010)
    W = np.where(obs, 1.0 / np.where(obs, V, 1.0), 0.0)
    Wj = W.sum(axis=0)
    U = W / Wj
    ybar = np.nansum(U * np.where(obs, Y, 0.0), axis=0)
    R = np.where(obs, Y - ybar, 0.0)
    Q = (W * R).T @ R  # Q_jl = sum_i w_ij r_ij r_il
    kj = obs.sum(axis=0)
    Sigma = np.zeros((J, J))
    q_diag = np.diag(Q)
    for j in range(J):
        denom = Wj[j] - np.sum(W[:, j] ** 2) / Wj[j]
        Sigma[j, j] = max(0.0, (q_diag[j] - (kj[j] - 1)) / denom) if denom > 0 else 0.0
        for m in range(J):
            if m == j:
                continue
            both = obs[:, j] & obs[:, m]
            if both.sum() < 2:
                continue
            cross = np.sum(U[both, j] * U[both, m])
            denom = np.sum(W[both, j] * (1 - U[both, j] - U[both, m] + cross))
            Qjm = np.sum(W[both, j] * R[both, j] * R[both, m])
            Sigma[j, m] = Qjm / denom if denom > 0 else 0.0
    Sigma = _psd(Sigma)

    def gls(S):
        A = np.zeros((J, J))
        b = np.zeros(J)
        for i in range(k):
            o = obs[i]
            Vi = S[np.ix_(o, o)] + np.diag(V[i, o])
            Wi = np.linalg.inv(Vi)
            A[np.ix_(o, o)] += Wi
            b[o] += Wi @ Y[i, o]
        cov = np.linalg.inv(A)
        return cov @ b, cov

    mu, cov = gls(Sigma)
    _, cov_fe = gls(np.zeros((J, J)))
    mu = np.clip(mu, 0.0, np.pi / 2)
    log_s = np.cumsum(2 * np.log(np.sin(mu)))
    surv = np.exp(log_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(mu > 0, 2.0 / np.tan(mu), 0.0)
        G = np.tril(np.ones((J, J))) * g  # d log S_j / d mu_l for l <= j
        var_log = np.einsum("jl,lm,jm->j", G, cov, G)
        z = norm.ppf(0.5 + level / 2)
        se_ll = np.sqrt(var_log) / np.abs(log_s)
        ll = np.log(-log_s)
        a, b = np.exp(-np.exp(ll + z * se_ll)), np.exp(-np.exp(ll - z * se_ll))
        lo = np.where(log_s < 0, np.minimum(a, b), 1.0)
        hi = np.where(log_s < 0, np.maximum(a, b), 1.0)
    lo = np.where(surv <= 0, 0.0, lo)
    hi = np.where(surv <= 0, 0.0, hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        i2j = np.where(q_diag > 0, np.maximum(0.0, (q_diag - (kj - 1)) / q_diag), 0.0)
    sign_re, logdet_re = np.linalg.slogdet(cov)
    sign_fe, logdet_fe = np.linalg.slogdet(cov_fe)
    h2 = float(np.exp((logdet_re - logdet_fe) / J))
    i2 = max(0.0, (h2 - 1) / h2)
    tg = np.concatenate(([0.0], grid))
    return SummaryCurve(
        time=_ro(grid), survival=_ro(surv), ci_low=_ro(lo), ci_high=_ro(hi), mu=_ro(mu), mu_cov=_ro(cov),
        tau2=_ro(Sigma), i2_interval=_ro(i2j), h2=h2, i2=i2, k=k, level=level,
        median=survival_quantile(tg, np.concatenate(([1.0], surv))),
        median_ci_low=survival_quantile(tg, np.concatenate(([1.0], lo))),
        median_ci_high=survival_quantile(tg, np.concatenate(([1.0], hi))),
        model_based_studies=tuple(s.label for s in studies if s.basis == "model-based"),
    )
