"""Compiled row loops for the iterative tau^2 estimators and the Q-profile roots.

Each function walks the rows of (n, k) arrays ``Y`` and ``V`` (one meta-analysis per row, no padding) and
solves every row on its own with scalar arithmetic, so a row's numbers never depend on the other rows.
The loops are compiled with numba (``nogil``: several threads can share the rows of one call).

The algorithms are those documented in :mod:`netevidence.pooling._kernel` and
:mod:`netevidence.pooling._solve`:

- ML/REML (Harville, JASA, 1977; Viechtbauer, JEBS, 2005): the (restricted) score is scanned at 0 and at
  ``U * SCAN``; every interval where it turns from positive to non-positive (and the region beyond the
  grid when it is still positive there) is searched by the safeguarded Newton/Fisher-scoring iteration;
  the candidate (with tau^2 = 0 when the score at 0 is <= 0) of largest likelihood wins, the first one
  on ties.
- Paule-Mandel (1982) and the Q-profile bounds (Viechtbauer, Statistics in Medicine, 2007): the
  generalised Q-statistic equals a target, Newton's method on 1/target - 1/Q(tau^2).

The bracketed iteration is the one of :func:`netevidence.pooling._solve.bracketed_root` (Press et al.,
Numerical Recipes, 3rd ed., 2007, section 9.4): the Newton step is taken when it lands strictly inside
the bracket [lo, hi] and the previous step halved |g|, bisection (or geometric growth while the bracket
is open above) otherwise.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

KIND_Q = 0
KIND_ML = 1
KIND_REML = 2

LOG_2PI = math.log(2.0 * math.pi)


@njit(cache=True, nogil=True, error_model="numpy")
def _evaluate(kind, y, v, x, target, w):
    """(g, proposed step) at tau^2 = x for one row; ``w`` is a work array of length k."""
    k = y.shape[0]
    _reciprocal_shift(v, x, w)
    sw = 0.0
    swy = 0.0
    for i in range(k):
        sw += w[i]
        swy += w[i] * y[i]
    mu = swy / sw
    if kind == KIND_Q:
        q = 0.0
        d = 0.0
        for i in range(k):
            wr = w[i] * (y[i] - mu)
            q += wr * (y[i] - mu)
            d += wr * wr
        return q - target, q * (q - target) / (target * d)
    ypp = 0.0
    swuu = 0.0
    swu = 0.0
    s2 = 0.0
    s3 = 0.0
    for i in range(k):
        wi = w[i]
        u = wi * (y[i] - mu)
        wu = wi * u
        ypp += u * u
        swuu += wu * u
        swu += wu
        w2 = wi * wi
        s2 += w2
        s3 += w2 * wi
    yppp = swuu - swu * swu / sw
    if kind == KIND_REML:
        g = ypp - (sw - s2 / sw)
        info = s2 - 2.0 * s3 / sw + (s2 / sw) ** 2
    else:
        g = ypp - sw
        info = s2
    curv = 2.0 * yppp - info
    return g, g / (curv if curv > 0 else info)


@njit(cache=True, nogil=True, error_model="numpy")
def _root(kind, y, v, target, x, lo, sc, tol, max_iter, w):
    """Safeguarded Newton iteration for g(x) = 0 from x >= lo with g(lo) >= 0: (root, converged)."""
    g, step = _evaluate(kind, y, v, x, target, w)
    hi = math.inf
    if g > 0:
        lo = max(lo, x)
    else:
        hi = x
    absg = abs(g)
    bisect = False
    for _ in range(max_iter + 1):
        xn = x + step
        inside = (xn > lo) and (xn < hi) and not bisect
        small = abs(step) <= tol * (abs(x) + sc)
        narrow = hi < math.inf and (hi - lo) <= tol * (abs(hi) + sc)
        mid = 0.5 * (lo + hi) if hi < math.inf else max(4.0 * lo, lo + sc)
        if narrow:
            return mid, True
        if small:
            return (xn if inside else x), True
        took = inside
        xn = xn if inside else mid
        g, step = _evaluate(kind, y, v, xn, target, w)
        ag = abs(g)
        bisect = took and ag > 0.5 * absg
        absg = ag
        if g > 0:
            lo = xn
        else:
            hi = xn
        x = xn
    return x, False


@njit(cache=True, nogil=True, error_model="numpy")
def _loglik(y, v, t, restricted):
    k = y.shape[0]
    sw = 0.0
    swy = 0.0
    for i in range(k):
        wi = 1.0 / (v[i] + t)
        sw += wi
        swy += wi * y[i]
    mu = swy / sw
    q = 0.0
    slog = 0.0
    for i in range(k):
        wi = 1.0 / (v[i] + t)
        q += wi * (y[i] - mu) * (y[i] - mu)
        slog += math.log(v[i] + t)
    ll = -0.5 * slog - 0.5 * q
    if restricted:
        return ll - 0.5 * (k - 1) * LOG_2PI - 0.5 * math.log(sw)
    return ll - 0.5 * k * LOG_2PI


@njit(cache=True, nogil=True, error_model="numpy")
def _scan(y, v, grid, restricted, W, sw, swy, s2, ypp, pos):
    """Whether the (restricted) score is positive at each tau^2 of ``grid``.

    Each inner loop runs over the grid and touches two or three arrays, so that it vectorises; ``W``
    (k, G) holds the weights 1/(v_i + grid_j).
    """
    k = y.shape[0]
    G = grid.shape[0]
    for i in range(k):
        _reciprocal_shift(grid, v[i], W[i])
    sw[:] = 0.0
    swy[:] = 0.0
    s2[:] = 0.0
    ypp[:] = 0.0
    for i in range(k):
        _accumulate(W[i], y[i], sw, swy, s2)
    for j in range(G):
        swy[j] = swy[j] / sw[j]
    for i in range(k):
        _accumulate_ypp(W[i], y[i], swy, ypp)
    for j in range(G):
        if restricted:
            pos[j] = ypp[j] > sw[j] - s2[j] / sw[j]
        else:
            pos[j] = ypp[j] > sw[j]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _reciprocal_shift(grid, vi, out):
    for j in range(grid.shape[0]):
        out[j] = 1.0 / (vi + grid[j])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _accumulate(w, yi, sw, swy, s2):
    for j in range(w.shape[0]):
        wj = w[j]
        sw[j] += wj
        swy[j] += wj * yi
        s2[j] += wj * wj


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _accumulate_ypp(w, yi, mu, ypp):
    for j in range(w.shape[0]):
        u = (yi - mu[j]) * w[j]
        ypp[j] += u * u


@njit(cache=True, nogil=True, error_model="numpy")
def ml_rows(Y, V, q, trp, scan, restricted, tol, max_iter, tau2, se, conv):
    """(Restricted) maximum likelihood for every row: tau^2, its standard error and convergence.

    ``q`` and ``trp`` are Cochran's Q and tr(P) at tau^2 = 0. The scan scale is U = max(tau2_HE, tau2_DL,
    sample variance of y (divisor k)), or the mean within-study variance when U = 0.
    """
    n, k = Y.shape
    G = scan.shape[0] + 1
    kind = KIND_REML if restricted else KIND_ML
    grid = np.empty(G)
    pos = np.empty(G, dtype=np.bool_)
    sw = np.empty(G)
    swy = np.empty(G)
    s2 = np.empty(G)
    ypp = np.empty(G)
    W = np.empty((k, G))
    wk = np.empty(k)
    for r in range(n):
        y = Y[r]
        v = V[r]
        sv = 0.0
        sy = 0.0
        for i in range(k):
            sv += v[i]
            sy += y[i]
        sc = sv / k
        ybar = sy / k
        rss = 0.0
        for i in range(k):
            rss += (y[i] - ybar) * (y[i] - ybar)
        he = max(0.0, (rss - (sv - sv / k)) / (k - 1))
        dl = max(0.0, (q[r] - (k - 1)) / trp[r])
        u = max(max(he, dl), rss / k)
        if not u > 0:
            u = sc
        grid[0] = 0.0
        for j in range(1, G):
            grid[j] = u * scan[j - 1]
        _scan(y, v, grid, restricted, W, sw, swy, s2, ypp, pos)
        ncand = 0 if pos[0] else 1
        for j in range(G):
            if pos[j] and (j == G - 1 or not pos[j + 1]):
                ncand += 1
        best_t = 0.0
        best_ll = math.nan
        best_cv = True
        have = False
        if not pos[0] and ncand > 1:
            best_ll = _loglik(y, v, 0.0, restricted)
            have = True
        for j in range(G):
            if pos[j] and (j == G - 1 or not pos[j + 1]):
                x, cv = _root(kind, y, v, 0.0, grid[j], grid[j], sc, tol, max_iter, wk)
                if ncand == 1:
                    best_t, best_cv = x, cv
                    break
                ll = _loglik(y, v, x, restricted)
                if not have or ll > best_ll or (math.isnan(best_ll) and not math.isnan(ll)):
                    best_t, best_ll, best_cv, have = x, ll, cv, True
        tau2[r] = best_t
        conv[r] = best_cv
        se[r] = _information_se(v, best_t, restricted, wk)


@njit(cache=True, nogil=True, error_model="numpy")
def _information_se(v, t, restricted, w):
    """sqrt(2 / tr(PP)) (REML) or sqrt(2 / sum w^2) (ML) at tau^2 = t (Harville, JASA, 1977)."""
    _reciprocal_shift(v, t, w)
    sw = 0.0
    s2 = 0.0
    s3 = 0.0
    for i in range(v.shape[0]):
        wi = w[i]
        sw += wi
        s2 += wi * wi
        s3 += wi * wi * wi
    if restricted:
        return math.sqrt(2.0 / (s2 - 2.0 * s3 / sw + (s2 / sw) ** 2))
    return math.sqrt(2.0 / s2)


@njit(cache=True, nogil=True, error_model="numpy")
def q_rows(Y, V, target, x0, tol, max_iter, out, conv):
    """tau^2 >= 0 with Q(tau^2) = target[r] from x0[r] for every row (the caller keeps Q(0) > target > 0)."""
    n, k = Y.shape
    wk = np.empty(k)
    for r in range(n):
        sc = 0.0
        for i in range(k):
            sc += V[r, i]
        sc /= k
        out[r], conv[r] = _root(KIND_Q, Y[r], V[r], target[r], max(x0[r], 0.0), 0.0, sc, tol, max_iter, wk)


@njit(cache=True, nogil=True, error_model="numpy")
def weighted_rows(Y, V, t, sw, mu, q, s2, s3, pct, percent):
    """Per row, with w_i = 1/(v_i + t): sum w, the weighted mean, sum w (y - mu)^2, sum w^2, sum w^3 and,
    when ``percent``, the weights in percent of their sum (into ``pct``)."""
    n, k = Y.shape
    w = np.empty(k)
    for r in range(n):
        y = Y[r]
        _reciprocal_shift(V[r], t[r], w)
        a = 0.0
        b = 0.0
        c2 = 0.0
        c3 = 0.0
        for i in range(k):
            wi = w[i]
            a += wi
            b += wi * y[i]
            c2 += wi * wi
            c3 += wi * wi * wi
        m = b / a
        qq = 0.0
        for i in range(k):
            d = y[i] - m
            qq += w[i] * d * d
        sw[r] = a
        mu[r] = m
        q[r] = qq
        s2[r] = c2
        s3[r] = c3
        if percent:
            for i in range(k):
                pct[r, i] = 100.0 * w[i] / a


@njit(cache=True, nogil=True, error_model="numpy")
def sj_rows(Y, V, tau2, se):
    """Sidik and Jonkman (2005) for every row: one step from the sample variance (divisor k), with the
    standard error of the quadratic form at the estimate."""
    n, k = Y.shape
    w = np.empty(k)
    for r in range(n):
        y = Y[r]
        v = V[r]
        sy = 0.0
        for i in range(k):
            sy += y[i]
        ybar = sy / k
        t0 = 0.0
        for i in range(k):
            t0 += (y[i] - ybar) * (y[i] - ybar)
        t0 /= k
        _reciprocal_shift(v, t0, w)
        sw = 0.0
        swy = 0.0
        for i in range(k):
            sw += w[i]
            swy += w[i] * y[i]
        mu = swy / sw
        q = 0.0
        s2 = 0.0
        s3 = 0.0
        w2vv = 0.0
        w3vv = 0.0
        w2v = 0.0
        w3v = 0.0
        for i in range(k):
            wi = w[i]
            d = y[i] - mu
            q += wi * d * d
            w2 = wi * wi
            w3 = w2 * wi
            s2 += w2
            s3 += w3
            w2vv += w2 * v[i] * v[i]
            w3vv += w3 * v[i] * v[i]
            w2v += w2 * v[i]
            w3v += w3 * v[i]
        t = max(0.0, t0 * q / (k - 1))
        a = w2vv - 2.0 * w3vv / sw + (w2v / sw) ** 2
        b = w2v - 2.0 * w3v / sw + s2 * w2v / (sw * sw)
        cc = s2 - 2.0 * s3 / sw + (s2 / sw) ** 2
        tau2[r] = t
        se[r] = t0 / (k - 1) * math.sqrt(2.0 * a + 4.0 * t * b + 2.0 * t * t * cc)


@njit(cache=True, nogil=True, error_model="numpy")
def copy_checked(Y, V, Yout, Vout, max_abs_y, v_low, v_high):
    """Copy ``Y`` and ``V`` into ``Yout`` and ``Vout`` in one pass, checking that every y is finite with
    |y| <= max_abs_y and every v lies in [v_low, v_high] (NaN and infinities fail both tests). Returns
    whether every value passed; the caller then names an offending value (or reads NaN as padding)."""
    n, k = Y.shape
    ok = True
    for r in range(n):
        for i in range(k):
            y = Y[r, i]
            v = V[r, i]
            Yout[r, i] = y
            Vout[r, i] = v
            if not (abs(y) <= max_abs_y and v >= v_low and v <= v_high):
                ok = False
    return ok


@njit(cache=True, nogil=True, error_model="numpy")
def chi2_sf_rows(df, x, out):
    """Upper tail P(X > x[r]) of the chi-square distribution with whole ``df`` degrees of freedom, from
    the finite sums of the incomplete gamma function at integer and half-integer shape (Abramowitz and
    Stegun, Handbook of Mathematical Functions, 1964, 26.4.4 and 26.4.5): for df = 2m,
    exp(-x/2) sum_{j<m} (x/2)^j / j!; for df = 2m + 1, erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2)
    sum_{j=1..m} x^(j-1) / (1 3 ... (2j-1)). Every term is positive, so nothing cancels."""
    half = 0.5 * df
    for r in range(x.shape[0]):
        xr = x[r]
        if xr != xr:  # NaN
            out[r] = xr
            continue
        if xr <= 0.0:
            out[r] = 1.0
            continue
        e = math.exp(-0.5 * xr)
        if df % 2 == 0:
            term = 1.0
            s = 1.0
            for j in range(1, int(half)):
                term *= 0.5 * xr / j
                s += term
            out[r] = e * s
        else:
            term = 1.0
            s = 0.0
            for j in range(1, int(half) + 1):
                s += term
                term *= xr / (2 * j + 1)
            out[r] = math.erfc(math.sqrt(0.5 * xr)) + math.sqrt(2.0 * xr / math.pi) * e * s
