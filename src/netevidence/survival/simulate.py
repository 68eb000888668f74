"""Simulated trials and a simulated digitiser, used to validate and benchmark the reconstruction.

``digitise`` imitates reading a Kaplan-Meier figure by hand with a digitiser: the corner points of every
step, Gaussian jitter on both axes, a fraction of corner points missed, and a few clicks out of order.
All functions take an explicit ``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .reconstruct import km_step

__all__ = ["km_corners", "digitise", "at_risk_table", "simulate_trial"]


def km_corners(time, event) -> pd.DataFrame:
    """Both corners of every step of the Kaplan-Meier curve of (time, event), plus the end of follow-up:
    the points a careful digitiser would click."""
    jt, js = km_step(time, event)
    prev = np.concatenate(([1.0], js))[:-1]  # survival just before each drop; empty when there are no events
    t = np.concatenate(([0.0], np.repeat(jt, 2), [float(np.max(time))]))
    s = np.concatenate(([1.0], np.column_stack((prev, js)).ravel(), [js[-1] if len(js) else 1.0]))
    return pd.DataFrame({"time": t, "survival": s})


def digitise(corners: pd.DataFrame, rng: np.random.Generator, *, sd_time: float = 0.0,
             sd_survival: float = 0.0, drop_fraction: float = 0.0, n_swaps: int = 0,
             percent: bool = False) -> pd.DataFrame:
    """Imitate a digitiser on the given corner points: drop ``drop_fraction`` of the interior points, add
    Gaussian jitter (standard deviations ``sd_time`` and ``sd_survival``), swap ``n_swaps`` pairs of
    neighbouring rows (clicks out of order), optionally report survival in percent."""
    t = corners["time"].to_numpy(dtype=float).copy()
    s = corners["survival"].to_numpy(dtype=float).copy()
    keep = np.ones(len(t), dtype=bool)
    if drop_fraction > 0 and len(t) > 2:
        k = int(round(drop_fraction * (len(t) - 2)))
        keep[1 + rng.choice(len(t) - 2, size=k, replace=False)] = False
    t, s = t[keep], s[keep]
    t = t + rng.normal(0.0, sd_time, len(t)) if sd_time > 0 else t
    s = s + rng.normal(0.0, sd_survival, len(s)) if sd_survival > 0 else s
    t[0], s[0] = 0.0, 1.0
    for _ in range(n_swaps if len(t) >= 3 else 0):  # a swap needs two rows after the origin
        i = int(rng.integers(1, len(t) - 1))
        t[[i, i + 1]] = t[[i + 1, i]]
        s[[i, i + 1]] = s[[i + 1, i]]
    return pd.DataFrame({"time": t, "survival": s * 100.0 if percent else s})


def at_risk_table(time, times) -> pd.DataFrame:
    """Numbers at risk #{T >= t} at the given times, as printed under a Kaplan-Meier figure."""
    time = np.sort(np.asarray(time, dtype=float))
    times = np.asarray(times, dtype=float)
    return pd.DataFrame({"time": times, "n_at_risk": len(time) - np.searchsorted(time, times, side="left")})


def simulate_trial(rng: np.random.Generator, n: int, *, shape: float = 1.0, scale: float = 12.0,
                   accrual: float = 24.0, follow_up: float = 12.0, dropout_rate: float = 0.0,
                   time_decimals: int = 2) -> pd.DataFrame:
    """A trial with Weibull event times (``shape`` 1 is exponential), uniform accrual over ``accrual``
    followed by ``follow_up`` (administrative censoring) and exponential dropout. Times are rounded to
    ``time_decimals`` as a trial reports days in months."""
    ev = scale * rng.weibull(shape, n)
    admin = accrual + follow_up - rng.uniform(0.0, accrual, n)
    drop = rng.exponential(1.0 / dropout_rate, n) if dropout_rate > 0 else np.full(n, np.inf)
    cens = np.minimum(admin, drop)
    t = np.round(np.minimum(ev, cens), time_decimals)
    t = np.maximum(t, 10.0 ** -time_decimals)
    return pd.DataFrame({"time": t, "event": (ev <= cens).astype(np.int64)})
