"""The single-proportion model of a stratum chosen by the specification (GLMM first).

For strata of single proportions, :func:`netevidence.pooling.pool_proportions` is run on the pooled rows
with ``model.proportion_model`` (``glmm`` by default, falling back to ``logit`` with the reason when the
GLMM cannot be fitted; ``ft`` with its back-transform caveat). Its result is reported beside the
inverse-variance pool of ``model.measure`` that the forest plot draws. ``model.study_ci: exact`` shows each
study's Clopper-Pearson interval instead of the interval of the measure's scale.
:func:`compare_proportion_models` pools the same rows with every model, for the comparison on the methods page.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pooling.proportions import ProportionPoolResult, clopper_pearson, pool_proportions
from .schema import PROPORTION_MEASURES, AnalysisSpec


def _counts(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    n = pd.to_numeric(rows["n"], errors="coerce").to_numpy(float)
    events = pd.to_numeric(rows["events"], errors="coerce").to_numpy(float)
    if "percent" in rows.columns:
        pct = pd.to_numeric(rows["percent"], errors="coerce").to_numpy(float)
        events = np.where(np.isnan(events), np.round(pct * n / 100.0), events)
    if np.isnan(n).any() or np.isnan(events).any():
        return None
    return events, n


def stratum_proportions(spec: AnalysisSpec, measure: str | None, pooled: pd.DataFrame) -> ProportionPoolResult | None:
    """The chosen proportion model on the stratum's pooled rows (None when not single proportions)."""
    m = spec.model
    if measure not in PROPORTION_MEASURES or m.proportion_model == "none" or not m.pool:
        return None
    if len(pooled) < m.min_studies or not {"events", "n"} <= set(pooled.columns):
        return None
    counts = _counts(pooled)
    if counts is None:
        return None
    return pool_proportions(*counts, model=m.proportion_model, study_ci="exact", level=m.level,
                            method="REML" if m.method == "bayes" else m.method, ci=m.ci,
                            labels=list(pooled["label"]))


COMPARED_MODELS = ("glmm", "logit", "ft")


def compare_proportion_models(spec: AnalysisSpec, chosen: ProportionPoolResult) -> tuple[ProportionPoolResult, ...]:
    """The stratum's single proportions (those of ``chosen``, the specification's model) pooled with each of
    :data:`COMPARED_MODELS`, with the specification's level, τ² estimator and CI; a GLMM that cannot be fitted
    comes back as the logit model with its ``fallback`` reason."""
    m = spec.model
    labels = list(chosen.labels) if chosen.labels else None
    return tuple(pool_proportions(chosen.events, chosen.n, model=model, study_ci="exact", level=m.level,
                                  method="REML" if m.method == "bayes" else m.method, ci=m.ci, labels=labels)
                 for model in COMPARED_MODELS)


def exact_study_intervals(shown: pd.DataFrame, mask: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson limits for the rows in ``mask`` (NaN where events or n are missing)."""
    lo = np.full(len(shown), np.nan)
    hi = np.full(len(shown), np.nan)
    idx = np.flatnonzero(mask)
    if idx.size:
        counts = _counts(shown.iloc[idx])
        if counts is not None:
            lo[idx], hi[idx] = clopper_pearson(*counts, level=level)
    return lo, hi
