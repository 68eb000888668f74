"""Small array helpers shared by the numeric modules."""

from __future__ import annotations

import numpy as np


def readonly(values, dtype=float) -> np.ndarray:
    """A read-only copy of ``values`` as an array of ``dtype``, for fields of frozen result objects."""
    array = np.array(values, dtype=dtype, copy=True)
    array.setflags(write=False)
    return array
