"""Bracketed root finder for decreasing estimating functions, row by row.

Every problem solved here has the form g(x) = 0 on x >= lo with g > 0 below the root and g < 0 above it
(the REML and ML score equations for tau^2, the generalised Q-statistic equations of Paule-Mandel and of
the Q-profile method). Each row keeps a bracket [lo, hi]; the proposed step (Newton or Fisher scoring)
is taken when it lands strictly inside the bracket, and replaced by bisection otherwise or when the
previous step failed to halve |g| (safeguarded Newton; Press et al., Numerical Recipes, 3rd ed., 2007,
section 9.4), so every row converges however poor the proposed steps are. While no point with g <= 0
is known the bracket is open above and the fallback move is geometric growth, max(4 lo, lo + scale).

Rows are independent. Many rows are iterated together as arrays; one or two rows go through a scalar
loop that performs exactly the same floating-point operations, so a row's trajectory, and its root, do
not depend on how many rows were solved with it.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

StepFunction = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

SCALAR_ROWS = 2


def bracketed_root(
    fn: StepFunction,
    x0: np.ndarray,
    lo: np.ndarray,
    scale: np.ndarray,
    *,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve g(x) = 0 for every row.

    ``fn(rows, x)`` returns ``(g, step)`` at ``x`` for the given row indices, ``step`` being the proposed
    move (``x + step`` is the next iterate). ``lo`` must satisfy g(lo) >= 0; ``x0 >= lo`` is the start.
    A row stops when its proposed step is below ``tol * (|x| + scale)`` or its bracket is narrower than
    ``tol * (|hi| + scale)``. Returns the roots and whether each row converged within ``max_iter``.
    """
    m = x0.shape[0]
    if m <= SCALAR_ROWS:
        x = np.empty(m)
        conv = np.zeros(m, dtype=bool)
        for i in range(m):
            x[i], conv[i] = _scalar_root(fn, i, float(x0[i]), float(lo[i]), float(scale[i]), tol, max_iter)
        return x, conv
    return _vector_root(fn, x0, lo, scale, tol, max_iter)


def _scalar_root(fn, i, x, lo, sc, tol, max_iter):
    row = np.array([i])

    def ev(t):
        g, s = fn(row, np.array([t]))
        return float(g[0]), float(s[0])

    g, step = ev(x)
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
        g, step = ev(xn)
        ag = abs(g)
        bisect = took and ag > 0.5 * absg
        absg = ag
        if g > 0:
            lo = xn
        else:
            hi = xn
        x = xn
    return x, False


def _vector_root(fn, x0, lo, scale, tol, max_iter):
    m = x0.shape[0]
    x = np.array(x0, dtype=float)
    lo = np.array(lo, dtype=float)
    hi = np.full(m, np.inf)
    conv = np.zeros(m, dtype=bool)
    g, step = fn(np.arange(m), x)
    step = np.array(step, dtype=float)
    pos = g > 0
    lo = np.where(pos, np.maximum(lo, x), lo)
    hi = np.where(pos, hi, x)
    active = np.arange(m)
    absg = np.abs(g)
    bisect = np.zeros(m, dtype=bool)
    for _ in range(max_iter + 1):
        if active.size == 0:
            break
        xa, sa, la, ha, sc = x[active], step[active], lo[active], hi[active], scale[active]
        xn = xa + sa
        inside = (xn > la) & (xn < ha) & ~bisect[active]
        small = np.abs(sa) <= tol * (np.abs(xa) + sc)
        narrow = (ha < np.inf) & ((ha - la) <= tol * (np.abs(ha) + sc))
        mid = np.where(ha < np.inf, 0.5 * (la + ha), np.maximum(4.0 * la, la + sc))
        stop_small = small & ~narrow
        x[active[stop_small]] = np.where(inside, xn, xa)[stop_small]
        x[active[narrow]] = mid[narrow]
        finished = small | narrow
        conv[active[finished]] = True
        go = ~finished
        active = active[go]
        if active.size == 0:
            break
        took = inside[go]
        xn = np.where(inside, xn, mid)[go]
        gn, st = fn(active, xn)
        ag = np.abs(gn)
        bisect[active] = took & (ag > 0.5 * absg[active])
        absg[active] = ag
        p = gn > 0
        lo[active] = np.where(p, xn, lo[active])
        hi[active] = np.where(p, hi[active], xn)
        x[active] = xn
        step[active] = st
    return x, conv
