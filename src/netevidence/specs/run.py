"""Running an analysis specification: strata, pooled estimates, subgroups, sensitivity and curves.

Pooling uses :func:`netevidence.pooling.pool` (random-effects model, metafor's ``rma()``), subgroups
:func:`netevidence.pooling.subgroups.subgroup_analysis`, leave-one-out
:func:`netevidence.pooling.sensitivity.leave_one_out`, funnel data :func:`netevidence.pooling.bias.funnel_data`
and every back-transformation the single ``transf`` hook of :func:`netevidence.effects.back_transform`
(passed to ``PoolResult.predict``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..appraisal import Certainty, GradeInput, Override, grade, study_risk_levels
from ..effects import back_transform
from ..evidence import EvidenceBase
from ..labels import data_cut_labels, data_cut_order, term_label
from ..pooling import PoolResult, Prediction, pool
from ..pooling.bias import FunnelData, egger_test, funnel_data
from ..pooling.medians import MedianOfMediansResult
from ..pooling.quantiles import QuantileEstimationResult
from ..pooling.proportions import ProportionPoolResult
from ..pooling.sensitivity import leave_one_out
from ..pooling.subgroups import SubgroupResult, subgroup_analysis
from ..records import vocabulary
from .bayes import BayesFit, bayes_fit, wants_bayes
from .derived import is_derived
from .curves import KaplanMeierPanel, SurvivalCurves, kaplan_meier_panels, survival_curves
from .landmark import landmark_rung_subsets
from .medians import medians_note, stratum_medians
from .proportions import exact_study_intervals, stratum_proportions
from .forest import order_rows, relabel
from .schema import PROPORTION_MEASURES, AnalysisSpec
from ..values import na_to_none
from .selection import same_patients, select_rows

SHOWN_ROLES = ("study", "shown", "umbrella")
ROW_COLUMNS = (
    "label", "detail", "group", "block", "role", "study_id", "study_name", "modality", "n", "events", "value", "low",
    "high", "yi", "vi", "weight", "measure", "statistic", "source", "location", "source_kind", "verified",
    "file", "line", "reason", "row",
)
DISPLAY_COLUMNS = ("year", "design")  # shown as extra forest columns when the spec asks (forest.columns)
APPRAISAL_COLUMNS = ("risk_of_bias",)  # the shared risk-of-bias level of the row's study (or None)
RATIO_MEASURES = frozenset({"HR", "OR", "RR"})


@dataclass(frozen=True)
class GroupFit:
    """One subgroup's pooled estimate (``prediction`` back-transformed) and its size."""

    group: str
    k: int
    fit: PoolResult
    prediction: Prediction


