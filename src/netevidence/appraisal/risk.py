"""Which risk-of-bias judgement applies to a study's result for one endpoint."""

from __future__ import annotations

import pandas as pd


def study_risk_levels(risk_of_bias: pd.DataFrame, endpoint: str | None = None) -> dict[str, str]:
    """Study id -> overall shared level (low, moderate, high, critical, no_information).

    ``risk_of_bias`` is the table of :func:`netevidence.tables.risk_of_bias_table`. For each study the
    assessment whose ``endpoints`` name ``endpoint`` is used; otherwise the study's whole-study assessment
    (empty ``endpoints``). Studies without a fitting assessment are absent."""
    out: dict[str, str] = {}
    if risk_of_bias.empty:
        return out
    firsts = risk_of_bias.drop_duplicates(["study_id", "assessment"])
    # one pass over the columns (not a pandas group per study: that made each stratum O(studies) in pandas
    # calls, and a report O(strata x studies)); per study the first specific, else the first general row
    specific: dict[str, object] = {}
    general: dict[str, object] = {}
    order: list = []
    for study_id, endpoints, level in zip(firsts["study_id"], firsts["endpoints"], firsts["overall_level"]):
        if pd.isna(study_id):
            continue
        if study_id not in specific and study_id not in general:
            order.append(study_id)
        if endpoint and endpoint in str(endpoints).split("+"):
            specific.setdefault(study_id, level)
        elif not endpoints:
            general.setdefault(study_id, level)
    for study_id in order:
        if study_id in specific:
            out[str(study_id)] = str(specific[study_id])
        elif study_id in general:
            out[str(study_id)] = str(general[study_id])
    return out
