"""The order and the labels of a forest plot's rows (``forest:`` in a specification, and
:func:`netevidence.plots.forest_plot` called directly).

Rows keep their block (studies before published summaries), their subgroup (in order of first
appearance) and their role (pooled studies, then rows shown without a variance); within those, ``sort``
orders the studies by publication year, by effect (smallest first, as metafor's ``forest(res,
order="obs")``), by weight (heaviest first) or by label. Rows without the sort value go last, and ties
keep their label order and then their order as given.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from .schema import FOREST_SORTS

ROLE_ORDER = {"study": 0, "shown": 1, "umbrella": 2}


def _first_seen(values: pd.Series) -> pd.Series:
    order = {v: i for i, v in enumerate(dict.fromkeys(values))}
    return values.map(order)


def _sort_value(rows: pd.DataFrame, by: str) -> pd.Series:
    """The key ``by`` orders on (NaN where a row has none): smaller first."""
    if by == "year":
        col = rows["year"] if "year" in rows.columns else pd.Series(np.nan, index=rows.index)
        return pd.to_numeric(col, errors="coerce")
    if by == "effect":
        return pd.to_numeric(rows["value"], errors="coerce")
    if by == "weight":
        return -pd.to_numeric(rows["weight"], errors="coerce")
    return pd.Series(np.nan, index=rows.index)   # "label": the label key below does it


def order_rows(rows: pd.DataFrame, by: str = "year") -> pd.DataFrame:
    """``rows`` (a stratum's rows: ``block``, ``group``, ``role``, ``label`` and the sort column) in the
    order of ``by`` (one of :data:`netevidence.specs.schema.FOREST_SORTS`), index reset."""
    if by not in FOREST_SORTS:
        raise ValueError(f"unknown sort {by!r}; choose one of {', '.join(FOREST_SORTS)}")
    if not len(rows):
        return rows.reset_index(drop=True)
    keys = pd.DataFrame({
        "block": (rows["block"] == "published").astype(int),
        "group": _first_seen(rows["group"].astype(str)),
        "role": rows["role"].map(ROLE_ORDER).fillna(3),
        "value": _sort_value(rows, by),
        "label": rows["label"].astype(str).str.casefold() if by == "label" else rows["label"].astype(str),
        "given": np.arange(len(rows)),
    }, index=rows.index)
    order = keys.sort_values(["block", "group", "role", "value", "label", "given"], kind="stable",
                             na_position="last").index
    return rows.loc[order].reset_index(drop=True)


def relabel(rows: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    """``rows`` with the ``label`` of each study in ``labels`` (study id -> label) replaced."""
    if not labels:
        return rows
    out = rows.copy()
    out["label"] = [labels.get(sid, lab) for sid, lab in zip(out["study_id"], out["label"])]
    return out
