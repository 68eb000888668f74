"""How the evidence accrued: a cumulative meta-analysis of a stratum by year of publication.

The pooled studies of a stratum are added one at a time in the order of their records' publication year
(ties in the forest plot's order), each step pooled with the stratum's own model, as metafor's
``cumul(res, order = year)`` does (Lau et al., New England Journal of Medicine 1992, introduced the
cumulative view). Studies without a year are left out and counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..evidence import EvidenceBase
from ..pooling.sensitivity import cumulative
from .run import Stratum

COLUMNS = ("year", "study_id", "label", "k", "estimate", "ci_low", "ci_high", "tau2")


def cumulative_by_year(evidence: EvidenceBase, stratum: Stratum) -> tuple[pd.DataFrame, int]:
    """One row per pooled study in order of publication year: the pool of it and every study before it,
    back-transformed to the stratum's reporting scale. Returns the table and the number of pooled studies
    left out for want of a year. An empty table when the stratum is not pooled."""
    fit = stratum.fit
    if fit is None:
        return pd.DataFrame(columns=list(COLUMNS)), 0
    pooled = stratum.rows[stratum.rows["role"] == "study"]
    years = {r["study_id"]: r.get("year") for r in evidence.studies[["study_id", "year"]].to_dict("records")}
    year = pd.to_numeric(pooled["study_id"].map(years), errors="coerce")
    dated = pooled[year.notna()]
    missing = int(year.isna().sum())
    if dated.empty:
        return pd.DataFrame(columns=list(COLUMNS)), missing
    res = cumulative(dated["yi"].to_numpy(float), dated["vi"].to_numpy(float),
                     order=year[year.notna()].to_numpy(float), method=fit.method, ci=fit.ci, level=fit.level,
                     transf=stratum.transf, labels=list(dated["label"]))
    order = np.asarray(res.order)
    low = np.minimum(res.ci_low, res.ci_high)  # a decreasing back-transform swaps the limits
    high = np.maximum(res.ci_low, res.ci_high)
    table = pd.DataFrame({
        "year": year[year.notna()].to_numpy(int)[order], "study_id": dated["study_id"].to_numpy()[order],
        "label": list(res.study), "k": np.asarray(res.k), "estimate": np.asarray(res.estimate),
        "ci_low": low, "ci_high": high, "tau2": np.asarray(res.tau2)})
    return table, missing
