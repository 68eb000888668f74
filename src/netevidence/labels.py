"""Short reader-facing labels of vocabulary terms (statistics, modalities, endpoints, designs), one place
for every page, plot and methods paragraph.

The controlled vocabulary (:mod:`netevidence.records.vocabulary`) describes each term in a sentence for
curators; a page needs a noun phrase. Unknown codes are returned with underscores as spaces.
"""

from __future__ import annotations

from typing import Mapping

from .records import vocabulary

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


def term_label(kind: str, code: str) -> str:
    """The short label of vocabulary term ``code`` of ``kind`` (``statistic``, ``modality``, ``endpoint``
    or ``design``)."""
    if kind == "statistic":
        return STATISTIC_LABELS.get(code, code.replace("_", " "))
    if kind == "modality":
        return vocabulary.modality_label(code) if "+" in code or code in vocabulary.MODALITIES \
            else code.replace("_", " ")
    if kind == "endpoint":
        return vocabulary.ENDPOINTS.get(code, code.replace("_", " "))
    if kind == "design":
        return vocabulary.DESIGNS.get(code, code.replace("_", " "))
    raise ValueError(f"unknown vocabulary kind {kind!r} (known: statistic, modality, endpoint, design)")
