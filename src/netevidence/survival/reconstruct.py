"""Reconstruction of individual patient data from a digitised Kaplan-Meier curve.

Implements the algorithm of Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of
survival data: reconstructing the data from published Kaplan-Meier survival curves. BMC Medical Research
Methodology 2012;12:9.

Within each interval between published at-risk times ``t_i`` and ``t_{i+1}`` the number censored ``c_i``
is guessed from the drop of the curve, spread evenly over the interval, and the events at each digitised
point ``k`` follow from the Kaplan-Meier product,

    d_k = round(n_k * (1 - S_k / KM_last)),   KM_k = KM_last * (1 - d_k / n_k),   n_{k+1} = n_k - d_k - c_k,

after which ``c_i`` is corrected by the difference between the reconstructed and the published number at
risk at ``t_{i+1}`` (the iteration of Guyot et al.). Four information cases are handled:

* at-risk table and total events: the table fixes every interval; the number censored in the last interval
  is set so that the total number of events matches;
* at-risk table only: the last interval is censored at the average rate of the earlier intervals;
* total events only: one interval from 0 to the end of the curve, censoring spread evenly and its amount
  set so that the total number of events matches;
* neither: one interval and no censoring before the end of the curve (the assumption of Guyot et al.).

Beyond the published algorithm, each interval but the last compares the digitised values with the
reconstructed curve as conditional survival from the interval's start (see ``_anchored``), so that a gap
of less than half a step between the two at a published time is not carried into the next interval;
and each drop's event count may move by one event from the nearest whole number so that the curve lies on
the same side of 0.5 as the digitised level (see ``_median_side``), so the reconstructed median is the
digitised curve's.

Guarantees beyond the published description: the iterations are bounded (at most ``max_iter`` per
interval, with cycle detection), counts are never negative, events are placed only where the preprocessed
curve drops (a flat stretch, in particular a flat tail, never receives events), and the reconstructed number
at risk equals the published one at every published time: events the curve asks for beyond what the
table allows are deferred to the next drop, and people the iteration leaves over are censored just before
the next published time. A published total caps the events before the last interval and, in the last
interval, everything beyond what the curve's drops force even with everybody there censored as early as
the even spread allows (a note says when the total is exceeded). ``round`` is round-half-up
(``floor(x + 0.5)``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..summary import Summary, scalar_frame, summary_of
from .._arrays import readonly as _ro
from .digitised import (
    AtRiskTable,
    PreprocessedCurve,
    preprocess_curve,
    read_at_risk_csv,
    read_curve_csv,
    validate_at_risk,
)

__all__ = [
    "ReconstructionDiagnostics",
    "ReconstructionResult",
    "reconstruct_ipd",
    "reconstruct_many",
    "reconstruct_files",
    "format_diagnostics",
]

CASES = {
    (True, True): "at-risk table and total events",
    (True, False): "at-risk table only",
    (False, True): "total events only",
    (False, False): "neither at-risk table nor total events",
}


@dataclass(frozen=True)
class ReconstructionDiagnostics:
    """How well the reconstruction reproduces what was published.

    ``at_risk_*`` arrays compare published and reconstructed numbers at risk at the published times;
    ``max_abs_diff`` / ``rms_diff`` are the maximum and root-mean-square distance between each digitised
    point and the reconstructed Kaplan-Meier step curve (the distance to the closed graph of the step
    function, so a point on a vertical drop has distance 0); ``preprocessing`` lists what preprocessing
    changed; ``notes`` lists adjustments made during reconstruction.
    """

    n: int
    case: str
    total_events_published: int | None
    total_events_reconstructed: int
    n_censored: int
    at_risk_time: np.ndarray
    at_risk_published: np.ndarray
    at_risk_reconstructed: np.ndarray
    max_abs_diff: float
    rms_diff: float
    n_points: int
    preprocessing: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())

    def at_risk_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "time": self.at_risk_time,
            "published": self.at_risk_published,
            "reconstructed": self.at_risk_reconstructed,
            "difference": self.at_risk_reconstructed - self.at_risk_published,
        })

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text(), scalar_frame(self))

    def summary_text(self) -> str:
        return _format_diagnostics(self)


@dataclass(frozen=True)
class ReconstructionResult:
    """Reconstructed individual patient data (``.ipd``: DataFrame ``time``, ``event``) and ``.diagnostics``.
    ``.curve`` is the preprocessed curve the reconstruction followed."""

    time: np.ndarray
    event: np.ndarray
    diagnostics: ReconstructionDiagnostics
    curve: PreprocessedCurve

    @property
    def ipd(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "event": self.event.astype(np.int64)})

    def to_frame(self) -> pd.DataFrame:
        return self.ipd

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text())

    def summary_text(self) -> str:
        return format_diagnostics(self)


# ---------------------------------------------------------------------------------------------------------
# the interval pass


def _censor_counts(bounds: np.ndarray, a: float, b: float, c: int) -> np.ndarray:
    """Number of the ``c`` evenly spaced censoring times a + j(b - a)/(c + 1), j = 1..c, falling in each
    half-open bin [bounds[m], bounds[m+1])."""
    m = len(bounds) - 1
    if c <= 0 or b <= a:
        out = np.zeros(m, dtype=np.int64)
        if c > 0:  # zero-length interval: all censored at its start
            out[0] = c
        return out
    step = (b - a) / (c + 1)
    # number of j in 1..c with a + j*step < x
    below = np.clip(np.ceil((bounds - a) / step) - 1, 0, c).astype(np.int64)
    return np.diff(below)


def _censor_times(a: float, b: float, c: int) -> np.ndarray:
    if c <= 0:
        return np.empty(0)
    if b <= a:
        return np.full(c, a)
    return a + np.arange(1, c + 1) * ((b - a) / (c + 1))


def _applied_censor_times(bounds: np.ndarray, a: float, b: float, c: int, applied: list) -> np.ndarray:
    """The censoring times actually used: the planned ones, minus any a bin could not take because
    nobody was left at risk (counts are never negative)."""
    ct = _censor_times(a, b, c)
    if sum(applied) == c:
        return ct
    planned = _censor_counts(bounds, a, b, c)
    starts = np.concatenate(([0], np.cumsum(planned)))
    return np.concatenate([ct[starts[j]:starts[j] + applied[j]] for j in range(len(applied))])


class _Pass:
    """Result of one pass through the points of an interval."""

    __slots__ = ("d", "cen", "n_end", "km", "events")

    def __init__(self, d, cen, n_end, km, events):
        self.d, self.cen, self.n_end, self.km, self.events = d, cen, n_end, km, events


def _median_side(dk: int, n: int, km: float, below: bool, room: int) -> int:
    """The event count ``dk`` moved by one event, when needed, so that the reconstructed curve after the
    drop lies on the same side of 0.5 as the digitised point (``below``: the point is at or under 0.5).

    Rounding to the nearest whole event leaves the reconstructed curve up to half a step from the
    digitised one, so a curve that crosses 0.5 by less than half a step can cross it one drop early or
    late, and the median moves by a whole gap between drops. One event more or less than the nearest
    whole number reproduces the median of the digitised curve. ``room`` is the most events the drop may
    take."""
    if km <= 0.5:
        return dk
    after = km * (1.0 - dk / n)
    if below and after > 0.5 and dk + 1 <= room:
        return dk + 1
    if not below and after <= 0.5 and dk >= 1:
        return dk - 1
    return dk


def _median_sides(S: np.ndarray, lower: np.ndarray, at_risk: np.ndarray) -> list:
    """For every point of the curve, whether the level it reads lies at or under 0.5.

    A Kaplan-Meier curve drops by at least one event's step, S / n at risk, and the number at risk is at
    most the one published at the start of the point's interval. Two consecutive points that differ by
    less than half that step read the same level (the two ends of a flat stretch, or one corner clicked
    twice, with jitter), so the level is their mean: points chained that way form one level, and all its
    points share the side of 0.5 of that mean. A single click a fraction of a step off the level then
    does not decide on which drop the curve crosses 0.5."""
    n_at = np.repeat(at_risk, np.diff(np.concatenate((lower, [len(S)]))))  # lower[0] is 0: time 0
    same = np.zeros(len(S), dtype=bool)  # point k reads the same level as point k - 1
    same[1:] = (S[:-1] - S[1:]) < 0.5 * S[:-1] / np.maximum(n_at[1:], 1)
    group = np.cumsum(~same) - 1
    level = np.bincount(group, weights=S) / np.bincount(group)
    return (level[group] <= 0.5).tolist()


def _interval_pass(S: list, drop: list, lo: int, hi: int, n_start: int, km_start: float,
                   cen_counts: np.ndarray, cap: int, below: list) -> _Pass:
    """Walk the points lo..hi-1 of one interval (Guyot et al., 2012, steps 3-4), keeping each drop's
    side of 0.5 (``below``, from the digitised curve; see :func:`_median_side`)."""
    n = n_start
    km = km_start
    events = 0
    m = hi - lo
    d = [0] * m
    cen = [0] * m
    cc = cen_counts.tolist()
    for j in range(m):
        k = lo + j
        dk = 0
        if drop[k] and n > 0 and km > 0.0 and events < cap:
            room = min(n, cap - events)
            dk = min(max(math.floor(n * (1.0 - S[k] / km) + 0.5), 0), room)
            dk = _median_side(dk, n, km, below[k], room)
            if dk > 0:
                km *= 1.0 - dk / n
                events += dk
        d[j] = dk
        ck = min(cc[j], n - dk)
        cen[j] = ck
        n -= dk + ck
    return _Pass(d, cen, n, km, events)


def _last_interval_censoring(S: list, drop: list, lo: int, hi: int, n_i: int, km: float, bounds: np.ndarray,
                             a: float, b: float, c: int, below: list) -> int:
    """Censoring of the last interval when no total is published: at most ``c`` (the earlier rate spread
    over the interval), but no more than lets the curve reach its last value.

    Censoring spread evenly over the tail can empty the risk set before the curve's last drops, which
    then get no events and leave the reconstructed curve above the digitised one (visibly when the curve
    ends at 0 because the last patient had an event). When the curve's last value is missed by more than
    half of one event's step there, the largest censoring count that reaches it is found by bisection
    (fewer censored patients leave more at risk, so the final survival falls as ``c`` falls).
    """
    if c <= 0 or hi <= lo:
        return c

    def gap(cc: int) -> tuple[float, float]:
        p = _interval_pass(S, drop, lo, hi, n_i, km, _censor_counts(bounds, a, b, cc), n_i, below)
        # half the step of one event at the end of the interval, with the patients left at risk there
        return p.km - S[hi - 1], 0.5 * p.km / max(p.n_end + 1, 1)

    g, half = gap(c)
    if g <= half:
        return c
    g0, half0 = gap(0)
    if g0 > half0:  # even without censoring the curve cannot be reached: keep the spread censoring
        return c
    good, bad = 0, c
    while bad - good > 1:
        mid = (good + bad) // 2
        gm, hm = gap(mid)
        if gm <= hm:
            good = mid
        else:
            bad = mid
    return good


def _anchored(S: list, lo: int, hi: int, km: float, n_at_risk: int) -> list:
    """The digitised survival of the points lo..hi-1 of an interval, rescaled so that the curve's value
    just before the interval equals the reconstructed Kaplan-Meier value there (``km``), when the two
    differ by less than half the step of one event (``km / n_at_risk / 2``).

    The number at risk at the start of an interval is known from the table; what the digitised curve
    tells inside the interval is the conditional survival S(t) / S(a-). Guyot et al. compare the
    digitised value S(t) with the reconstructed curve directly, so a gap of a fraction of a step between
    the two at the interval's start (censoring placed at other times than the real ones, or jitter,
    moves the curve's level by less than one event) carries into the interval and can move a whole event
    onto a later drop. Anchoring removes that carry-over. A gap of half a step or more is an event still
    owed (or one too many) and is carried, as in Guyot et al. The last interval (beyond the last
    published time, where the censoring is not known) is not anchored: there the few patients left make
    the criteria of :func:`_last_interval_censoring` depend on the curve's own last values.
    """
    ref = S[lo - 1] if lo > 0 else 1.0
    if lo >= hi or ref <= 0.0 or km == ref or n_at_risk <= 0 or abs(km - ref) >= 0.5 * km / n_at_risk:
        return S
    f = km / ref
    out = list(S)
    out[lo:hi] = [v * f for v in S[lo:hi]]
    return out


def _bins(T: np.ndarray, lo: int, hi: int, end: float) -> np.ndarray:
    return np.concatenate((T[lo:hi], [end]))


# ---------------------------------------------------------------------------------------------------------
# main entry


def reconstruct_ipd(curve: pd.DataFrame, n: int, *, at_risk: pd.DataFrame | None = None,
                    total_events: int | None = None, scale: str = "auto",
                    restore_corners: bool = True, max_iter: int = 50) -> ReconstructionResult:
    """Reconstruct individual patient data from a digitised Kaplan-Meier curve (Guyot et al., BMC Medical
    Research Methodology 2012;12:9).

    ``curve``: DataFrame ``time``, ``survival`` (fraction or percent, any order); ``n``: the arm's size;
    ``at_risk``: optional DataFrame ``time``, ``n_at_risk``; ``total_events``: optional total number of
    events. Returns a :class:`ReconstructionResult`.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: the arm size must be a positive whole number, got {n!r}")
    n = int(n)
    if total_events is not None:
        if isinstance(total_events, bool) or not isinstance(total_events, (int, np.integer)) \
                or not 0 <= total_events <= n:
            raise ValueError(f"total_events: must be a whole number between 0 and n={n}, got {total_events!r}")
        total_events = int(total_events)
    if max_iter < 1:
        raise ValueError("max_iter: must be at least 1")
    pre = preprocess_curve(curve, scale=scale, restore_corners=restore_corners, n=n)
    table = validate_at_risk(at_risk, n) if at_risk is not None else None
    return _reconstruct(pre, n, table, total_events, max_iter)


