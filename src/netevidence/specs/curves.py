"""Survival curves of an analysis: model-based curves through reported landmarks with their summary
curve, and Kaplan-Meier curves reconstructed from digitised figures.

Model-based curves come from :func:`netevidence.survival.parametric.fit_parametric` (Weibull through two
or more reported times, exponential through one); each curve is used only up to the last time its study
reported, never extrapolated. The summary curve of a group is
:func:`netevidence.survival.summary_curve.summary_curve` (Combescure, Foucher & Jackson, Statistics in
Medicine 2014) with the expected numbers at risk of the model-based curves. Reconstruction is
:func:`netevidence.survival.reconstruct_ipd` (Guyot et al., BMC Medical Research Methodology 2012) and
the Kaplan-Meier estimate :func:`netevidence.survival.analysis.kaplan_meier`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from ..evidence import EvidenceBase
from ..records import vocabulary
from ..survival import reconstruct_ipd
from ..survival.analysis import kaplan_meier
from ..survival.parametric import ParametricCurve, fit_parametric
from ..survival.summary_curve import StudyIntervals, SummaryCurve, summary_curve
from ..values import na_to_none
from .schema import AnalysisSpec


@dataclass(frozen=True)
class SurvivalCurves:
    """``curves``: model-based study curves (group, label, time, survival); ``points``: the reported
    numbers they pass through; ``summaries``: each group's summary curve with its pointwise CI."""

    endpoint: str
    curves: pd.DataFrame
    points: pd.DataFrame
    summaries: pd.DataFrame
    fits: tuple[ParametricCurve, ...] = field(repr=False)
    summary_fits: Mapping[str, SummaryCurve] = field(repr=False)
    notes: tuple[str, ...]


