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
    for study_id, group in firsts.groupby("study_id", sort=False):
        specific = [r for r in group.itertuples() if endpoint and endpoint in str(r.endpoints).split("+")]
        general = [r for r in group.itertuples() if not r.endpoints]
        chosen = (specific or general or [None])[0]
        if chosen is not None:
            out[str(study_id)] = str(chosen.overall_level)
    return out
