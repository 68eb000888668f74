"""The metafor reference results of tests/reference/sensitivity.R and helpers to compare with them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

REF = json.loads((Path(__file__).parent / "reference" / "sensitivity.json").read_text())
DATA = REF["datasets"]
RTOL, ATOL = 1e-6, 1e-10


def results(*kinds):
    """The reference results of the given kinds, in the order the R script wrote them."""
    return [r for r in REF["results"] if r["kind"] in kinds]


def arr(x):
    return np.atleast_1d(np.array(x, dtype=float))


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.atleast_1d(np.asarray(actual, dtype=float)), arr(expected),
                               rtol=rtol, atol=atol, equal_nan=True)


def yv(ref):
    """Effect sizes and sampling variances of a reference result's data set."""
    ds = DATA[ref["dataset"]]
    return np.asarray(ds["yi"], dtype=float), np.asarray(ds["vi"], dtype=float)


def moderators(ref):
    """The moderator matrix and names of a reference result (None, [] when it has none)."""
    names = ref["args"].get("mods") or []
    if not names:
        return None, []
    ds = DATA[ref["dataset"]]
    return np.column_stack([ds[m] for m in names]), names
