"""Row-wise numerical kernel of the intercept-only random-effects model.

All functions take ``(n, k)`` arrays ``Y`` (effects) and ``V`` (sampling variances) holding ``n``
meta-analyses of the same number of studies ``k`` (no padding) and return arrays of length ``n``.
Every quantity of a row depends on that row only, so a meta-analysis gives bit-for-bit the same numbers
whether it is fitted alone or among many.

Model: y_i = mu + u_i + e_i, u_i ~ N(0, tau^2), e_i ~ N(0, v_i). With w_i = 1/(v_i + tau^2) the
projection P = W - w w'/sum(w) gives the generalised Q = y'Py = sum w_i (y_i - mu_hat)^2 and the
identities used below: tr(P) = S1 - S2/S1, sum(P*P) = S2 - 2 S3/S1 + S2^2/S1^2, y'PPy = sum (w_i r_i)^2,
where Sj = sum w_i^j and r_i = y_i - mu_hat.
"""

from __future__ import annotations

import numpy as np
from scipy import special


EPS = np.finfo(float).eps


def _weighted(Y: np.ndarray, V: np.ndarray, t: np.ndarray):
    w = 1.0 / (V + t[:, None])
    sw = w.sum(axis=1)
    mu = (w * Y).sum(axis=1) / sw
    r = Y - mu[:, None]
    return w, sw, mu, r


def weighted_stats(Y: np.ndarray, V: np.ndarray, t: np.ndarray, percent: bool = False) -> dict[str, np.ndarray]:
    """With w_i = 1/(v_i + t): sw = sum w, mu = sum w y / sw, q = sum w (y - mu)^2, s2 = sum w^2,
    s3 = sum w^3 per row and, with ``percent``, the weights in percent (a compiled row loop: numpy's
    reductions over a handful of studies per row cost more than the arithmetic)."""
    from . import _compiled

    n, k = Y.shape
    out = {name: np.empty(n) for name in ("sw", "mu", "q", "s2", "s3")}
    pct = np.empty((n, k)) if percent else np.empty((1, k))
    _compiled.weighted_rows(np.ascontiguousarray(Y), np.ascontiguousarray(V), np.ascontiguousarray(t, dtype=float),
                            out["sw"], out["mu"], out["q"], out["s2"], out["s3"], pct, bool(percent))
    if percent:
        out["weights"] = pct
    return out


# Whole degrees of freedom up to which chi2_sf uses the compiled finite sums, and the statistic beyond which
# exp(-x/2) nears the underflow of double precision (there scipy's incomplete gamma function is used).
CHI2_SUM_MAX_DF = 100
CHI2_SUM_MAX_X = 1400.0


def chi2_sf(df: int, x: np.ndarray) -> np.ndarray:
    """P(X > x) for a chi-square variable with whole ``df`` degrees of freedom: the finite sums of
    :func:`netevidence.pooling._compiled.chi2_sf_rows` (a third of the time of ``scipy.special.chdtrc``,
    agreeing with it to 2e-13 relative), ``chdtrc`` beyond ``CHI2_SUM_MAX_DF`` or ``CHI2_SUM_MAX_X``."""
    x = np.ascontiguousarray(x, dtype=float)
    if df > CHI2_SUM_MAX_DF or df < 1:
        return special.chdtrc(df, x)
    from . import _compiled

    out = np.empty(x.shape)
    _compiled.chi2_sf_rows(int(df), x, out)
    big = x > CHI2_SUM_MAX_X
    if big.any():
        out[big] = special.chdtrc(df, x[big])
    return out


# --------------------------------------------------------------------------- common-effect quantities


def fe_stats(Y: np.ndarray, V: np.ndarray) -> dict[str, np.ndarray]:
    """Cochran's Q with inverse-variance weights, tr(P), sum(P*P) and the typical within-study variance.

    The typical variance is vt = (k - 1) / tr(P) (Higgins and Thompson, Statistics in Medicine, 2002),
    the definition behind metafor's I^2.
    """
    k = Y.shape[1]
    st = weighted_stats(Y, V, np.zeros(Y.shape[0]))
    sw, s2, s3 = st["sw"], st["s2"], st["s3"]
    q = np.maximum(0.0, st["q"])
    trp = sw - s2 / sw
    spp = s2 - 2.0 * s3 / sw + (s2 / sw) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        vt = (k - 1) / trp if k > 1 else np.zeros_like(q)
    return {"sw": sw, "q": q, "trp": trp, "spp": spp, "vt": vt}


# --------------------------------------------------------------------------- non-iterative estimators


def tau2_dl(Y, V, fe):
    """DerSimonian and Laird (Controlled Clinical Trials, 1986): method of moments on Cochran's Q."""
    k = Y.shape[1]
    trp = fe["trp"]
    tau2 = np.maximum(0.0, (fe["q"] - (k - 1)) / trp)
    spp = fe["spp"]
    se = np.sqrt(2.0 * (k - 1) + 4.0 * tau2 * trp + 2.0 * tau2**2 * spp) / trp
    return tau2, se


