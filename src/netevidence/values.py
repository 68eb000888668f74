"""Missing values and plain Python values: one rule for what counts as "not given" in a table cell.

Tables hold ``None``, ``pd.NA`` and ``NaN`` for a value a record does not give; pages, exports and the
selection rules read all three as ``None``. Pages and cached page content need plain Python numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def na_to_none(x: Any) -> Any:
    """``x``, or ``None`` when it is ``None``, ``pd.NA`` or a float NaN."""
    if x is None or x is pd.NA:
        return None
    if isinstance(x, (float, np.floating)) and math.isnan(float(x)):
        return None
    return x


def plain_value(x: Any) -> Any:
    """``x`` as a plain, JSON-serialisable Python value: ``None`` for a missing value (see
    :func:`na_to_none`), numpy scalars as ``float``, ``int`` or ``bool``; anything else unchanged."""
    x = na_to_none(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x