def _reconstruct(pre: PreprocessedCurve, n: int, table: AtRiskTable | None, total_events: int | None,
                 max_iter: int) -> ReconstructionResult:
    T = np.array(pre.time)
    S = np.array(pre.survival)
    notes: list[str] = []
    pre_changes = list(pre.changes)

    if table is not None:
        rt = np.array(table.time)
        rn = np.array(table.n_at_risk)
        pre_changes.extend(table.changes)
        # at-risk rows after the end of the curve: keep those with people still at risk (the curve is
        # extended flat to them), drop the others
        beyond = rt > T[-1]
        if beyond.any():
            keep = ~beyond | (rn > 0)
            if not keep.all():
                notes.append(f"{int((~keep).sum())} at-risk row(s) with nobody at risk after the end of the curve ignored")
            rt, rn = rt[keep], rn[keep]
        # anchor points at the at-risk times that are not digitised points: left limit of the curve
        idx = np.searchsorted(T, rt, side="left")
        missing = (idx >= len(T)) | (T[np.minimum(idx, len(T) - 1)] != rt)
        if missing.any():
            at = rt[missing]
            pos = np.searchsorted(T, at, side="left")
            val = S[np.maximum(pos - 1, 0)]
            T = np.insert(T, pos, at)
            S = np.insert(S, pos, val)
        lower = np.searchsorted(T, rt, side="left")
    else:
        rt = np.array([0.0])
        rn = np.array([n], dtype=np.int64)
        lower = np.array([0])

    npts = len(T)
    Sl = S.tolist()
    drop = [False] + (S[1:] < S[:-1]).tolist()
    below = _median_sides(S, lower, rn)
    m = len(rt)
    d_all = np.zeros(npts, dtype=np.int64)
    cen_times: list[np.ndarray] = []
    km = 1.0
    censored_so_far = 0
    events_so_far = 0

    for i in range(m - 1):
        lo, hi = int(lower[i]), int(lower[i + 1])
        n_i, target = int(rn[i]), int(rn[i + 1])
        a, b = float(rt[i]), float(rt[i + 1])
        c_max = n_i - target
        bounds = _bins(T, lo, hi, b)
        Si = _anchored(Sl, lo, hi, km, n_i)
        s_before = km
        s_end = Si[hi - 1] if hi > lo else s_before
        c = n_i * s_end / s_before - target if s_before > 0 else c_max
        c = int(min(max(math.floor(c + 0.5), 0), c_max))
        seen: dict[int, int] = {}
        best_c, best_r = c, None
        for _ in range(max_iter):
            p = _interval_pass(Si, drop, lo, hi, n_i, km, _censor_counts(bounds, a, b, c), c_max, below)
            r = p.n_end - target
            seen[c] = r
            if best_r is None or (abs(r), r < 0) < (abs(best_r), best_r < 0):
                best_c, best_r = c, r
            if r == 0:
                break
            c_new = int(min(max(c + r, 0), c_max))
            if c_new in seen:
                break
            c = c_new
        c = best_c
        cap = n_i - c - target
        if total_events is not None:  # not more events than published before the last interval
            cap = max(min(cap, total_events - events_so_far), 0)
        p = _interval_pass(Si, drop, lo, hi, n_i, km, _censor_counts(bounds, a, b, c), cap, below)
        d_all[lo:hi] = p.d
        ct = _applied_censor_times(bounds, a, b, c, p.cen)
        extra = p.n_end - target
        if extra > 0:
            t_last = float(T[hi - 1]) if hi > lo else a
            ct = np.concatenate((ct, np.full(extra, 0.5 * (t_last + b))))
            notes.append(f"interval [{a:g}, {b:g}): {extra} extra censored before {b:g} to match the table")
        if p.n_end < target:  # cannot happen with the cap; kept as an invariant check
            raise AssertionError("reconstructed number at risk fell below the table")
        cen_times.append(ct)
        censored_so_far += len(ct)
        events_so_far += p.events
        km = p.km

    # last interval (or the only one)
    lo, hi = int(lower[m - 1]), npts
    n_i = int(rn[m - 1])
    a, b = float(rt[m - 1]), float(T[-1])
    bounds = _bins(T, lo, hi, math.inf)
    if total_events is not None:
        target_e = total_events - events_so_far
        if target_e < 0:
            notes.append(
                f"{events_so_far} events reconstructed before the last interval exceed the published total "
                f"{total_events}; the last interval gets only the events its drops force"
            )
            target_e = 0
        c = 0
        if m > 1 and a > 0:
            c = int(min(math.floor(censored_so_far * (b - a) / a + 0.5), n_i))
        seen = {}
        best_c, best_r = c, None
        for _ in range(max_iter):
            p = _interval_pass(Sl, drop, lo, hi, n_i, km, _censor_counts(bounds, a, b, c), n_i, below)
            r = p.events - target_e
            seen[c] = r
            if best_r is None or (abs(r), r > 0) < (abs(best_r), best_r > 0):
                best_c, best_r = c, r
            if r == 0:
                break
            c_new = int(min(max(c + r, 0), n_i))
            if c_new in seen:
                break
            c = c_new
        c = best_c
        # the published total caps the events, except where the curve forces more: the events left even
        # when everybody in the interval is censored as early as the even spread allows
        forced = _interval_pass(Sl, drop, lo, hi, n_i, km, _censor_counts(bounds, a, b, n_i), n_i, below).events
        cap = max(target_e, forced)
        if forced > target_e:
            notes.append(f"the last interval's drops force {forced} event(s) where the published total leaves "
                         f"{target_e}")
    else:
        if m > 1 and a > 0:
            c = int(min(math.floor(censored_so_far * (b - a) / a + 0.5), n_i))
        else:
            c = 0
        cap = n_i
        c_rate = c
        c = _last_interval_censoring(Sl, drop, lo, hi, n_i, km, bounds, a, b, c, below)
        if c < c_rate:
            notes.append(f"last interval: {c} censored instead of {c_rate} (the earlier censoring rate), so that "
                         "patients remain at risk for the curve's last drops")
    p = _interval_pass(Sl, drop, lo, hi, n_i, km, _censor_counts(bounds, a, b, c), cap, below)
    d_all[lo:hi] = p.d
    cen_times.append(_applied_censor_times(bounds, a, b, c, p.cen))
    if p.n_end > 0:
        cen_times.append(np.full(p.n_end, b))
    events_so_far += p.events
    if total_events is not None and events_so_far < total_events:
        notes.append(
            f"the curve supports only {events_so_far} of the {total_events} published events "
            "(no events are placed where the curve does not drop)"
        )

    ev_t = np.repeat(T, d_all)
    cens = np.concatenate(cen_times) if cen_times else np.empty(0)
    time = np.concatenate((ev_t, cens))
    event = np.concatenate((np.ones(len(ev_t), dtype=np.int8), np.zeros(len(cens), dtype=np.int8)))
    order = np.lexsort((1 - event, time))
    time, event = time[order], event[order]
    if len(time) != n:  # invariant
        raise AssertionError(f"reconstruction produced {len(time)} records for n={n}")

    at_t = np.array(table.time) if table is not None else np.array([0.0])
    at_pub = np.array(table.n_at_risk) if table is not None else np.array([n])
    at_rec = len(time) - np.searchsorted(time, at_t, side="left")
    max_d, rms_d = _fit_to_points(time, event, pre.raw_time, pre.raw_survival)

    diag = ReconstructionDiagnostics(
        n=n,
        case=CASES[(table is not None, total_events is not None)],
        total_events_published=total_events,
        total_events_reconstructed=int(event.sum()),
        n_censored=int(len(event) - event.sum()),
        at_risk_time=_ro(at_t),
        at_risk_published=_ro(at_pub, np.int64),
        at_risk_reconstructed=_ro(at_rec, np.int64),
        max_abs_diff=max_d,
        rms_diff=rms_d,
        n_points=len(pre.raw_time),
        preprocessing=tuple(pre_changes),
        notes=tuple(notes),
    )
    return ReconstructionResult(time=_ro(time), event=_ro(event, np.int8), diagnostics=diag, curve=pre)


