"""Short reader-facing labels of vocabulary terms (statistics, modalities, endpoints, designs), one place
for every page, plot and methods paragraph.

The controlled vocabulary (:mod:`netevidence.records.vocabulary`) describes each term in a sentence for
curators; a page needs a noun phrase. Unknown codes are returned with underscores as spaces.
"""

from __future__ import annotations

import re
from typing import Mapping

from .records import vocabulary
from .values import na_to_none

STATISTIC_LABELS: Mapping[str, str] = {
    "count": "events out of n",
    "events": "numbers of events",
    "proportion": "percentages",
    "hazard_ratio": "hazard ratios",
    "odds_ratio": "odds ratios",
    "median_time": "median times to event",
    "survival_at": "survival at a time point",
    "rmst": "restricted mean survival times",
    "rmst_difference": "differences in restricted mean survival time",
    "range": "ranges across studies",
    "median_of_studies": "medians across studies",
    "p_value": "p-values without an estimate",
}

PROPORTION_MODEL_LABELS: Mapping[str, str] = {"glmm": "GLMM", "logit": "logit", "ft": "Freeman-Tukey"}


def term_label(kind: str, code: str) -> str:
    """The short label of vocabulary term ``code`` of ``kind`` (``statistic``, ``modality``, ``endpoint``,
    ``design``, ``proportion_model`` or ``qualifier``: a curator's free slug such as ``hepatic_failure`` or ``liver-abscess``,
    shown as words)."""
    if kind == "statistic":
        return STATISTIC_LABELS.get(code, code.replace("_", " "))
    if kind == "modality":
        return vocabulary.modality_label(code) if "+" in code or code in vocabulary.MODALITIES \
            else code.replace("_", " ")
    if kind == "endpoint":
        return vocabulary.ENDPOINTS.get(code, code.replace("_", " "))
    if kind == "design":
        return vocabulary.DESIGNS.get(code, code.replace("_", " "))
    if kind == "proportion_model":
        return PROPORTION_MODEL_LABELS.get(code, code)
    if kind == "qualifier":
        return re.sub(r"(?<=[a-z])(?=\d)", " ", re.sub(r"[_-]+", " ", code)).strip()
    raise ValueError(f"unknown vocabulary kind {kind!r} (known: statistic, modality, endpoint, design, "
                     "proportion_model, qualifier)")


def _records(table) -> list[dict]:
    return table.to_dict("records") if hasattr(table, "to_dict") else list(table)


def data_cut_labels(data_cuts) -> dict[tuple[str, str], str]:
    """The label of each data cut, keyed by ``(study_id, data_cut)``, from the data-cuts table
    (:func:`netevidence.tables.data_cuts_table`, or its rows as dicts); a cut without a label keeps its id."""
    return {(r["study_id"], r["data_cut"]): (na_to_none(r.get("label")) or r["data_cut"])
            for r in _records(data_cuts)}


def data_cut_order(data_cuts) -> dict[tuple[str, str], int]:
    """The rank of each data cut of a study in time, keyed by ``(study_id, data_cut)``: by cut-off date, a
    cut with only a year counted from the start of that year; cuts with neither come last; ties keep the
    record's order."""
    def when(r) -> tuple[int, str]:
        date, year = na_to_none(r.get("cutoff_date")), na_to_none(r.get("year"))
        if date is not None:
            return 0, str(date)
        if year is not None:
            return 0, f"{int(year):04d}-01-01"
        return 1, ""

    rows = _records(data_cuts)
    ranked = sorted(range(len(rows)), key=lambda i: (rows[i]["study_id"], when(rows[i]), i))
    out, previous, rank = {}, None, 0
    for i in ranked:
        r = rows[i]
        rank = rank + 1 if r["study_id"] == previous else 0
        previous = r["study_id"]
        out[(r["study_id"], r["data_cut"])] = rank
    return out