@dataclass(frozen=True)
class Stratum:
    """One forest plot: the displayed rows, the pooled estimate and everything drawn around it.

    ``rows`` (one per displayed row, in plot order) holds the values on the reporting scale (``value``,
    ``low``, ``high``), the analysis-scale ``yi``/``vi`` of pooled rows and their ``weight`` in percent of
    the overall model (or of their subgroup's model when there is no overall model).
    """

    key: tuple[tuple[str, Any], ...]
    title: str
    scale: str
    measure: str | None
    level: float
    rows: pd.DataFrame
    fit: PoolResult | None
    prediction: Prediction | None
    subgroups: SubgroupResult | None
    group_fits: tuple[GroupFit, ...]
    sensitivity: pd.DataFrame
    funnel: FunnelData | None
    notes: tuple[str, ...]
    transf: Callable | None = field(default=None, repr=False, compare=False)
    bayes: BayesFit | None = None
    medians: MedianOfMediansResult | QuantileEstimationResult | None = None
    proportions: ProportionPoolResult | None = None
    certainty: Certainty | None = None
    subgroup_test: bool = True   # False: the test for subgroup differences is not shown (see ``notes``)
    comparison: tuple[str, str] | None = None   # (arm, comparator) labels when every row compares the same arms
    study_ci: str = "model"   # how the study intervals of proportions were computed: model or exact

    @property
    def k(self) -> int:
        return int((self.rows["role"] == "study").sum())

    def summary(self) -> dict[str, Any]:
        """The key numbers as plain values (for tables and the report)."""
        out: dict[str, Any] = {"stratum": self.title, "k": self.k, "scale": self.scale, "measure": self.measure}
        if self.prediction is not None and self.fit is not None:
            p = self.prediction
            out.update(estimate=p.pred, ci_low=p.ci_low, ci_high=p.ci_high, pi_low=p.pi_low, pi_high=p.pi_high,
                       tau2=self.fit.tau2, i2=self.fit.i2, q=self.fit.q, q_df=self.fit.q_df,
                       q_pval=self.fit.q_pval)
        if self.bayes is not None:
            out.update(self.bayes.summary())
        if self.proportions is not None:
            pr = self.proportions
            out.update(proportion_model=pr.model, proportion_model_fallback=pr.fallback,
                       proportion_estimate=pr.estimate, proportion_ci_low=pr.ci_low, proportion_ci_high=pr.ci_high,
                       proportion_pi_low=pr.pi_low, proportion_pi_high=pr.pi_high)
        if self.medians is not None:
            m = self.medians
            out.update(median_method="qe" if isinstance(m, QuantileEstimationResult) else "median_of_medians",
                       median_of_medians=m.estimate, median_of_medians_status=m.status,
                       median_of_medians_ci_low=m.ci_low, median_of_medians_ci_high=m.ci_high,
                       median_of_medians_coverage=m.coverage, median_of_medians_k=m.k,
                       median_of_medians_not_reached=m.k_not_reached)
        return out


@dataclass(frozen=True)
class AnalysisResult:
    """Everything one specification produces. ``selection`` holds every considered row with its role and
    reason; ``exclusions`` the rows that are not pooled, each with its reason."""

    spec: AnalysisSpec
    strata: tuple[Stratum, ...]
    selection: pd.DataFrame = field(repr=False)
    curves: SurvivalCurves | None
    km: tuple[KaplanMeierPanel, ...]
    warnings: tuple[str, ...]

    @property
    def exclusions(self) -> pd.DataFrame:
        cols = ["study_id", "study_name", "endpoint", "statistic", "arm", "comparator", "qualifier", "subgroup",
                "data_cut", "time", "time_unit", "source", "role", "reason", "file", "line"]
        frame = self.selection[self.selection["role"] != "study"]
        return frame[cols].reset_index(drop=True)

    def summary_frame(self) -> pd.DataFrame:
        return pd.DataFrame([s.summary() for s in self.strata])

    @property
    def shown_statistics(self) -> frozenset[str]:
        """The kinds of statistic (``count``, ``survival_at``, ...) of the rows the strata show."""
        return frozenset(str(s) for st in self.strata
                         for s in st.rows.loc[st.rows["role"].isin(SHOWN_ROLES), "statistic"].dropna())

    @property
    def pooled_statistics(self) -> frozenset[str]:
        """The kinds of statistic of the rows a stratum's pool holds."""
        return frozenset(str(s) for st in self.strata if st.fit is not None
                         for s in st.rows.loc[st.rows["role"] == "study", "statistic"].dropna())


def _fmt_time(t, unit) -> str:
    if na_to_none(t) is None:
        return ""
    t = float(t)
    txt = f"{t:g}"
    unit = na_to_none(unit) or ""
    return f"{txt} {unit[:-1] if txt == '1' and unit.endswith('s') else unit}".strip()