def tau2_hs(Y, V, fe):
    """Hunter and Schmidt (Methods of Meta-Analysis, 2004): (Q - k) / sum(w)."""
    k = Y.shape[1]
    tau2 = np.maximum(0.0, (fe["q"] - k) / fe["sw"])
    spp = fe["spp"]
    se = np.sqrt(2.0 * (k - 1) + 4.0 * tau2 * fe["trp"] + 2.0 * tau2**2 * spp) / fe["sw"]
    return tau2, se


def tau2_he(Y, V):
    """Hedges (Psychological Bulletin, 1983): unweighted method of moments."""
    k = Y.shape[1]
    r = Y - Y.mean(axis=1)[:, None]
    rss = (r * r).sum(axis=1)
    sv = V.sum(axis=1)
    trpv = sv - sv / k
    trpvpv = (V * V).sum(axis=1) * (1.0 - 2.0 / k) + (sv / k) ** 2
    tau2 = np.maximum(0.0, (rss - trpv) / (k - 1))
    se = np.sqrt(2.0 * trpvpv + 4.0 * tau2 * trpv + 2.0 * tau2**2 * (k - 1)) / (k - 1)
    return tau2, se


def tau2_sj(Y, V):
    """Sidik and Jonkman (Journal of Biopharmaceutical Statistics, 2005), one step from the sample variance.

    The standard error is that of the quadratic form at the estimate; the row loop is compiled
    (:func:`netevidence.pooling._compiled.sj_rows`).
    """
    from . import _compiled

    n = Y.shape[0]
    tau2, se = np.empty(n), np.empty(n)
    _compiled.sj_rows(np.ascontiguousarray(Y), np.ascontiguousarray(V), tau2, se)
    return tau2, se


# --------------------------------------------------------------------------- iterative estimators


def solve_q(Y, V, q0, target, start, *, tol, max_iter):
    """tau^2 >= 0 with Q(tau^2) = target (0 where Q(0) <= target): Paule and Mandel (1982)."""
    n = Y.shape[0]
    out = np.zeros(n)
    conv = np.ones(n, dtype=bool)
    rows = np.flatnonzero(q0 > target)
    if rows.size:
        from . import _compiled

        x = np.empty(rows.size)
        c = np.empty(rows.size, dtype=bool)
        sub = rows.size < n
        _compiled.q_rows(Y[rows] if sub else Y, V[rows] if sub else V, np.ascontiguousarray(target[rows]),
                         np.ascontiguousarray(start[rows]), float(tol), int(max_iter), x, c)
        out[rows] = x
        conv[rows] = c
    return out, conv


def tau2_pm(Y, V, fe, *, tol, max_iter):
    """Paule and Mandel (Journal of Research of the NBS, 1982): generalised Q equal to k - 1.

    The empirical Bayes estimator of Morris (JASA, 1983) solves the same equation (Viechtbauer et al.,
    Research Synthesis Methods, 2015), so method="EB" gives the same value.
    """
    k = Y.shape[1]
    n = Y.shape[0]
    start, _ = tau2_dl(Y, V, fe)
    tau2, conv = solve_q(Y, V, fe["q"], np.full(n, float(k - 1)), start, tol=tol, max_iter=max_iter)
    se = np.sqrt(2.0 * k * k / (k - 1)) / weighted_stats(Y, V, tau2)["sw"]
    return tau2, se, conv


def loglik(Y, V, tau2, restricted: bool) -> np.ndarray:
    """(Restricted) log-likelihood of the intercept-only random-effects model (Harville, JASA, 1977)."""
    k = Y.shape[1]
    w, sw, _, r = _weighted(Y, V, tau2)
    q = (w * r * r).sum(axis=1)
    ll = -0.5 * np.log(V + tau2[:, None]).sum(axis=1) - 0.5 * q
    if restricted:
        return ll - 0.5 * (k - 1) * np.log(2 * np.pi) - 0.5 * np.log(sw)
    return ll - 0.5 * k * np.log(2 * np.pi)


# Relative grid on which the score is scanned for sign changes (multiples of a data-based scale U).
SCAN = np.array([0.002, 0.005, 0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3, 0.45, 0.65, 1.0, 1.5, 2.5, 5.0])


