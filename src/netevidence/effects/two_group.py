"""Effect sizes comparing two groups from 2x2 tables: RR, OR, RD.

With ``a``/``b`` events/non-events in group 1, ``c``/``d`` in group 2 (after any continuity correction),
``n1 = a + b``, ``n2 = c + d``, ``p1 = a / n1``, ``p2 = c / n2`` (large-sample variances, as metafor's
``escalc()``):

* ``RR`` log risk ratio ``log(p1 / p2)``; variance ``1/a - 1/n1 + 1/c - 1/n2``
  (Katz et al., Biometrics, 1978).
* ``OR`` log odds ratio ``log(a d / (b c))``; variance ``1/a + 1/b + 1/c + 1/d`` (Woolf, Annals of
  Human Genetics, 1955).
* ``RD`` risk difference ``p1 - p2``; variance ``p1 (1 - p1) / n1 + p2 (1 - p2) / n2``.

A study with a zero cell gets ``add`` in all four cells (``to="only0"``); ``drop00=True`` sets studies
with zero events, or only events, in both groups to missing (flag ``double_zero_dropped``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .corrections import per_study_add, resolve_add
from .result import EffectSizes, build
from .validation import check_counts, label

MEASURES = ("RR", "OR", "RD")


def two_group_effects(measure: str, events1: np.ndarray, n1: np.ndarray, events2: np.ndarray,
                      n2: np.ndarray, *, add: float | None = None, to: str = "only0",
                      drop00: bool = False, ids: Sequence[Any] | None = None) -> EffectSizes:
    """Two-group effect sizes, one per study."""
    if measure not in MEASURES:
        raise ValueError(f"measure {measure!r} is not a two-group measure ({', '.join(MEASURES)})")
    check_counts(events1, n1, ids, "events1", "n1")
    check_counts(events2, n2, ids, "events2", "n2")
    amount = resolve_add(measure, add)
    a, b = events1.copy(), n1 - events1
    c, d = events2.copy(), n2 - events2
    dropped = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0)) if drop00 else np.zeros(a.size, bool)
    has_zero = ((a == 0) | (b == 0) | (c == 0) | (d == 0)) & ~dropped
    corr = per_study_add(has_zero, amount, to)
    a, b, c, d = a + corr, b + corr, c + corr, d + corr
    m1, m2 = a + b, c + d
    p1, p2 = a / m1, c / m2
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1.0 / a - 1.0 / m1 + 1.0 / c - 1.0 / m2
        elif measure == "OR":
            yi = (np.log(a) - np.log(b)) - (np.log(c) - np.log(d))
            vi = 1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d
        else:  # RD
            yi = p1 - p2
            vi = p1 * (1.0 - p1) / m1 + p2 * (1.0 - p2) / m2
    yi = np.where(dropped, np.nan, yi)
    vi = np.where(dropped, np.nan, vi)
    corr = np.where(dropped, 0.0, corr)
    bad = ~dropped & ~(np.isfinite(yi) & np.isfinite(vi))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{label(ids, i)}: {measure} is undefined without a continuity correction for a zero cell "
            f"(yi = {yi[i]}, vi = {vi[i]}); use to='only0' or another correction"
        )
    flags = ["double_zero_dropped" if x else None for x in dropped]
    return build(measure, yi, vi, corr, "counts", flags)
