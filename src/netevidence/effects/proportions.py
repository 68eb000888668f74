"""Effect sizes for single proportions: PR, PLN, PLO, PAS, PFT.

Definitions and sampling variances (large-sample, as in metafor's ``escalc()`` with ``vtype="LS"``),
with ``x`` events out of ``n`` after any continuity correction and ``p = x / n``:

* ``PR``  raw proportion, ``p``; variance ``p (1 - p) / n``.
* ``PLN`` log proportion, ``log p``; variance ``1/x - 1/n``.
* ``PLO`` logit, ``log(p / (1 - p))``; variance ``1/x + 1/(n - x)``.
* ``PAS`` arcsine square root, ``asin(sqrt(p))``; variance ``1 / (4 n)`` (Anscombe, Biometrika, 1948).
* ``PFT`` Freeman-Tukey double arcsine,
  ``(asin(sqrt(x / (n + 1))) + asin(sqrt((x + 1) / (n + 1)))) / 2``; variance ``1 / (4 n + 2)``
  (Freeman and Tukey, Annals of Mathematical Statistics, 1950).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .corrections import per_study_add, resolve_add
from .result import EffectSizes, build
from .validation import check_counts, label

MEASURES = ("PR", "PLN", "PLO", "PAS", "PFT")


def proportion_effects(measure: str, events: np.ndarray, n: np.ndarray, *, add: float | None = None,
                       to: str = "only0", ids: Sequence[Any] | None = None) -> EffectSizes:
    """Single-proportion effect sizes for ``events`` out of ``n`` per study."""
    if measure not in MEASURES:
        raise ValueError(f"measure {measure!r} is not a single-proportion measure ({', '.join(MEASURES)})")
    check_counts(events, n, ids)
    amount = resolve_add(measure, add)
    has_zero = (events == 0) | (n - events == 0)
    corr = per_study_add(has_zero, amount, to)
    x = events + corr
    m = (n - events) + corr
    nn = x + m
    p = x / nn
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "PR":
            yi, vi = p, p * (1.0 - p) / nn
        elif measure == "PLN":
            yi, vi = np.log(p), 1.0 / x - 1.0 / nn
        elif measure == "PLO":
            yi, vi = np.log(x) - np.log(m), 1.0 / x + 1.0 / m
        elif measure == "PAS":
            yi, vi = np.arcsin(np.sqrt(p)), 1.0 / (4.0 * nn)
        else:  # PFT
            yi = 0.5 * (np.arcsin(np.sqrt(x / (nn + 1.0))) + np.arcsin(np.sqrt((x + 1.0) / (nn + 1.0))))
            vi = 1.0 / (4.0 * nn + 2.0)
    _require_defined(measure, yi, vi, ids)
    return build(measure, yi, vi, corr, "counts")


def _require_defined(measure: str, yi: np.ndarray, vi: np.ndarray, ids: Sequence[Any] | None) -> None:
    bad = np.flatnonzero(~(np.isfinite(yi) & np.isfinite(vi)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{label(ids, i)}: {measure} is undefined without a continuity correction for 0% or 100% "
            f"(yi = {yi[i]}, vi = {vi[i]}); use to='only0' or another correction"
        )