def _detail(row: Mapping[str, Any], varying: set[str], arm_labels: Mapping[tuple[str, str], str],
            cut_labels: Mapping[tuple[str, str], str] | None = None) -> str:
    parts = []
    arm, comp = na_to_none(row["arm"]), na_to_none(row["comparator"])
    if arm and ("arm" in varying or "comparator" in varying):
        sid = row["study_id"]
        name = arm_labels.get((sid, arm), arm)
        parts.append(f"{name} vs {arm_labels.get((sid, comp), comp)}" if comp else name)
    for col in ("qualifier", "subgroup", "data_cut"):
        if col in varying and na_to_none(row[col]):
            if col == "qualifier":
                parts.append(term_label("qualifier", str(row[col])))
            elif col == "data_cut":
                parts.append((cut_labels or {}).get((row["study_id"], row[col]), str(row[col])))
            else:
                parts.append(str(row[col]))
    if "statistic" in varying and row["statistic"] in ("hazard_ratio", "odds_ratio"):
        parts.append(str(row["statistic"]).replace("_", " "))
    if "time" in varying and na_to_none(row["time"]) is not None:
        parts.append(f"at {_fmt_time(row['time'], row['time_unit'])}")
    if is_derived(row):
        parts.append("sum of reported categories")
    if row["statistic"] in ("median_of_studies", "range"):
        parts.append("median of studies" if row["statistic"] == "median_of_studies" else "range of studies")
    elif row["aggregation"] == "pooled":
        k = na_to_none(row.get("k"))
        parts.append(f"pooled, k={int(k)}" if k is not None else "pooled")
    elif row["aggregation"] == "unspecified":
        parts.append("summary, method not stated")
    return "; ".join(parts)


def _transform(measure: str | None, n: np.ndarray) -> Callable | None:
    if measure is None:
        return None
    if measure == "PFT":
        return back_transform("PFT", n=n)
    return back_transform(measure)


def _stratum_title(key: tuple[tuple[str, Any], ...], frame: pd.DataFrame | None = None) -> str:
    if not key:
        return "All studies"
    out = []
    for col, val in key:
        if val == "" or val is None:
            if col == "time" and frame is not None and len(frame) and \
                    set(frame["statistic"]) <= {"median_time", "median_of_studies"}:
                out.append("Medians")
            continue
        if col == "endpoint":
            out.append(vocabulary.ENDPOINTS.get(val, val).split(" (")[0].capitalize())
        elif col == "time":
            unit = None
            if frame is not None and len(frame):
                unit = na_to_none(frame["time_unit"].iloc[0])
            out.append(f"at {_fmt_time(val, unit)}")
        elif col == "modality":
            out.append(vocabulary.modality_label(val))
        elif col == "statistic":
            out.append(str(val).replace("_", " "))
        elif col == "qualifier":
            out.append(term_label("qualifier", str(val)))
        else:
            out.append(str(val))
    return ", ".join(out) or "All studies"


def _pool_kw(spec: AnalysisSpec) -> dict[str, Any]:
    m = spec.model
    method = "REML" if m.method == "bayes" else m.method  # the frequentist fit drawn beside a Bayesian one
    return {"method": method, "ci": m.ci, "level": m.level, "pi": m.pi}


