"""Continuity corrections for zero cells, with the same rules and defaults as metafor's ``escalc()``.

``to`` selects the studies that receive ``add`` in every cell of their table:

* ``"only0"`` (default): studies with at least one zero cell;
* ``"all"``: every study;
* ``"if0all"``: every study, provided at least one study has a zero cell;
* ``"none"``: no study.

The default amount is 1/2 (Haldane, Annals of Human Genetics, 1956), except for the arcsine
measures (``PAS``, ``PFT``), which are defined at 0 and 1 and get no correction unless ``add`` is given
explicitly (as in metafor). For two-group tables ``drop00=True`` sets studies with no events in both
groups, or only events in both groups, to missing (metafor's ``drop00``).
"""

from __future__ import annotations

import numpy as np

TO_OPTIONS = ("only0", "all", "if0all", "none")
DEFAULT_ADD = 0.5
NO_DEFAULT_CORRECTION = frozenset({"PAS", "PFT"})


def resolve_add(measure: str, add: float | None) -> float:
    """The amount to add: the caller's ``add`` or the measure's default."""
    if add is None:
        return 0.0 if measure in NO_DEFAULT_CORRECTION else DEFAULT_ADD
    add = float(add)
    if not np.isfinite(add) or add < 0:
        raise ValueError(f"add = {add} must be a finite number >= 0")
    return add


def check_to(to: str) -> str:
    if to not in TO_OPTIONS:
        raise ValueError(f"to = {to!r} must be one of {', '.join(TO_OPTIONS)}")
    return to


def per_study_add(has_zero: np.ndarray, add: float, to: str) -> np.ndarray:
    """The amount added to each cell of each study (0 where no correction applies)."""
    check_to(to)
    k = has_zero.size
    if to == "all":
        return np.full(k, add)
    if to == "only0":
        return np.where(has_zero, add, 0.0)
    if to == "if0all":
        return np.full(k, add if bool(has_zero.any()) else 0.0)
    return np.zeros(k)
