"""Summaries of the study medians of a stratum: the median of medians or quantile estimation.

Study medians reported without a confidence interval cannot be pooled by inverse variance from their CI.
When a stratum holds at least two primary-study medians (``median_time`` rows that are pooled or shown, and
medians not reached), ``model.medians`` chooses the summary:

* ``median_of_medians`` (default): :func:`netevidence.pooling.median_of_medians` (McGrath et al.,
  Statistics in Medicine, 2019), keeping the not-reached medians as right-censored values;
* ``qe``: :func:`netevidence.pooling.qe_pool`, quantile estimation (McGrath et al., Statistical Methods in
  Medical Research, 2020): for each study that reports its range (``range_low``, ``range_high``) and its
  number of patients (the row's ``n``, else the study's), a distribution fitted to median and range gives
  the variance of the median, and the medians are pooled by inverse variance (the specification's τ²
  estimator and CI); the other medians, not-reached ones included, are listed with the reason.

All medians are put in months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pooling.medians import MedianOfMediansResult, median_of_medians
from ..pooling.quantiles import QuantileEstimationResult, qe_pool
from ..records.vocabulary import MONTHS_PER_UNIT
from .schema import AnalysisSpec

NOT_REACHED_REASON = "not poolable: median not reached"


def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x))


def _num(r, name: str, factor: float = 1.0) -> float:
    x = r.get(name)
    return np.nan if _missing(x) else float(x) * factor


def stratum_medians(spec: AnalysisSpec, frame: pd.DataFrame) -> MedianOfMediansResult | QuantileEstimationResult | None:
    """The summary of the stratum's primary-study medians, or None when there are fewer than two."""
    if spec.model.medians == "none" or "statistic" not in frame.columns:
        return None
    rows = frame[(frame["statistic"] == "median_time")
                 & (frame["role"].isin(["study", "shown"])
                    | ((frame["role"] == "excluded") & (frame["reason"] == NOT_REACHED_REASON)))]
    if len(rows) < 2:
        return None
    values, not_reached, labels, n, low, high = [], [], [], [], [], []
    for r in rows.to_dict("records"):
        nr = bool(r.get("not_reached")) if not _missing(r.get("not_reached")) else False
        unit = r.get("unit")
        factor = MONTHS_PER_UNIT.get(unit, 1.0) if not _missing(unit) else 1.0
        values.append(_num(r, "estimate", factor))
        not_reached.append(nr)
        labels.append(str(r.get("study_name")))
        size = _num(r, "n")
        n.append(size if np.isfinite(size) else _num(r, "n_study"))
        low.append(_num(r, "range_low", factor))
        high.append(_num(r, "range_high", factor))
    if spec.model.medians == "qe":
        return qe_pool(values, n, minimum=low, maximum=high, not_reached=not_reached, labels=labels,
                       method="REML" if spec.model.method == "bayes" else spec.model.method, ci=spec.model.ci,
                       level=spec.model.level)
    return median_of_medians(values, not_reached=not_reached, ci=spec.model.medians_ci,
                             level=spec.model.level, labels=labels)


def medians_note(medians: MedianOfMediansResult | QuantileEstimationResult) -> str:
    """The stratum note naming the summary of the study medians, its result and its assumptions."""
    if isinstance(medians, QuantileEstimationResult):
        text = (f"quantile estimation on the {medians.k_total} study medians in months (McGrath et al. 2020): "
                f"{medians.describe()}; it assumes {medians.assumptions}")
        names = medians.labels or tuple(str(i) for i in range(medians.k_total))
        by_reason: dict[str, list[str]] = {}
        for name, why in zip(names, medians.reasons):
            if why:
                by_reason.setdefault(why, []).append(str(name))
        for why, who in by_reason.items():
            text += f"; not pooled ({why}): {', '.join(who)}"
        return text
    return (f"median of the {medians.k} study medians in months (McGrath et al. 2019; "
            f"{medians.k_not_reached} not reached, kept as censored): {medians.describe()}; it assumes the "
            "study medians are independent draws from one distribution and does not weight by size")