def _sensitivity(spec: AnalysisSpec, rows: pd.DataFrame, fit: PoolResult | None, transf) -> pd.DataFrame:
    out = []
    pooled = rows[rows["role"] == "study"]
    kw = _pool_kw(spec)

    def add(analysis: str, sub: pd.DataFrame, method: str | None = None) -> None:
        k = len(sub)
        rec: dict[str, Any] = {"analysis": analysis, "k": k}
        if k >= spec.model.min_studies:
            f = pool(sub["yi"].to_numpy(float), sub["vi"].to_numpy(float), **{**kw, "method": method or kw["method"]})
            p = f.predict(transf)
            rec.update(estimate=p.pred, ci_low=p.ci_low, ci_high=p.ci_high, tau2=f.tau2, i2=f.i2)
        else:
            rec.update(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, tau2=np.nan, i2=np.nan,
                       note=f"fewer than {spec.model.min_studies} studies")
        out.append(rec)

    if fit is None:
        return pd.DataFrame(out)
    for method in spec.estimators:
        add(f"τ² estimator {method}", pooled, method)
    for analysis, sub in landmark_rung_subsets(pooled):
        add(analysis, sub)
    if "verified_only" in spec.sensitivity:
        add("verified numbers only", pooled[pooled["verified"] == True])  # noqa: E712
    if "primary_sources_only" in spec.sensitivity:
        add("numbers from the study's own publication only", pooled[pooled["source_kind"] == "primary"])
    if "exclude_high_risk_of_bias" in spec.sensitivity:
        keep = ~pooled["risk_of_bias"].isin(["high", "critical"])
        add("without studies at high or critical risk of bias", pooled[keep])
    if "leave_one_out" in spec.sensitivity and len(pooled) >= 3:
        loo = leave_one_out(pooled["yi"].to_numpy(float), pooled["vi"].to_numpy(float),
                            labels=list(pooled["label"]), **kw)
        for i, lab in enumerate(loo.study):
            lo, hi = loo.ci_low[i], loo.ci_high[i]
            est = float(transf(loo.estimate[i])) if transf else float(loo.estimate[i])
            a, b = (float(transf(lo)), float(transf(hi))) if transf else (float(lo), float(hi))
            out.append({"analysis": f"omitting {lab}", "k": len(pooled) - 1, "estimate": est,
                        "ci_low": min(a, b), "ci_high": max(a, b), "tau2": float(loo.tau2[i]),
                        "i2": float(loo.i2[i])})
    elif "leave_one_out" in spec.sensitivity:
        out.append({"analysis": "leave one out", "k": len(pooled), "note": "needs at least 3 pooled studies"})
    return pd.DataFrame(out)


def _check_scale(spec: AnalysisSpec, key, frame: pd.DataFrame, shown: pd.DataFrame) -> tuple[str, str | None]:
    """The stratum's reporting scale and pooled measure; rows on two scales or pooled rows of two measures
    are an error naming the analysis and the stratum."""
    scales = sorted(set(shown["scale"]))
    if len(scales) > 1:
        raise ValueError(f"analysis {spec.id!r}, stratum {_stratum_title(key, frame)!r}: rows on different scales "
                         f"({', '.join(scales)}); select one statistic family or stratify by statistic")
    measures = sorted(set(shown.loc[shown["role"] == "study", "measure"].dropna()))
    if len(measures) > 1:
        raise ValueError(f"analysis {spec.id!r}, stratum {_stratum_title(key, frame)!r}: pooled rows mix the measures "
                         f"{', '.join(measures)}; stratify by statistic")
    return (scales[0] if scales else "proportion"), (measures[0] if measures else None)


def _comparison(shown: pd.DataFrame, arm_labels) -> tuple[tuple[str, str] | None, str]:
    """(arm, comparator) labels when every row compares the same two arms, and the title suffix naming
    them when the rows come from one study."""
    varying = _varying(shown)
    pairs = {(r["study_id"], na_to_none(r["arm"]), na_to_none(r["comparator"])) for r in shown.to_dict("records")}
    arm_pairs = {(a, c) for _, a, c in pairs}
    comparison = None
    if len(arm_pairs) == 1 and all(next(iter(arm_pairs))):
        sid, arm, comp = sorted(pairs)[0]
        comparison = (arm_labels.get((sid, arm), arm), arm_labels.get((sid, comp), comp))
    suffix = ""
    if len(pairs) == 1 and not {"arm", "comparator"} & varying:
        sid, arm, comp = next(iter(pairs))
        if arm and comp:
            suffix = f": {arm_labels.get((sid, arm), arm)} vs {arm_labels.get((sid, comp), comp)}"
    return comparison, suffix


def _varying(shown: pd.DataFrame) -> set[str]:
    return {c for c in ("arm", "comparator", "qualifier", "subgroup", "data_cut", "time", "statistic")
            if shown[c].map(na_to_none).nunique(dropna=False) > 1}


