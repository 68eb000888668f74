"""Input checks shared by the effect-size functions.

Every failure raises :class:`ValueError` whose message names the offending study (its index, or its id
when ``ids`` are given) and the rule that was broken.
"""

from __future__ import annotations

from collections.abc import Sequence
import numbers
from typing import Any

import numpy as np


def label(ids: Sequence[Any] | None, i: int) -> str:
    """How study ``i`` is named in messages: ``study 3`` or ``study 'ABC-01'``."""
    if ids is None:
        return f"study {i}"
    return f"study {ids[i]!r}"


def as_float_arrays(names: Sequence[str], data: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """Convert the named inputs to 1-D float arrays of one common length.

    Scalars are read as one-study inputs. Mismatched lengths are rejected.
    """
    arrays = []
    for name in names:
        value = data[name]
        _require_numbers(name, value)
        try:
            arr = np.atleast_1d(np.asarray(value, dtype=float))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: values must be numbers ({exc})") from None
        if arr.ndim != 1:
            raise ValueError(f"{name}: expected a 1-D sequence, got shape {arr.shape}")
        arrays.append(arr)
    lengths = {name: arr.size for name, arr in zip(names, arrays)}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{n} has {k}" for n, k in lengths.items())
        raise ValueError(f"mismatched lengths: {detail} (all inputs need one value per study)")
    if arrays and arrays[0].size == 0:
        raise ValueError("no studies: inputs are empty (k = 0)")
    return tuple(arrays)


def _require_numbers(name: str, value: Any) -> None:
    """Refuse booleans and text where numbers are expected (numpy would read True as 1 and "3" as 3)."""
    raw = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
    if raw.dtype.kind == "b":
        raise ValueError(f"{name}: values must be numbers, not true/false")
    if raw.dtype.kind in "OUS":
        for item in np.atleast_1d(raw).ravel():
            if isinstance(item, (bool, np.bool_)) or not isinstance(item, (numbers.Real, type(None))):
                kind = "true/false" if isinstance(item, (bool, np.bool_)) else f"{type(item).__name__} {item!r}"
                raise ValueError(f"{name}: values must be numbers, got {kind}")


def check_ids(ids: Sequence[Any] | None, k: int) -> None:
    if ids is not None and len(ids) != k:
        raise ValueError(f"mismatched lengths: ids has {len(ids)} but the data have {k} studies")


def require_finite(name: str, arr: np.ndarray, ids: Sequence[Any] | None) -> None:
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{label(ids, i)}: {name} is {arr[i]} (values must be finite numbers)")


def require(mask_bad: np.ndarray, ids: Sequence[Any] | None, message: str, *values: np.ndarray) -> None:
    """Raise for the first study flagged in ``mask_bad``; ``message`` is formatted with its values."""
    bad = np.flatnonzero(mask_bad)
    if bad.size:
        i = int(bad[0])
        shown = tuple(_fmt(v[i]) for v in values)
        raise ValueError(f"{label(ids, i)}: " + message.format(*shown))


def check_counts(events: np.ndarray, n: np.ndarray, ids: Sequence[Any] | None,
                 events_name: str = "events", n_name: str = "n") -> None:
    """Counts: finite, non-negative, n > 0 and events <= n."""
    require_finite(events_name, events, ids)
    require_finite(n_name, n, ids)
    require(events != np.round(events), ids, f"{events_name} = {{}} is not a whole number (counts are whole numbers)",
            events)
    require(n != np.round(n), ids, f"{n_name} = {{}} is not a whole number (group sizes are whole numbers)", n)
    require(events < 0, ids, f"{events_name} = {{}} is negative (counts must be >= 0)", events)
    require(n <= 0, ids, f"{n_name} = {{}} is not positive (group sizes must be > 0)", n)
    require(events > n, ids, f"{events_name} = {{}} exceeds {n_name} = {{}} (events must not exceed n)",
            events, n)


def check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level = {level} must lie strictly between 0 and 1 (e.g. 0.95)")
    return level


def _fmt(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)