def km_step(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate (Kaplan & Meier, JASA 1958) as jump times and the survival after each jump."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event)
    ut, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=event, minlength=len(ut))
    tot = np.bincount(inv, minlength=len(ut))
    at_risk = len(time) - np.concatenate(([0], np.cumsum(tot)[:-1]))
    has = d > 0
    surv = np.cumprod(np.where(has, 1.0 - d / np.maximum(at_risk, 1), 1.0))
    return ut[has], surv[has]


def _fit_to_points(time, event, pt, ps) -> tuple[float, float]:
    jt, js = km_step(time, event)
    if len(pt) == 0:
        return 0.0, 0.0
    if len(jt) == 0:
        jt, js = np.array([np.inf]), np.array([1.0])
    idx_right = np.searchsorted(jt, pt, side="right")  # S(t) = value after last jump <= t
    s_right = np.where(idx_right > 0, js[np.maximum(idx_right - 1, 0)], 1.0)
    idx_left = np.searchsorted(jt, pt, side="left")  # S(t-) = value after last jump < t
    s_left = np.where(idx_left > 0, js[np.maximum(idx_left - 1, 0)], 1.0)
    lo = np.minimum(s_right, s_left)
    hi = np.maximum(s_right, s_left)
    ps = np.clip(ps, 0.0, 1.0)
    dist = np.where(ps < lo, lo - ps, np.where(ps > hi, ps - hi, 0.0))
    return float(dist.max()), float(np.sqrt(np.mean(dist ** 2)))