def _display_rows(spec: AnalysisSpec, key, frame: pd.DataFrame, arm_labels, evidence_years,
                  risk_of_bias: pd.DataFrame | None, data_cuts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows a stratum shows, with their label, detail, subgroup, block, year and risk of bias, in the
    default order (block, subgroup, role, year, label)."""
    shown = frame[frame["role"].isin(SHOWN_ROLES)].copy()
    endpoint = dict(key).get("endpoint") or (spec.select.endpoints[0] if len(spec.select.endpoints) == 1 else None)
    levels = study_risk_levels(risk_of_bias, endpoint) if risk_of_bias is not None else {}
    shown["risk_of_bias"] = shown["study_id"].map(lambda s: levels.get(s))
    varying = _varying(shown)
    shown["label"] = shown["study_name"].astype(str)
    cut_labels = data_cut_labels(data_cuts) if data_cuts is not None else {}
    cut_rank = data_cut_order(data_cuts) if data_cuts is not None else {}
    shown["detail"] = [_detail(r, varying, arm_labels, cut_labels) for r in shown.to_dict("records")]
    shown["group"] = (shown[spec.subgroup].map(lambda v: "not stated" if na_to_none(v) is None else str(v))
                      if spec.subgroup else "")
    shown["block"] = np.where(shown["role"] == "umbrella", "published", "studies")
    shown["year"] = shown["study_id"].map(lambda s: evidence_years.get(s))
    shown["year_sort"] = shown["year"].map(lambda y: y or 9999)
    shown["role_sort"] = shown["role"].map({"study": 0, "shown": 1, "umbrella": 2})
    shown["block_sort"] = (shown["block"] == "published").astype(int)
    # one study's data cuts in time order (see netevidence.labels.data_cut_order), not in the record's row order
    shown["cut_sort"] = [cut_rank.get((sid, cut), -1) for sid, cut in zip(shown["study_id"], shown["data_cut"])]
    shown = shown.sort_values(["block_sort", "group", "role_sort", "year_sort", "label", "cut_sort", "row"],
                              kind="stable")
    return shown.reset_index(drop=True)


def _study_intervals(spec: AnalysisSpec, shown: pd.DataFrame, measure: str | None, transf) -> tuple[pd.DataFrame, list[str]]:
    """``shown`` with ``value``, ``low`` and ``high`` on the reporting scale: pooled rows from yi and vi
    through the back-transform, or their exact Clopper-Pearson intervals (``model.study_ci: exact``,
    proportions); other rows as reported. Returns the rows and the notes."""
    level = spec.model.level
    z = float(norm.isf((1 - level) / 2))
    pooled_mask = (shown["role"] == "study").to_numpy()
    yi = shown["yi"].astype(float).to_numpy()
    se = np.sqrt(shown["vi"].astype(float).to_numpy())
    low = shown["value_low"].astype(float).to_numpy().copy()
    high = shown["value_high"].astype(float).to_numpy().copy()
    val = shown["value"].astype(float).to_numpy().copy()
    if pooled_mask.any() and transf is not None:
        a = transf(yi[pooled_mask] - z * se[pooled_mask])
        b = transf(yi[pooled_mask] + z * se[pooled_mask])
        low[pooled_mask] = np.minimum(a, b)
        high[pooled_mask] = np.maximum(a, b)
        val[pooled_mask] = transf(yi[pooled_mask])
    notes = []
    if spec.model.study_ci == "exact" and measure in PROPORTION_MEASURES:
        cp_low, cp_high = exact_study_intervals(shown, pooled_mask, level)
        has = ~np.isnan(cp_low)
        low[has], high[has] = cp_low[has], cp_high[has]
        if has.any():
            notes.append("study intervals are exact (Clopper-Pearson)")
    out = shown.copy()
    out["value"], out["low"], out["high"] = val, low, high
    out["weight"] = np.nan
    return out, notes


def _pool_stratum(spec: AnalysisSpec, pooled: pd.DataFrame, transf) -> tuple[PoolResult | None, Prediction | None, list[str]]:
    """The stratum's pooled fit and its back-transformed prediction (None when nothing is pooled), with
    the notes that say why not."""
    k = len(pooled)
    if not spec.model.pool:
        return None, None, ["pooling is switched off for this analysis (rows of the same patients or of one trial); "
                            "the rows are shown side by side"]
    if k >= spec.model.min_studies:
        fit = pool(pooled["yi"].to_numpy(float), pooled["vi"].to_numpy(float), **_pool_kw(spec))
        return fit, fit.predict(transf), ([] if fit.converged else ["the tau^2 iteration did not converge"])
    if k > 0:
        return None, None, [f"k = {k}: fewer than {spec.model.min_studies} primary studies with a variance, so no "
                            "pooled estimate"]
    return None, None, ["no primary study with a within-study variance: nothing is pooled"]


def _bayes(spec: AnalysisSpec, pooled: pd.DataFrame, transf) -> tuple[BayesFit | None, list[str]]:
    k = len(pooled)
    if not wants_bayes(spec, k):
        return None, []
    bayes = bayes_fit(spec, pooled["yi"], pooled["vi"], transf, labels=list(pooled["label"]))
    r = bayes.result
    if spec.model.method == "bayes":
        return bayes, [f"Bayesian random-effects model ({r.tau_prior} prior on tau, flat prior on the mean): "
                       "posterior median and shortest credible interval; the REML pool is shown beside it"]
    return bayes, [f"k = {k} < {spec.model.bayes_below}: the Bayesian random-effects model ({r.tau_prior} "
                   "prior on tau) is shown beside the frequentist pool"]


def _proportions_note(pr: ProportionPoolResult, level: float) -> str:
    text = (f"{term_label('proportion_model', pr.model)} model for single proportions: {100 * pr.estimate:.1f}% ({100 * level:g}% CI "
            f"{100 * pr.ci_low:.1f}% to {100 * pr.ci_high:.1f}%)")
    if pr.fallback:
        text += f"; requested {term_label('proportion_model', pr.model_requested)}: {pr.fallback}"
    return text + "".join(f"; {c}" for c in pr.caveats)


def _subgroups(spec: AnalysisSpec, pooled: pd.DataFrame, transf) -> tuple[SubgroupResult | None, list[GroupFit], bool, list[str]]:
    """The subgroup analysis of the pooled rows, each subgroup's fit, whether the test for subgroup
    differences is shown (Cochrane Handbook 10.11.3.1) and the notes."""
    if not (spec.subgroup and spec.model.pool and len(pooled) >= 2):
        return None, [], False, []
    groups = pooled["group"].tolist()
    if len(set(groups)) < 2:
        return None, [], False, []
    sub = subgroup_analysis(pooled["yi"].to_numpy(float), pooled["vi"].to_numpy(float), groups,
                            labels=list(pooled["label"]), **_pool_kw(spec))
    fits = [GroupFit(str(lev), int(kk), f, f.predict(transf))
            for lev, kk, f in zip(sub.levels, sub.k, sub.fits) if kk >= spec.model.min_studies]
    notes = []
    if any(kk < spec.model.min_studies for kk in sub.k):
        notes.append("subgroups with a single study show no subgroup diamond")
    show_test = sum(int(kk) >= 2 for kk in sub.k) >= 2
    if not show_test:
        notes.append("no test for subgroup differences: it needs at least two subgroups with 2 or more "
                     f"studies each (Cochrane Handbook, section 10.11.3.1); here the subgroups have k = "
                     f"{', '.join(str(int(kk)) for kk in sub.k)}")
    return sub, fits, show_test, notes


def _funnel(spec: AnalysisSpec, pooled: pd.DataFrame) -> tuple[FunnelData | None, list[str]]:
    if "funnel" not in spec.plots:
        return None, []
    why = small_study_gate(spec, len(pooled))
    if why is not None:
        return None, [f"funnel plot not drawn: {why}"]
    return funnel_data(pooled["yi"].to_numpy(float), pooled["vi"].to_numpy(float), method=spec.model.method), []


def _stratum_certainty(spec: AnalysisSpec, pooled: pd.DataFrame, fit: PoolResult | None,
                       prediction: Prediction | None, measure: str | None) -> Certainty | None:
    """The GRADE proposal of a pooled stratum, or of a single study in a pooled analysis."""
    if fit is not None:
        return _certainty(spec, pooled, fit, prediction, measure)
    if len(pooled) == 1 and spec.model.pool:
        single = Prediction(*(float(pooled[c].iloc[0]) for c in ("value", "low", "high")), np.nan, np.nan)
        return _certainty(spec, pooled, _SingleStudy(), single, measure)
    return None


def _build_stratum(spec: AnalysisSpec, key, frame: pd.DataFrame, arm_labels, evidence_years,
                   risk_of_bias: pd.DataFrame | None = None, data_cuts: pd.DataFrame | None = None) -> Stratum:
    """One stratum: its rows (:func:`_display_rows`), study intervals, pooled fit, subgroups, funnel and
    certainty, the rows finally relabelled and ordered as ``spec.forest`` asks."""
    # custom labels first, so the sensitivity, Bayesian and subgroup tables name the studies as the plot does
    shown = relabel(_display_rows(spec, key, frame, arm_labels, evidence_years, risk_of_bias, data_cuts), spec.forest.labels)
    scale, measure = _check_scale(spec, key, frame, shown)
    pooled_mask = (shown["role"] == "study").to_numpy()
    transf = _transform(measure, shown.loc[pooled_mask, "n"].astype(float).to_numpy()) if measure else None
    comparison, suffix = _comparison(shown, arm_labels)
    shown, notes = _study_intervals(spec, shown, measure, transf)

    fit, prediction, pool_notes = _pool_stratum(spec, shown[pooled_mask], transf)
    notes += pool_notes
    if fit is not None:
        shown.loc[pooled_mask, "weight"] = np.asarray(fit.weights, dtype=float)
    pooled = shown[pooled_mask]
    bayes, bayes_notes = _bayes(spec, pooled, transf)
    proportions = stratum_proportions(spec, measure, pooled)
    medians = stratum_medians(spec, frame)
    sub, group_fits, show_test, sub_notes = _subgroups(spec, pooled, transf)
    fd, funnel_notes = _funnel(spec, pooled)
    notes += bayes_notes + ([_proportions_note(proportions, spec.model.level)] if proportions is not None else [])
    notes += ([medians_note(medians)] if medians is not None else []) + sub_notes + funnel_notes
    sens = _sensitivity(spec, shown, fit, transf)
    certainty = _stratum_certainty(spec, pooled, fit, prediction, measure)
    # the forest rows, each with its variance source, year, design and risk of bias, as the spec orders them
    keep = [c for c in (*ROW_COLUMNS, "derivation", *DISPLAY_COLUMNS, *APPRAISAL_COLUMNS) if c in shown.columns]
    rows = order_rows(shown[keep], spec.forest.sort)
    return Stratum(key=key, title=_stratum_title(key, frame) + suffix, scale=scale, measure=measure,
                   level=spec.model.level, rows=rows, fit=fit, prediction=prediction, subgroups=sub,
                   group_fits=tuple(group_fits), sensitivity=sens, funnel=fd, notes=tuple(notes), transf=transf,
                   bayes=bayes, medians=medians, proportions=proportions, certainty=certainty,
                   comparison=comparison, subgroup_test=show_test, study_ci=spec.model.study_ci)


def small_study_gate(spec: AnalysisSpec, k: int) -> str | None:
    """Why a funnel plot or a test for small-study effects is not done with ``k`` pooled studies, or None
    when it is: at least ``small_study.min_k`` studies (10, Cochrane Handbook section 13.3.5.4), or 3
    when the spec sets ``small_study.force``."""
    if k < 3:
        return f"it needs at least 3 pooled studies (k = {k})"
    if k < spec.small_study.min_k and not spec.small_study.force:
        return (f"k = {k} is below {spec.small_study.min_k} studies, too few to tell small-study effects from "
                "chance (Cochrane Handbook, section 13.3.5.4); set small_study: {force: true} to override")
    return None


@dataclass(frozen=True)
class _SingleStudy:
    """What :func:`_certainty` reads of a fit, for a stratum of one study (no heterogeneity)."""

    k: int = 1
    i2: float = float("nan")
    weights: tuple[float, ...] = (100.0,)


def _certainty(spec: AnalysisSpec, pooled: pd.DataFrame, fit: PoolResult | _SingleStudy, prediction: Prediction,
               measure: str | None) -> Certainty:
    """The GRADE proposal for one pooled stratum, on the reporting scale (see :mod:`netevidence.appraisal`)."""
    ratio = measure in RATIO_MEASURES
    egger_p = None
    if small_study_gate(spec, fit.k) is None:
        try:
            egger_p = egger_test(pooled["yi"].to_numpy(float), pooled["vi"].to_numpy(float)).pval
        except ValueError:  # undefined, e.g. when every study has the same precision: not rated from it
            egger_p = float("nan")
    n = pd.to_numeric(pooled["n"], errors="coerce")
    g = spec.grade
    return grade(GradeInput(
        randomised=bool((pooled["design"] == "rct").all()) if "design" in pooled else False,
        estimate=prediction.pred, ci_low=prediction.ci_low, ci_high=prediction.ci_high, k=fit.k,
        weights=list(np.asarray(fit.weights, float)), rob_levels=[na_to_none(v) for v in pooled["risk_of_bias"]],
        i2=fit.i2 if fit.k >= 2 else None, pi_low=prediction.pi_low, pi_high=prediction.pi_high,
        threshold=g.threshold, null=1.0 if ratio else None,
        participants=int(n.sum()) if n.notna().all() and len(n) else None,
        optimal_information_size=g.optimal_information_size, egger_p=egger_p, ratio=ratio, log_scale=False,
        overrides=tuple(Override(o.domain, o.change, o.reason) for o in g.overrides)))


def run_spec(evidence: EvidenceBase, spec: AnalysisSpec) -> AnalysisResult:
    """Run one specification on an evidence base (see the module docstring)."""
    frame = select_rows(evidence, spec)
    warnings: list[str] = []
    if spec.model.pool:
        cols = tuple(spec.stratify)
        for i, why in same_patients(frame, cols):
            frame.loc[i, "role"] = "excluded"
            frame.loc[i, "reason"] = why
    arm_labels = {(r.study_id, r.arm): r.label for r in evidence.arms.itertuples(index=False)}
    years = {r.study_id: na_to_none(r.year) for r in evidence.studies.itertuples(index=False)}
    strata = []
    if len(frame):
        keys = list(spec.stratify)
        if keys:
            tmp = frame.assign(**{f"_k_{c}": frame[c].map(lambda v: "" if na_to_none(v) is None else v) for c in keys})
            for kv, sub in tmp.groupby([f"_k_{c}" for c in keys], sort=True):
                kv = kv if isinstance(kv, tuple) else (kv,)
                key = tuple((c, v) for c, v in zip(keys, kv))
                if sub["role"].isin(SHOWN_ROLES).any():
                    strata.append(_build_stratum(spec, key, sub.drop(columns=[f"_k_{c}" for c in keys]),
                                                 arm_labels, years, evidence.risk_of_bias, evidence.data_cuts))
        elif frame["role"].isin(SHOWN_ROLES).any():
            strata.append(_build_stratum(spec, (), frame, arm_labels, years, evidence.risk_of_bias,
                                         evidence.data_cuts))
    if not strata:
        warnings.append("no row of the evidence base can be shown for this specification")
    curves = survival_curves(evidence, spec, frame) if spec.survival_curves is not None else None
    km = kaplan_meier_panels(evidence, spec, sorted(set(frame["study_id"]))) if "km" in spec.plots else ()
    if "km" in spec.plots and not km:
        warnings.append("no record selected by this specification holds a digitised curve of its endpoints")
    return AnalysisResult(spec=spec, strata=tuple(strata), selection=frame, curves=curves, km=km,
                          warnings=tuple(warnings))