def tau2_ml(Y, V, fe, *, restricted: bool, tol, max_iter):
    """(Restricted) maximum likelihood by safeguarded Newton/Fisher scoring (Viechtbauer, JEBS, 2005).

    The (restricted) likelihood of tau^2 can have more than one local maximum. The score is scanned at
    0 and on a grid of multiples of U = max(tau2_HE, tau2_DL, sample variance of y); every interval
    where it turns from positive to non-positive (and the region beyond the grid when it is still
    positive there) holds a local maximum, which the bracketed iteration then finds. tau^2 = 0 is a
    candidate when the score at 0 is <= 0. The candidate with the largest likelihood is returned.
    The standard error is sqrt(2 / tr(PP)) (REML) or sqrt(2 / sum w^2) (ML), the inverse expected
    information at the estimate. The row loop is compiled (:mod:`netevidence.pooling._compiled`).
    """
    from . import _compiled

    n = Y.shape[0]
    tau2 = np.empty(n)
    se = np.empty(n)
    conv = np.empty(n, dtype=bool)
    _compiled.ml_rows(np.ascontiguousarray(Y), np.ascontiguousarray(V), fe["q"], fe["trp"], SCAN, bool(restricted),
                      float(tol), int(max_iter), tau2, se, conv)
    return tau2, se, conv


def estimate_rows(Y, V, method: str, fe, *, tol, max_iter):
    """tau^2, its standard error and convergence flags for every row (k >= 2)."""
    n = Y.shape[0]
    ones = np.ones(n, dtype=bool)
    if method == "EE":
        return np.zeros(n), np.full(n, np.nan), ones
    if method == "DL":
        return (*tau2_dl(Y, V, fe), ones)
    if method == "HE":
        return (*tau2_he(Y, V), ones)
    if method == "HS":
        return (*tau2_hs(Y, V, fe), ones)
    if method == "SJ":
        return (*tau2_sj(Y, V), ones)
    if method in ("PM", "EB"):
        return tau2_pm(Y, V, fe, tol=tol, max_iter=max_iter)
    if method in ("ML", "REML"):
        return tau2_ml(Y, V, fe, restricted=method == "REML", tol=tol, max_iter=max_iter)
    raise ValueError(f"unknown method {method!r}")


# --------------------------------------------------------------------------- the fit


def fit_rows(Y, V, *, method, ci, level, pi, i2, tau2_fixed, tol, max_iter) -> dict[str, np.ndarray]:
    """Everything pool() reports except the Q-profile intervals, for rows of equal k."""
    n, k = Y.shape
    fe = fe_stats(Y, V)
    if tau2_fixed is not None:
        tau2 = np.full(n, float(tau2_fixed))
        tau2_se = np.full(n, np.nan)
        conv = np.ones(n, dtype=bool)
    elif k == 1:
        tau2 = np.zeros(n)
        tau2_se = np.full(n, np.nan)
        conv = np.ones(n, dtype=bool)
    else:
        tau2, tau2_se, conv = estimate_rows(Y, V, method, fe, tol=tol, max_iter=max_iter)

    st = weighted_stats(Y, V, tau2, percent=True)
    sw, mu = st["sw"], st["mu"]
    se = np.sqrt(1.0 / sw)
    alpha = 1.0 - level
    if k == 1:
        ci = "z"
    if ci == "z":
        df = np.full(n, np.nan)
        crit = float(special.ndtri(1.0 - alpha / 2.0))
        stat = mu / se
        pval = 2.0 * special.ndtr(-np.abs(stat))
    else:
        rss = st["q"]
        s2w = np.where(rss <= EPS, 0.0, rss / (k - 1))
        if ci == "adhoc":
            s2w = np.maximum(s2w, 1.0)
        se = np.sqrt(s2w) * se
        df = np.full(n, float(k - 1))
        crit = float(special.stdtrit(k - 1, 1.0 - alpha / 2.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = mu / se
        pval = 2.0 * special.stdtr(k - 1, -np.abs(stat))
    half = crit * se
    # Prediction interval (metafor's predict(); Higgins, Thompson and Spiegelhalter, JRSS A, 2009).
    spred = np.sqrt(se * se + tau2)
    if pi == "default":
        pcrit = crit
    else:
        estimated = tau2_fixed is None and method != "EE"
        pdf = max(1, k - 2 if estimated else k - 1)
        pcrit = float(special.stdtrit(pdf, 1.0 - alpha / 2.0))

    q = fe["q"]
    if k > 1:
        q_pval = chi2_sf(k - 1, q)
        vt = fe["vt"]
        if i2 == "q" or method == "EE" and tau2_fixed is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                i2v = np.where(q > k - 1, 100.0 * (q - (k - 1)) / q, 0.0)
            h2 = q / (k - 1)
        else:
            i2v = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
    else:
        q = np.zeros(n)
        q_pval = np.ones(n)
        vt = np.zeros(n)
        i2v = np.zeros(n)
        h2 = np.ones(n)

    return {
        "estimate": mu,
        "se": se,
        "ci_low": mu - half,
        "ci_high": mu + half,
        "statistic": stat,
        "pval": pval,
        "df": df,
        "pi_low": mu - pcrit * spred,
        "pi_high": mu + pcrit * spred,
        "tau2": tau2,
        "tau2_se": tau2_se,
        "i2": i2v,
        "h2": h2,
        "q": q,
        "q_df": np.full(n, k - 1, dtype=np.int64),
        "q_pval": q_pval,
        "vt": vt,
        "weights": st["weights"],
        "converged": conv,
        "ci_used": ci,
    }
