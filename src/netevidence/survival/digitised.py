"""Reading and preprocessing digitised Kaplan-Meier curves and numbers-at-risk tables.

A digitised curve is a set of (time, survival) points as a digitiser such as WebPlotDigitizer exports them:
in click order, survival as a fraction or a percentage, with pixel noise that can make the curve rise.
Preprocessing turns those points into a non-increasing step curve that starts at (0, 1), as required by
the reconstruction algorithm of Guyot, Ades, Ouwens & Welton (BMC Medical Research Methodology, 2012;12:9):

1. percent to fraction (``scale="auto"`` reads the curve as percent when any value exceeds 1.5);
2. sort by time (ties: higher survival first, so a vertical drop is read top to bottom);
3. negative times and survival outside [0, 1] are clipped;
4. points at time 0 are set to survival 1 and the curve is made to start at (0, 1);
5. exact duplicate points are collapsed (before step 7, so that duplicates carry no weight there);
6. a steep rise (narrower, as a share of the time axis, than half its height) is read as the two corners
   of a vertical drop whose times the digitiser jittered into the wrong order, and the values exchanged;
7. isotonic (pool-adjacent-violators) regression makes the survival non-increasing in time, removing
   digitisation noise that makes the curve rise; duplicates it creates are collapsed;
8. missed lower corners of steps are restored: a Kaplan-Meier curve consists of horizontal and vertical
   segments, and a digitiser reads both corners of every step. A sloping drop that ends where a much
   narrower steep drop begins means the lower corner of the step at its start was missed (the point it
   ends on is the upper corner of the next step), so the drop is moved to the start of the sloping
   segment; likewise a sloping last drop after a horizontal stretch. Without this, the drop would be
   placed at the next step, one whole gap late.

Steps 6 and 8 are heuristics beyond Guyot et al.; ``restore_corners=False`` switches them off.
Survival values are rounded to 12 decimals after scaling, so that a curve given in percent and the same
curve given as fractions are processed identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression

from .._arrays import readonly as _readonly
from ..records.curvefiles import read_at_risk_csv, read_curve_csv

__all__ = [
    "PreprocessedCurve",
    "AtRiskTable",
    "preprocess_curve",
    "validate_at_risk",
    "read_curve_csv",
    "read_at_risk_csv",
]

_ROUND_DECIMALS = 12


@dataclass(frozen=True)
class PreprocessedCurve:
    """A digitised curve after preprocessing.

    ``time`` and ``survival`` are read-only arrays (non-decreasing time, non-increasing survival, first
    point (0, 1)); ``changes`` lists in words what preprocessing changed; ``raw_time`` / ``raw_survival``
    are the input points after the percent-to-fraction conversion, kept for the goodness-of-fit
    diagnostics.
    """

    time: np.ndarray
    survival: np.ndarray
    changes: tuple[str, ...]
    raw_time: np.ndarray
    raw_survival: np.ndarray
    scale: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "survival": self.survival})


@dataclass(frozen=True)
class AtRiskTable:
    """A validated numbers-at-risk table: strictly increasing ``time`` starting at 0 and non-increasing
    integer ``n_at_risk`` starting at the arm's size."""

    time: np.ndarray
    n_at_risk: np.ndarray
    changes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "n_at_risk": self.n_at_risk})


def _numeric_column(frame: pd.DataFrame, name: str, what: str) -> np.ndarray:
    if name not in frame.columns:
        raise ValueError(f"{what}: missing column '{name}' (columns are {list(frame.columns)})")
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row = frame.index[int(np.argmax(bad))]
        raise ValueError(f"{what}: row {row}: column '{name}' must be a finite number, got {frame[name].loc[row]!r}")
    return values