# ---------------------------------------------------------------------------------------------------------
# batches, files and text


def reconstruct_many(curves, ns, *, at_risks=None, total_events=None, scale: str = "auto",
                     max_iter: int = 50) -> list[ReconstructionResult]:
    """Reconstruct several curves; ``at_risks`` and ``total_events`` are sequences aligned with ``curves``
    (entries may be ``None``). Errors name the curve's position."""
    curves = list(curves)
    ns = list(ns)
    k = len(curves)
    at_risks = [None] * k if at_risks is None else list(at_risks)
    total_events = [None] * k if total_events is None else list(total_events)
    if not (len(ns) == len(at_risks) == len(total_events) == k):
        raise ValueError("reconstruct_many: curves, ns, at_risks and total_events must have the same length")
    out = []
    for i in range(k):
        try:
            out.append(reconstruct_ipd(curves[i], ns[i], at_risk=at_risks[i], total_events=total_events[i],
                                       scale=scale, max_iter=max_iter))
        except ValueError as exc:
            raise ValueError(f"curve {i}: {exc}") from None
    return out


def reconstruct_files(curve_path: str | Path, n: int, *, at_risk_path: str | Path | None = None,
                      total_events: int | None = None, out: str | Path | None = None,
                      scale: str = "auto") -> ReconstructionResult:
    """Read a digitised curve CSV (and an at-risk CSV), reconstruct, and write the IPD to ``out`` as CSV
    (columns ``time,event``) when given. Bad files raise ``ValueError`` naming ``file:line``."""
    curve = read_curve_csv(curve_path)
    at_risk = read_at_risk_csv(at_risk_path) if at_risk_path is not None else None
    try:
        result = reconstruct_ipd(curve, n, at_risk=at_risk, total_events=total_events, scale=scale)
    except ValueError as exc:
        # the frames are indexed by line number: "at_risk: row 7: ..." becomes "risk.csv:7: ..."
        msg = str(exc)
        for prefix, path in (("at_risk", at_risk_path), ("curve", curve_path)):
            if path is not None and msg.startswith(prefix):
                m = re.match(rf"{prefix}: row (\d+): (.*)", msg, flags=re.S)
                raise ValueError(f"{path}:{m.group(1)}: {m.group(2)}" if m else f"{path}: {msg}") from None
        raise
    if out is not None:
        result.ipd.to_csv(out, index=False, float_format="%.10g")
    return result


