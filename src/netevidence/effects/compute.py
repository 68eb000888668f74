"""``effect_size(measure, **data)``: one entry point for every measure, returning a DataFrame."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .proportions import MEASURES as PROPORTION_MEASURES
from .proportions import proportion_effects
from .reported import ratio_from_ci, ratio_from_p, ratio_from_peto
from .result import EffectSizes
from .survival import median_effects, ratio_of_medians, survival_from_ci, survival_from_n_at_risk
from .two_group import MEASURES as TWO_GROUP_MEASURES
from .two_group import two_group_effects
from .validation import as_float_arrays, check_ids, check_level

COUNT_MEASURES = PROPORTION_MEASURES + TWO_GROUP_MEASURES
MEASURES = COUNT_MEASURES + ("HR", "MEDIAN", "ROM_SURV", "SURV")

# the data each measure accepts: one tuple of required names per route, then optional flag arrays
_ROUTES: dict[str, tuple[tuple[str, ...], ...]] = {
    **{m: (("events", "n"),) for m in PROPORTION_MEASURES},
    **{m: (("events1", "n1", "events2", "n2"),) for m in TWO_GROUP_MEASURES},
    "HR": (("hr", "ci_low", "ci_high"), ("hr", "p"), ("o_minus_e", "v")),
    "MEDIAN": (("median", "ci_low", "ci_high"),),
    "ROM_SURV": (("median1", "ci_low1", "ci_high1", "median2", "ci_low2", "ci_high2"),),
    "SURV": (("surv", "ci_low", "ci_high"), ("surv", "n_at_risk")),
}
_FLAGS: dict[str, tuple[str, ...]] = {
    "MEDIAN": ("ci_high_not_reached",),
    "ROM_SURV": ("ci_high_not_reached1", "ci_high_not_reached2"),
}


def _route(measure: str, data: dict[str, Any]) -> tuple[str, ...]:
    given = set(data) - set(_FLAGS.get(measure, ()))
    routes = _ROUTES[measure]
    for names in routes:
        if given == set(names):
            return names
    options = " | ".join(", ".join(r) for r in routes)
    raise ValueError(f"{measure} takes the data ({options}); got {', '.join(sorted(data)) or 'nothing'}")


def _bools(name: str, value: Any, k: int) -> np.ndarray:
    raw = np.atleast_1d(np.asarray(value, dtype=object))
    arr = np.asarray(pd.array(list(raw), dtype="boolean").fillna(False), dtype=bool)
    if arr.size != k:
        raise ValueError(f"mismatched lengths: {name} has {arr.size} but the data have {k} studies")
    return arr


def compute(measure: str, *, ids: Sequence[Any] | None = None, add: float | None = None,
            to: str = "only0", drop00: bool = False, level: float = 0.95, ci_scale: str = "plain",
            **data: Any) -> EffectSizes:
    """The :class:`EffectSizes` behind :func:`effect_size` (same arguments)."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r} (known: {', '.join(MEASURES)})")
    check_level(level)
    if measure not in COUNT_MEASURES and (add is not None or to != "only0"):
        raise ValueError(f"add= and to= apply to count measures only, not {measure}")
    if measure not in TWO_GROUP_MEASURES and drop00:
        raise ValueError(f"drop00= applies to two-group measures only, not {measure}")
    names = _route(measure, data)
    arrays = dict(zip(names, as_float_arrays(names, data)))
    k = next(iter(arrays.values())).size
    check_ids(ids, k)
    flags = {f: _bools(f, data[f], k) for f in _FLAGS.get(measure, ()) if f in data}
    if measure in PROPORTION_MEASURES:
        return proportion_effects(measure, arrays["events"], arrays["n"], add=add, to=to, ids=ids)
    if measure in TWO_GROUP_MEASURES:
        return two_group_effects(measure, arrays["events1"], arrays["n1"], arrays["events2"], arrays["n2"],
                                 add=add, to=to, drop00=drop00, ids=ids)
    if measure == "HR":
        if "o_minus_e" in arrays:
            return ratio_from_peto("HR", arrays["o_minus_e"], arrays["v"], ids=ids)
        if "p" in arrays:
            return ratio_from_p("HR", arrays["hr"], arrays["p"], ids=ids)
        return ratio_from_ci("HR", arrays["hr"], arrays["ci_low"], arrays["ci_high"], level=level, ids=ids)
    if measure == "MEDIAN":
        return median_effects(arrays["median"], arrays["ci_low"], arrays["ci_high"],
                              ci_high_not_reached=flags.get("ci_high_not_reached"), level=level, ids=ids)
    if measure == "ROM_SURV":
        return ratio_of_medians(*(arrays[n] for n in names), level=level, ids=ids,
                                ci_high_not_reached1=flags.get("ci_high_not_reached1"),
                                ci_high_not_reached2=flags.get("ci_high_not_reached2"))
    if "n_at_risk" in arrays:
        return survival_from_n_at_risk(arrays["surv"], arrays["n_at_risk"], ids=ids)
    return survival_from_ci(arrays["surv"], arrays["ci_low"], arrays["ci_high"], level=level,
                            ci_scale=ci_scale, ids=ids)


def effect_size(measure: str, *, ids: Sequence[Any] | None = None, add: float | None = None,
                to: str = "only0", drop00: bool = False, level: float = 0.95, ci_scale: str = "plain",
                **data: Any) -> pd.DataFrame:
    """Effect sizes ``yi`` and sampling variances ``vi``, one row per study.

    Parameters
    ----------
    measure:
        ``PR``, ``PLN``, ``PLO``, ``PAS``, ``PFT`` (``events=, n=``); ``RR``, ``OR``, ``RD``
        (``events1=, n1=, events2=, n2=``); ``HR`` (``hr=, ci_low=, ci_high=`` or ``hr=, p=`` or
        ``o_minus_e=, v=``); ``MEDIAN`` (``median=, ci_low=, ci_high=``, optional
        ``ci_high_not_reached=``); ``ROM_SURV`` (``median1=, ci_low1=, ci_high1=, median2=, ci_low2=,
        ci_high2=``, optional ``ci_high_not_reached1=/2=``); ``SURV`` (``surv=, ci_low=, ci_high=`` or
        ``surv=, n_at_risk=``, probabilities in [0, 1]).
    ids:
        Optional study labels used in error messages (index otherwise).
    add, to, drop00:
        Continuity correction for count measures, as metafor's ``escalc()``: ``add`` defaults to 1/2
        (0 for ``PAS``/``PFT``), ``to`` is ``"only0"``, ``"all"``, ``"if0all"`` or ``"none"``.
    level:
        Confidence level of the reported intervals.
    ci_scale:
        ``SURV`` only: ``"plain"`` (delta method from a plain interval) or ``"loglog"``.

    Returns
    -------
    DataFrame with columns ``yi, vi, measure, correction, derivation, flags``.
    """
    return compute(measure, ids=ids, add=add, to=to, drop00=drop00, level=level, ci_scale=ci_scale,
                   **data).to_frame()