def preprocess_curve(curve: pd.DataFrame, *, scale: str = "auto",
                     restore_corners: bool = True, n: int | None = None) -> PreprocessedCurve:
    """Validate and preprocess a digitised curve (DataFrame with columns ``time`` and ``survival``).

    ``scale`` is ``"auto"`` (percent when any survival value exceeds 1.5), ``"fraction"`` or ``"percent"``.
    ``restore_corners`` (default on) applies steps 6 and 8 of the module description (corners clicked in
    swapped order, missed lower corners); ``n``, the arm size, helps step 8 tell a missed corner from
    jitter.
    Raises ``ValueError`` naming the offending row and the rule.
    """
    if not isinstance(curve, pd.DataFrame):
        raise ValueError("curve: must be a pandas DataFrame with columns 'time' and 'survival'")
    if scale not in ("auto", "fraction", "percent"):
        raise ValueError(f"curve: scale must be 'auto', 'fraction' or 'percent', got {scale!r}")
    if len(curve) == 0:
        raise ValueError("curve: no points (the rule: at least one digitised point is needed)")
    t = _numeric_column(curve, "time", "curve")
    s = _numeric_column(curve, "survival", "curve")
    changes: list[str] = []

    if scale == "auto":
        scale = "percent" if float(np.max(s)) > 1.5 else "fraction"
    if scale == "percent":
        s = s / 100.0
        changes.append("survival read as percent and divided by 100")
    s = np.round(s, _ROUND_DECIMALS)
    raw_t, raw_s = t.copy(), s.copy()

    order = np.lexsort((-s, t))
    n_out_of_order = int(np.sum(order != np.arange(len(t))))
    if n_out_of_order:
        changes.append(f"sorted by time: {n_out_of_order} point(s) were out of order")
    t, s = t[order], s[order]

    n_neg_t = int(np.sum(t < 0))
    if n_neg_t:
        t = np.maximum(t, 0.0)
        changes.append(f"{n_neg_t} negative time(s) set to 0")
    n_clip = int(np.sum((s < 0) | (s > 1)))
    if n_clip:
        s = np.clip(s, 0.0, 1.0)
        changes.append(f"{n_clip} survival value(s) clipped to [0, 1]")
    at_zero = (t == 0) & (s != 1)
    if at_zero.any():
        s = np.where(t == 0, 1.0, s)
        changes.append(f"{int(at_zero.sum())} point(s) at time 0 set to survival 1")
    if not (t[0] == 0 and s[0] == 1):
        t = np.concatenate(([0.0], t))
        s = np.concatenate(([1.0], s))
        changes.append("start point (0, 1) added")

    t, s, n_dup = _collapse(t, s)
    if n_dup:
        changes.append(f"{n_dup} duplicate point(s) collapsed")

    if restore_corners and len(t) > 2:
        s, n_swapped = _unswap_steep_rises(t, s)
        if n_swapped:
            changes.append(f"{n_swapped} steep rise(s) read as the two corners of a drop in swapped order")

    if np.any(np.diff(s) > 0):
        fitted = np.round(isotonic_regression(s, increasing=False).x, _ROUND_DECIMALS)
        moved = np.abs(fitted - s)
        changes.append(
            f"isotonic regression moved {int(np.sum(moved > 0))} point(s) "
            f"(largest change {float(moved.max()):.4g}) to remove rises"
        )
        s = fitted
        t, s, n_dup2 = _collapse(t, s)
        if n_dup2:
            changes.append(f"{n_dup2} point(s) made identical by isotonic regression collapsed")

    if restore_corners and len(t) > 2:
        t, s, n_restored = _restore_corners(t, s, n)
        if n_restored:
            changes.append(f"{n_restored} missing lower corner(s) of steps restored")

    return PreprocessedCurve(
        time=_readonly(t), survival=_readonly(s), changes=tuple(changes),
        raw_time=_readonly(raw_t), raw_survival=_readonly(raw_s), scale=scale,
    )


STEEP = 0.5  # a drop is steep when its width (share of the time axis) is under half its height
# The last drop after a horizontal stretch is vertical (an event at the end of follow-up) only when it is
# narrower than this share of the time axis, far beyond a digitiser's click jitter; wider, it is the last
# step with its lower corner missed, however steep.
LAST_VERTICAL = 0.01


def _unswap_steep_rises(t: np.ndarray, s: np.ndarray, passes: int = 3) -> tuple[np.ndarray, int]:
    """A steep rise (width, as a share of the time axis, under ``STEEP`` times its height) is the two
    corners of a vertical drop with their times jittered into the wrong order: exchange their survival
    values. At most ``passes`` vectorised passes."""
    span = float(t[-1]) if t[-1] > 0 else 1.0
    s = s.copy()
    total = 0
    for _ in range(passes):
        dt = np.diff(t) / span
        rise = np.diff(s)
        cand = (rise > 0) & (dt < STEEP * rise)
        cand[1:] &= ~cand[:-1]  # non-overlapping pairs
        if not cand.any():
            break
        k = np.flatnonzero(cand)
        s[k], s[k + 1] = s[k + 1].copy(), s[k].copy()
        total += len(k)
    return s, total