def _format_diagnostics(d: ReconstructionDiagnostics) -> str:
    lines = [
        f"Reconstruction (Guyot et al. 2012), information: {d.case}",
        f"  patients: {d.n}   events: {d.total_events_reconstructed}"
        + (f" (published {d.total_events_published})" if d.total_events_published is not None else "")
        + f"   censored: {d.n_censored}",
        f"  fit to the {d.n_points} digitised points: max |diff| {d.max_abs_diff:.4f}, RMS {d.rms_diff:.4f}",
    ]
    if len(d.at_risk_time) > 1 or d.case.startswith("at-risk"):
        lines.append("  numbers at risk:")
        lines.append(f"    {'time':>10} {'published':>10} {'reconstructed':>14} {'difference':>11}")
        for t, p, r in zip(d.at_risk_time, d.at_risk_published, d.at_risk_reconstructed):
            lines.append(f"    {t:>10g} {int(p):>10d} {int(r):>14d} {int(r - p):>11d}")
    if d.preprocessing:
        lines.append("  preprocessing:")
        lines.extend(f"    - {c}" for c in d.preprocessing)
    if d.notes:
        lines.append("  notes:")
        lines.extend(f"    - {c}" for c in d.notes)
    return "\n".join(lines)


def format_diagnostics(result: ReconstructionResult) -> str:
    """The diagnostics of a reconstruction as text (what the command line prints)."""
    return _format_diagnostics(result.diagnostics)
