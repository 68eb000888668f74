"""The median of study medians of a stratum (McGrath et al., Statistics in Medicine, 2019).

Study medians reported without a confidence interval cannot be pooled by inverse variance. When a
stratum holds at least two primary-study medians (``median_time`` rows that are pooled or shown, and
medians not reached), :func:`netevidence.pooling.median_of_medians` summarises them, keeping the
not-reached medians as right-censored values. All medians are put in months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pooling.medians import MedianOfMediansResult, median_of_medians
from ..records.vocabulary import MONTHS_PER_UNIT
from .schema import AnalysisSpec

NOT_REACHED_REASON = "not poolable: median not reached"


def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x))


def stratum_medians(spec: AnalysisSpec, frame: pd.DataFrame) -> MedianOfMediansResult | None:
    """The median of the stratum's primary-study medians, or None when there are fewer than two."""
    if spec.model.medians == "none" or "statistic" not in frame.columns:
        return None
    rows = frame[(frame["statistic"] == "median_time")
                 & (frame["role"].isin(["study", "shown"])
                    | ((frame["role"] == "excluded") & (frame["reason"] == NOT_REACHED_REASON)))]
    if len(rows) < 2:
        return None
    values, not_reached, labels = [], [], []
    for r in rows.to_dict("records"):
        nr = bool(r.get("not_reached")) if not _missing(r.get("not_reached")) else False
        unit = r.get("unit")
        factor = MONTHS_PER_UNIT.get(unit, 1.0) if not _missing(unit) else 1.0
        est = r.get("estimate")
        values.append(np.nan if _missing(est) else float(est) * factor)
        not_reached.append(nr)
        labels.append(str(r.get("study_name")))
    return median_of_medians(values, not_reached=not_reached, ci=spec.model.medians_ci,
                             level=spec.model.level, labels=labels)