@dataclass(frozen=True)
class KaplanMeierPanel:
    """A reconstructed Kaplan-Meier curve (``km``: time, survival, ci_low, ci_high, n_at_risk, n_event,
    n_censored at every distinct reconstructed time) over its digitised points (``digitised``: time,
    survival as fractions)."""

    label: str
    study: str
    digitised: pd.DataFrame
    km: pd.DataFrame
    n: int
    events: int
    median: float
    diagnostics: str

    def at_risk(self, times) -> np.ndarray:
        """Numbers at risk of the reconstructed data at ``times``: patients whose time is ``t`` or later
        (lifelines' ``add_at_risk_counts`` and survminer's risk table count the same way)."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        t = self.km["time"].to_numpy(float)
        n_risk = self.km["n_at_risk"].to_numpy(int)
        first = np.searchsorted(t, times, side="left")
        return np.where(first < len(t), n_risk[np.minimum(first, len(t) - 1)], 0).astype(int)

    def censored(self) -> pd.DataFrame:
        """Times with censored patients and the survival there (where censoring marks are drawn)."""
        return self.km.loc[self.km["n_censored"] > 0, ["time", "survival", "n_censored"]].reset_index(drop=True)


def _months(t, unit) -> float:
    return float(t) * vocabulary.MONTHS_PER_UNIT[unit or "months"]


def survival_curves(evidence: EvidenceBase, spec: AnalysisSpec, frame: pd.DataFrame | None = None) -> SurvivalCurves:
    """Model-based curves per study arm and a summary curve per group (see the module docstring)."""
    from .selection import select_rows

    cfg = spec.survival_curves
    assert cfg is not None
    sel = spec.select.model_copy(update={"endpoints": [cfg.endpoint], "statistics": ["survival_at", "median_time"],
                                         "times": None, "time_unit": None})
    rows = select_rows(evidence, spec.model_copy(update={"select": sel, "stratify": []}))
    rows = rows[rows["role"].isin(["study", "shown"]) & ~rows["published"] & rows["comparator"].map(
        lambda c: na_to_none(c) is None)]
    patients = {r.study_id: na_to_none(r.patients) for r in evidence.studies.itertuples(index=False)}
    arm_n = {(r.study_id, r.arm): na_to_none(r.patients) for r in evidence.arms.itertuples(index=False)}
    grid = np.arange(3.0, cfg.horizon + 1e-9, 3.0)
    fits, curve_rows, point_rows, notes = [], [], [], []
    intervals: dict[str, list[StudyIntervals]] = {}
    for (study, arm), sub in rows.groupby([rows["study_id"], rows["arm"].map(lambda a: na_to_none(a) or "")],
                                          sort=True):
        name = sub["study_name"].iloc[0] + (f" ({arm})" if arm else "")
        group = sub["modality"].iloc[0] if cfg.group_by == "modality" else name
        landmarks, median = [], None
        for r in sub.to_dict("records"):
            if r["statistic"] == "survival_at" and na_to_none(r["percent"]) is not None:
                landmarks.append((_months(r["time"], r["time_unit"]), float(r["percent"]) / 100))
            elif r["statistic"] == "median_time" and na_to_none(r["estimate"]) is not None:
                median = _months(r["estimate"], na_to_none(r["unit"]) or "months")
        points = landmarks + ([(median, 0.5)] if median is not None else [])
        if not points:
            continue
        times = {t for t, _ in points}
        model = cfg.model if len(times) >= 2 else "exponential"
        try:
            curve = fit_parametric(landmarks=landmarks or None, median=median, model=model, label=name)
        except ValueError as exc:
            notes.append(f"{name}: no curve ({exc})")
            continue
        fits.append(curve)
        last = max(times)
        tt = np.linspace(0.0, last, 60)
        for t, s in zip(tt, through_points(tt, curve.survival(tt), points)):
            curve_rows.append({"group": group, "label": name, "time": float(t), "survival": float(s),
                               "model": curve.model})
        for t, s in points:
            point_rows.append({"group": group, "label": name, "time": t, "survival": s,
                               "kind": "median" if (median is not None and t == median and s == 0.5) else "landmark"})
        n = arm_n.get((study, arm)) if arm else patients.get(study)
        if n is None:
            notes.append(f"{name}: the number of patients is not reported, so the curve is not in the summary")
            continue
        iv = curve.study_intervals(grid, int(n))
        beyond = grid > last + 1e-9
        intervals.setdefault(group, []).append(StudyIntervals(
            label=name, survival=np.where(beyond, np.nan, iv.survival),
            n_at_risk=np.where(beyond, np.nan, iv.n_at_risk), basis=iv.basis))
        notes.append(f"{name}: {model} curve through {curve.n_points} reported point(s) (model-based)")
    summary_rows, summary_fits = [], {}
    for group, studies in sorted(intervals.items()):
        if len(studies) < 2:
            notes.append(f"{vocabulary.MODALITIES.get(group, group).split(',')[0].capitalize()}: one study, so no summary curve "
                         "(a summary curve needs k >= 2)")
            continue
        reach = max(float(np.nanmax(np.where(np.isnan(s.survival), np.nan, grid))) for s in studies)
        g = grid[grid <= reach + 1e-9]
        studies = [StudyIntervals(s.label, s.survival[: len(g)], s.n_at_risk[: len(g)], s.basis) for s in studies]
        try:
            sc = summary_curve(studies, g)
        except ValueError as exc:
            notes.append(f"{group}: no summary curve ({exc})")
            continue
        summary_fits[group] = sc
        fr = sc.to_frame()
        fr["group"], fr["k"] = group, sc.k
        summary_rows.append(fr)
    summaries = (pd.concat(summary_rows, ignore_index=True) if summary_rows else
                 pd.DataFrame(columns=["time", "survival", "ci_low", "ci_high", "group", "k"]))
    return SurvivalCurves(endpoint=cfg.endpoint, curves=pd.DataFrame(curve_rows), points=pd.DataFrame(point_rows),
                          summaries=summaries, fits=tuple(fits), summary_fits=summary_fits, notes=tuple(notes))


def through_points(times: np.ndarray, survival: np.ndarray, points) -> np.ndarray:
    """``survival`` with the reported value put back where the model passes through a reported point
    (within 1e-9): a curve through a median of 48 months ends at S = 0.5, not 0.5000000000000001."""
    out = np.asarray(survival, dtype=float).copy()
    t = np.asarray(times, dtype=float)
    for tp, sp in points:
        hit = np.isclose(t, tp, rtol=0, atol=1e-9) & np.isclose(out, sp, rtol=0, atol=1e-9)
        out[hit] = sp
    return out


def kaplan_meier_panel(curve: pd.DataFrame, n: int, *, label: str, study: str = "",
                       at_risk: pd.DataFrame | None = None, events: int | None = None) -> KaplanMeierPanel:
    """Reconstruct one digitised curve and estimate its Kaplan-Meier curve."""
    rec = reconstruct_ipd(curve, n, at_risk=at_risk, total_events=events)
    km = kaplan_meier(rec.time, rec.event)
    pre = rec.curve
    digitised = pd.DataFrame({"time": np.asarray(pre.raw_time, float),
                              "survival": np.asarray(pre.raw_survival, float)})
    return KaplanMeierPanel(label=label, study=study, digitised=digitised,
                            km=km.to_frame(), n=int(n),
                            events=int(np.sum(rec.event)), median=float(km.median),
                            diagnostics=rec.summary())


def kaplan_meier_panels(evidence: EvidenceBase, spec: AnalysisSpec, studies) -> tuple[KaplanMeierPanel, ...]:
    """Reconstructed Kaplan-Meier curves of the digitised curves that the given studies' records hold
    for the specification's endpoints (see ``curves:`` in docs/evidence-format.md)."""
    curves = evidence.curves
    chosen = curves[curves["study_id"].isin(list(studies)) & curves["endpoint"].isin(spec.select.endpoints)]
    arms = evidence.arms.set_index(["study_id", "arm"])["label"].to_dict()
    names = evidence.studies.set_index("study_id")["study_name"].to_dict()
    out = []
    for row in chosen.itertuples(index=False):
        data = evidence.curve_data[(row.study_id, row.curve_id)]
        arm = arms.get((row.study_id, row.arm), row.arm) if na_to_none(row.arm) is not None else None
        label = f"{names[row.study_id]} {arm}" if arm else f"{names[row.study_id]} ({row.curve_id})"
        events = None if na_to_none(row.total_events) is None else int(row.total_events)
        out.append(kaplan_meier_panel(data.curve, int(row.n), label=label, study=row.study_id,
                                      at_risk=data.at_risk, events=events))
    return tuple(out)
