"""Input checks shared by pool(), pool_many() and the tau^2 estimators.

Every rejection is a ``ValueError`` whose message names the offending study (its 0-based index) or the
offending option, and the rule it breaks.
"""

from __future__ import annotations

import math

import numpy as np

METHODS = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "PM", "EB")
CI_METHODS = ("z", "knha", "adhoc")
PI_METHODS = ("default", "hts")
I2_METHODS = ("tau2", "q")

# Double precision holds the weighted sums of pooling (w * y^2, w^2, w^3 with w = 1/v) only within these
# bounds; effect sizes in use (log ratios, proportions, mean differences in any sensible unit) lie far
# inside them. Outside them the sums overflow or underflow, so such input is refused instead of pooled.
MAX_ABS_YI = 1e50
VI_RANGE = (1e-50, 1e50)
_RESCALE = "rescale the effects (express them in another unit) so that they fit"


def check_options(method: str, ci: str, level: float, pi: str, i2: str, tau2, max_iter: int, tol: float) -> None:
    """Reject unknown option values before any computation."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if ci not in CI_METHODS:
        raise ValueError(f"ci must be one of {', '.join(CI_METHODS)}; got {ci!r}")
    if pi not in PI_METHODS:
        raise ValueError(f"pi must be one of {', '.join(PI_METHODS)}; got {pi!r}")
    if i2 not in I2_METHODS:
        raise ValueError(f"i2 must be one of {', '.join(I2_METHODS)}; got {i2!r}")
    check_level(level)
    if tau2 is not None:
        t = float(tau2)
        if not math.isfinite(t) or t < 0:
            raise ValueError(f"tau2 must be a finite number >= 0 when given; got {tau2!r}")
    check_iteration(max_iter, tol)


def check_level(level: float) -> None:
    lv = float(level)
    if not (0.0 < lv < 1.0):
        raise ValueError(f"level must lie strictly between 0 and 1 (e.g. 0.95); got {level!r}")


def check_iteration(max_iter: int, tol: float) -> None:
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer; got {max_iter!r}")
    if not (float(tol) > 0.0 and math.isfinite(float(tol))):
        raise ValueError(f"tol must be a positive finite number; got {tol!r}")


def _as_float_vector(x, name: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {a.shape}")
    return a


def check_study_values(yi: np.ndarray, vi: np.ndarray, where: str = "") -> None:
    """Per-study rules: finite effect, finite and strictly positive sampling variance."""
    bad_y = ~np.isfinite(yi)
    if bad_y.any():
        i = int(np.flatnonzero(bad_y)[0])
        raise ValueError(f"study {i}{where}: yi must be finite; got {yi[i]!r}")
    bad_v = ~np.isfinite(vi)
    if bad_v.any():
        i = int(np.flatnonzero(bad_v)[0])
        raise ValueError(f"study {i}{where}: vi must be finite; got {vi[i]!r}")
    nonpos = vi <= 0
    if nonpos.any():
        i = int(np.flatnonzero(nonpos)[0])
        raise ValueError(f"study {i}{where}: vi must be > 0 (a sampling variance); got {vi[i]!r}")
    check_magnitudes(yi, vi, lambda i: f"study {i}{where}")


def check_magnitudes(yi: np.ndarray, vi: np.ndarray, name) -> None:
    """Refuse values outside what double-precision pooling can hold (:data:`MAX_ABS_YI`, :data:`VI_RANGE`).
    ``name(i)`` says how the i-th offending value is named (flat index)."""
    low, high = VI_RANGE
    if yi.size == 0 or (max(-yi.min(), yi.max()) <= MAX_ABS_YI and vi.min() >= low and vi.max() <= high):
        return  # three reductions in the usual case; the masks below only to name an offending value
    big_y = np.abs(yi) > MAX_ABS_YI
    if big_y.any():
        i = int(np.flatnonzero(big_y)[0])
        raise ValueError(f"{name(i)}: |yi| = {abs(yi.flat[i]):.3g} exceeds {MAX_ABS_YI:g}; {_RESCALE}")
    odd_v = (vi < low) | (vi > high)
    if odd_v.any():
        i = int(np.flatnonzero(odd_v)[0])
        raise ValueError(f"{name(i)}: vi = {vi.flat[i]:.3g} lies outside [{low:g}, {high:g}], the range in which "
                         f"pooling is exact in double precision; {_RESCALE}")


def study_arrays(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    """Validate one meta-analysis and return float copies of (yi, vi)."""
    y = _as_float_vector(yi, "yi")
    v = _as_float_vector(vi, "vi")
    if y.size != v.size:
        raise ValueError(
            f"yi and vi must have the same length; got {y.size} effects and {v.size} variances"
            + (f" (study {min(y.size, v.size)} has only one of the two)" if min(y.size, v.size) else "")
        )
    if y.size == 0:
        raise ValueError("k = 0: at least one study is needed")
    check_study_values(y, v)
    return y.copy(), v.copy()


def design_matrix(X, k: int) -> np.ndarray | None:
    """Validate a (k x p) design matrix (None means intercept only)."""
    if X is None:
        return None
    try:
        A = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X must be numeric: {exc}") from None
    if A.ndim == 1:
        A = A.reshape(-1, 1)
    if A.ndim != 2 or A.shape[0] != k:
        raise ValueError(f"X must have one row per study (k = {k} rows); got shape {A.shape}")
    bad = ~np.isfinite(A).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"study {i}: the row of X must be finite")
    if np.linalg.matrix_rank(A) < A.shape[1]:
        raise ValueError(f"X (shape {A.shape}) must have full column rank")
    return A


def batch_arrays(Y, V) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate (m, k) arrays for pool_many(); NaN in both Y and V marks padding.

    Returns float copies of Y and V and the boolean mask of real studies.
    """
    try:
        Ya = np.asarray(Y, dtype=float)
        Va = np.asarray(V, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Y and V must be numeric: {exc}") from None
    if Ya.ndim == 1:
        Ya = Ya.reshape(1, -1)
    if Va.ndim == 1:
        Va = Va.reshape(1, -1)
    if Ya.ndim != 2 or Va.ndim != 2:
        raise ValueError(f"Y and V must be two-dimensional (m meta-analyses x k studies); got {Ya.shape} and {Va.shape}")
    if Ya.shape != Va.shape:
        raise ValueError(f"Y and V must have the same shape; got {Ya.shape} and {Va.shape}")
    from . import _compiled

    # No padding and every value valid, the usual case: copied and checked in one compiled pass.
    Yc = np.empty(Ya.shape)
    Vc = np.empty(Va.shape)
    if _compiled.copy_checked(np.ascontiguousarray(Ya), np.ascontiguousarray(Va), Yc, Vc, MAX_ABS_YI, *VI_RANGE):
        return Yc, Vc, np.ones(Ya.shape, dtype=bool)
    if np.isfinite(Ya).all() and np.isfinite(Va).all() and (Va > 0).all():
        k = Ya.shape[1]
        check_magnitudes(Ya, Va, lambda i: f"row {i // k}, study {i % k}")  # raises: a value out of range
    ny = np.isnan(Ya)
    nv = np.isnan(Va)
    odd = ny != nv
    if odd.any():
        r, c = (int(a[0]) for a in np.nonzero(odd))
        raise ValueError(
            f"row {r}, study {c}: padding must be NaN in both Y and V; got Y={Ya[r, c]!r}, V={Va[r, c]!r}"
        )
    mask = ~ny
    empty = ~mask.any(axis=1)
    if empty.any():
        raise ValueError(f"row {int(np.flatnonzero(empty)[0])}: k = 0, at least one study is needed")
    bad_y = mask & ~np.isfinite(Ya)
    if bad_y.any():
        r, c = (int(a[0]) for a in np.nonzero(bad_y))
        raise ValueError(f"row {r}, study {c}: yi must be finite; got {Ya[r, c]!r}")
    bad_v = mask & ~(np.isfinite(Va) & (Va > 0))
    if bad_v.any():
        r, c = (int(a[0]) for a in np.nonzero(bad_v))
        raise ValueError(f"row {r}, study {c}: vi must be finite and > 0 (a sampling variance); got {Va[r, c]!r}")
    k = Ya.shape[1]
    check_magnitudes(np.where(mask, Ya, 0.0), np.where(mask, Va, 1.0),
                     lambda i: f"row {i // k}, study {i % k}")
    return Ya.copy(), Va.copy(), mask