def _restore_corners(t: np.ndarray, s: np.ndarray, n: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Restore missed lower corners.

    A drop is *steep* when its width (as a share of the time axis) is under ``STEEP`` times its height. A
    dropping segment k -> k+1 followed directly by a steep drop at least four times narrower than itself is
    a step whose lower corner was missed (point k+1 is the upper corner of the next step), and gets that
    corner: (t_k, s_k) -> (t_{k+1}, s_{k+1}) becomes (t_k, s_k) -> (t_k, s_{k+1}) -> (t_{k+1}, s_{k+1}).
    To tell a missed corner from jitter on a horizontal stretch, its drop must be at least 3/4 of the steep
    drop after it or, when the arm size ``n`` is known, at least 3/4 of one event's step at that height
    with everybody still at risk (s_k / n). A sloping last segment after a horizontal stretch is the last
    step with its lower corner missed, as is a steep one wider than ``LAST_VERTICAL`` of the time axis."""
    span = float(t[-1]) if t[-1] > 0 else 1.0
    dt = np.diff(t) / span
    ds = -np.diff(s)
    is_drop = ds > 0
    is_steep = is_drop & (dt < STEEP * ds)
    whole_step = ds[:-1] >= 0.75 * ds[1:]
    if n is not None:
        whole_step |= ds[:-1] >= 0.75 * s[:-2] / n
    fix = np.zeros(len(dt), dtype=bool)
    fix[:-1] = is_drop[:-1] & (dt[:-1] > 0) & is_steep[1:] & (dt[1:] <= 0.25 * dt[:-1]) & whole_step
    # the last segment has no next drop to show it; a sloping last drop that follows a horizontal stretch
    # (its start is an upper corner) is the last step with its lower corner missed
    if (len(dt) >= 2 and is_drop[-1] and (not is_steep[-1] or dt[-1] > LAST_VERTICAL) and dt[-2] > 0
            and ds[-2] < 0.25 * ds[-1]):
        fix[-1] = True
    if not fix.any():
        return t, s, 0
    k = np.flatnonzero(fix)
    t2 = np.insert(t, k + 1, t[k])
    s2 = np.insert(s, k + 1, s[k + 1])
    return t2, s2, int(len(k))


def _collapse(t: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Collapse consecutive identical (time, survival) points of sorted arrays."""
    if len(t) < 2:
        return t, s, 0
    keep = np.ones(len(t), dtype=bool)
    keep[1:] = (t[1:] != t[:-1]) | (s[1:] != s[:-1])
    return t[keep], s[keep], int(len(t) - keep.sum())


def validate_at_risk(at_risk: pd.DataFrame, n: int) -> AtRiskTable:
    """Validate a numbers-at-risk table (DataFrame with ``time`` and ``n_at_risk``) for an arm of size ``n``.

    Rules: finite non-negative times, no repeated time, whole non-negative numbers at risk, at most ``n``,
    the number at time 0 (when given) equal to ``n``, and non-increasing in time. A row breaking a rule is
    named in the ``ValueError``. A row for time 0 is added when missing.
    """
    if not isinstance(at_risk, pd.DataFrame):
        raise ValueError("at_risk: must be a pandas DataFrame with columns 'time' and 'n_at_risk'")
    if len(at_risk) == 0:
        raise ValueError("at_risk: empty table (the rule: give at least one row or pass at_risk=None)")
    t = _numeric_column(at_risk, "time", "at_risk")
    r = _numeric_column(at_risk, "n_at_risk", "at_risk")
    rows = list(at_risk.index)
    for i in range(len(t)):
        if t[i] < 0:
            raise ValueError(f"at_risk: row {rows[i]}: time {t[i]:g} is negative")
        if r[i] < 0 or r[i] != np.round(r[i]):
            raise ValueError(f"at_risk: row {rows[i]}: n_at_risk {r[i]:g} must be a whole number >= 0")
        if r[i] > n:
            raise ValueError(f"at_risk: row {rows[i]}: n_at_risk {int(r[i])} exceeds the arm size n={n}")
    order = np.argsort(t, kind="stable")
    changes: list[str] = []
    if np.any(order != np.arange(len(t))):
        changes.append("at-risk table sorted by time")
    t, r = t[order], r[order]
    rows = [rows[i] for i in order]
    for i in range(1, len(t)):
        if t[i] == t[i - 1]:
            raise ValueError(f"at_risk: row {rows[i]}: time {t[i]:g} repeats an earlier row")
        if r[i] > r[i - 1]:
            raise ValueError(
                f"at_risk: row {rows[i]}: n_at_risk rises from {int(r[i - 1])} to {int(r[i])} at time {t[i]:g} "
                "(the rule: numbers at risk must be non-increasing in time)"
            )
    if t[0] == 0:
        if r[0] != n:
            raise ValueError(f"at_risk: row {rows[0]}: n_at_risk at time 0 is {int(r[0])} but n={n}")
    else:
        t = np.concatenate(([0.0], t))
        r = np.concatenate(([float(n)], r))
        changes.append(f"row (0, {n}) added to the at-risk table")
    ra = np.asarray(r, dtype=np.int64)
    ra.setflags(write=False)
    return AtRiskTable(time=_readonly(t), n_at_risk=ra, changes=tuple(changes))
