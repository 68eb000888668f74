"""Derived outcomes from the digitised curves of the evidence base, next to the published values.

For every record that points to digitised Kaplan-Meier curves, each arm's patient-level data are
reconstructed (Guyot et al., BMC Med Res Methodol 2012;12:9) and analysed: the median with its CI, the
survival at every landmark the record reports for that arm, and the Cox hazard ratio for every
comparison the record reports (or, with two curves and no reported comparison, the first arm against
the second). Each row is marked ``basis = "derived"`` and carries the published value it corresponds to
and the difference derived minus published, so that the reconstruction can be judged against the paper.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..evidence import EvidenceBase
from ..records.vocabulary import MONTHS_PER_UNIT
from .analysis import compare_arms, kaplan_meier
from .reconstruct import ReconstructionResult, reconstruct_ipd

DERIVED_COLUMNS = (
    "study_id", "study_name", "modality", "design", "data_cut", "endpoint", "subgroup", "arm", "comparator",
    "time", "time_unit", "statistic", "estimate", "percent", "ci_low", "ci_high", "ci_level", "unit",
    "basis", "method", "curves", "fit_max_abs_diff", "published", "published_source", "published_line",
    "difference",
)

_KM = "reconstructed IPD (Guyot 2012), Kaplan-Meier"
_COX = "reconstructed IPD (Guyot 2012), Cox model (Efron ties)"


def reconstruct_curves(evidence: EvidenceBase) -> dict[tuple[str, str], ReconstructionResult]:
    """Reconstruct every digitised curve of the evidence base, keyed by (study id, curve id)."""
    out = {}
    for row in evidence.curves.itertuples(index=False):
        data = evidence.curve_data[(row.study_id, row.curve_id)]
        total = None if pd.isna(row.total_events) else int(row.total_events)
        out[(row.study_id, row.curve_id)] = reconstruct_ipd(data.curve, int(row.n), at_risk=data.at_risk,
                                                            total_events=total)
    return out


def reconstructed_outcomes(evidence: EvidenceBase, *, level: float = 0.95) -> pd.DataFrame:
    """Medians, landmarks and hazard ratios of the reconstructed data, with the published values."""
    if evidence.curves.empty:
        return pd.DataFrame(columns=list(DERIVED_COLUMNS))
    results = reconstruct_curves(evidence)
    studies = evidence.studies.set_index("study_id")
    rows: list[dict[str, Any]] = []
    keys = ["study_id", "endpoint", "data_cut", "subgroup"]
    for key, group in evidence.curves.groupby(keys, dropna=False, sort=True):
        study_id, endpoint, data_cut, subgroup = (None if _missing(k) else k for k in key)
        base = {"study_id": study_id, "study_name": studies.loc[study_id, "study_name"],
                "design": studies.loc[study_id, "design"], "data_cut": data_cut, "endpoint": endpoint,
                "subgroup": subgroup, "ci_level": level, "basis": "derived"}
        reported = _reported(evidence.outcomes, study_id, endpoint, data_cut, subgroup)
        arms = {}
        for curve in group.itertuples(index=False):
            result = results[(study_id, curve.curve_id)]
            arms[curve.arm] = (curve, result)
            km = kaplan_meier(result.time, result.event, level=level)
            common = dict(base, modality=curve.modality, arm=curve.arm, comparator=None, curves=curve.curve_id,
                          fit_max_abs_diff=result.diagnostics.max_abs_diff, unit=curve.time_unit)
            published = _first(reported, statistic="median_time", arm=curve.arm)
            rows.append(dict(common, statistic="median_time", estimate=km.median, ci_low=km.median_ci_low,
                             ci_high=km.median_ci_high, time=None, time_unit=None, method=_KM,
                             **_published(published, "estimate", km.median, curve.time_unit)))
            landmarks = reported[(reported.statistic == "survival_at") & (reported.arm == curve.arm)]
            for time, unit in sorted({(float(t), u) for t, u in zip(landmarks.time, landmarks.time_unit)}):
                at = km.survival_at([time * MONTHS_PER_UNIT[unit] / MONTHS_PER_UNIT[curve.time_unit]]).iloc[0]
                published = _first(landmarks, time=time, time_unit=unit)
                rows.append(dict(common, statistic="survival_at", time=time, time_unit=unit,
                                 percent=100 * at.survival, ci_low=100 * at.ci_low, ci_high=100 * at.ci_high,
                                 method=_KM, unit=None,
                                 **_published(published, "percent", 100 * at.survival, None)))
        pairs = [(r.arm, r.comparator) for r in reported.itertuples()
                 if r.statistic == "hazard_ratio" and r.arm in arms and r.comparator in arms]
        if not pairs and len(arms) == 2:
            pairs = [tuple(arms)]
        for arm, comparator in dict.fromkeys(pairs):
            (curve_a, res_a), (curve_b, res_b) = arms[arm], arms[comparator]
            cmp = compare_arms(res_a.time, res_a.event, res_b.time, res_b.event, level=level)
            published = _first(reported, statistic="hazard_ratio", arm=arm, comparator=comparator)
            rows.append(dict(base, modality=curve_a.modality, arm=arm, comparator=comparator,
                             curves=f"{curve_a.curve_id} vs {curve_b.curve_id}",
                             fit_max_abs_diff=max(res_a.diagnostics.max_abs_diff, res_b.diagnostics.max_abs_diff),
                             statistic="hazard_ratio", estimate=cmp.hr, ci_low=cmp.hr_ci_low,
                             ci_high=cmp.hr_ci_high, time=None, time_unit=None, unit=None, method=_COX,
                             **_published(published, "estimate", cmp.hr, None)))
    return pd.DataFrame(rows, columns=list(DERIVED_COLUMNS))


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _reported(outcomes: pd.DataFrame, study_id, endpoint, data_cut, subgroup) -> pd.DataFrame:
    o = outcomes[(outcomes.study_id == study_id) & (outcomes.endpoint == endpoint)]
    o = o[o.data_cut.isna()] if data_cut is None else o[o.data_cut == data_cut]
    o = o[o.subgroup.isna()] if subgroup is None else o[o.subgroup == subgroup]
    # primary sources first, so the published value shown is the study's own where it exists
    return o.sort_values("source_kind", key=lambda s: s != "primary", kind="stable")


def _first(frame: pd.DataFrame, **where) -> pd.Series | None:
    for key, value in where.items():
        frame = frame[frame[key] == value]
    return None if frame.empty else frame.iloc[0]


def _published(row: pd.Series | None, column: str, derived: float, unit: str | None) -> dict[str, Any]:
    if row is None or _missing(row[column]):
        return {"published": np.nan, "published_source": None, "published_line": None, "difference": np.nan}
    value = float(row[column])
    if unit is not None and not _missing(row["unit"]) and row["unit"] != unit:
        value = value * MONTHS_PER_UNIT[row["unit"]] / MONTHS_PER_UNIT[unit]
    return {"published": value, "published_source": row["source"],
            "published_line": f"{row['file']}:{row['line']}", "difference": derived - value}
