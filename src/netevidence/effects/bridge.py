"""From the tidy outcomes table to effect sizes: each row maps to ``(yi, vi)`` with its measure.

``from_outcomes(outcomes)`` reads the columns of ``load_evidence(...).outcomes`` and returns one row per
input row with its identifying columns plus ``yi, vi, measure, correction, derivation, flags, refused``.
A row that cannot yield a within-study variance keeps ``yi``/``vi`` missing and says why in
``refused``. Mapping by ``statistic``:

==================  =====================================================================================
statistic           measure and route
==================  =====================================================================================
count               proportion measure (default ``PLO``) from ``events`` / ``n``
events              same when ``n`` is present; events without a denominator are refused
proportion          same, events reconstructed as ``round(percent * n / 100)`` (flag
                    ``events_from_percent``); refused without ``n``
hazard_ratio        ``HR`` from the CI, else from an exact p (``p_relation`` ``=``, flag ``se_from_p``);
                    refused for a p bound only (``<``, ``<=``) or neither
odds_ratio          ``OR`` (log), same routes
median_time         ``MEDIAN`` from the CI; open upper limit: lower half only (flag
                    ``ci_high_not_reached``); refused when the median was not reached or without CI
survival_at         ``SURV``; variance from the first source of ``survival_variance`` the row gives
                    (:mod:`netevidence.effects.landmark`): the CI (percent), Greenwood's variance from
                    reconstructed data (columns ``km_survival``, ``km_se_log``), Peto's approximation
                    (column ``n_at_risk``), the study size without censoring (``n``, else
                    ``n_study``; only when listed); refused when none applies
others              refused: ``median_of_studies``, ``range``, ``p_value``, ``rmst``, ``rmst_difference``
==================  =====================================================================================

Rows whose ``aggregation`` is ``median_of_studies`` or ``range_of_studies`` are refused; rows with
``aggregation == "pooled"`` are computed and flagged ``pooled_estimate`` (pooling them with their own
studies would count patients twice). A missing ``ci_level`` is read as 0.95 (flag ``ci_level_assumed``).
Invalid numbers (events above n, a CI not containing its estimate, ...) raise ``ValueError`` naming the
study and the source line, or are refused with the reason when ``errors="refuse"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .proportions import MEASURES as PROPORTION_MEASURES
from .proportions import proportion_effects
from .reported import ratio_from_ci, ratio_from_p
from .result import EffectSizes
from .landmark import check_rungs, landmark_effect
from .survival import median_effects

ID_COLUMNS = (
    "study_id", "study_name", "modality", "design", "data_cut", "endpoint", "qualifier", "subgroup",
    "arm", "comparator", "time", "time_unit", "statistic", "aggregation", "source", "file", "line",
)
RESULT_COLUMNS = ("yi", "vi", "measure", "correction", "derivation", "flags", "refused")

DEFAULT_MEASURES: dict[str, str] = {
    "count": "PLO", "events": "PLO", "proportion": "PLO", "hazard_ratio": "HR", "odds_ratio": "OR",
    "median_time": "MEDIAN", "survival_at": "SURV",
}
_ALLOWED: dict[str, tuple[str, ...]] = {
    "count": PROPORTION_MEASURES, "events": PROPORTION_MEASURES, "proportion": PROPORTION_MEASURES, "hazard_ratio": ("HR",),
    "odds_ratio": ("OR",), "median_time": ("MEDIAN",), "survival_at": ("SURV",),
}
_NO_VARIANCE: dict[str, str] = {
    "median_of_studies": "a median across studies has no within-study variance",
    "range": "a range has no variance",
    "p_value": "a p-value alone has no effect estimate",
    "rmst": "restricted mean survival time is not an effect measure of this module",
    "rmst_difference": "restricted mean survival time difference is not an effect measure of this module",
}
_ACROSS_STUDIES = {"median_of_studies", "range_of_studies"}


class _Refusal(Exception):
    """A row that cannot give (yi, vi)."""


def _value(row: Mapping[str, Any], name: str) -> Any:
    value = row.get(name)
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _one(x: Any) -> np.ndarray:
    return np.array([float(x)])


def _row_label(row: Mapping[str, Any], index: Any) -> str:
    sid = _value(row, "study_id")
    where = ""
    if _value(row, "file") is not None:
        where = f" at {row['file']}" + (f":{row['line']}" if _value(row, "line") is not None else "")
    return f"{sid if sid is not None else 'row ' + str(index)}{where}"


def _measure_for(statistic: str, measure: str | Mapping[str, str] | None) -> str:
    if measure is None:
        return DEFAULT_MEASURES[statistic]
    if isinstance(measure, str):
        chosen = measure
    else:
        chosen = measure.get(statistic, DEFAULT_MEASURES[statistic])
    if chosen not in _ALLOWED[statistic]:
        raise _Refusal(f"measure {chosen} does not apply to a {statistic} row")
    return chosen


def _level(row: Mapping[str, Any], flags: list[str]) -> float:
    level = _value(row, "ci_level")
    if level is None:
        flags.append("ci_level_assumed")
        return 0.95
    return float(level)


def _has_ci(row: Mapping[str, Any]) -> bool:
    return _value(row, "ci_low") is not None and _value(row, "ci_high") is not None


def _proportion(row: Mapping[str, Any], statistic: str, measure: str, ids: list[str],
                flags: list[str]) -> EffectSizes:
    n = _value(row, "n")
    if n is None:
        raise _Refusal(f"{statistic} without a denominator n")
    if statistic in ("count", "events"):
        events = _value(row, "events")
        if events is None:
            raise _Refusal(f"{statistic} without events")
    else:
        percent = _value(row, "percent")
        if percent is None:
            raise _Refusal("proportion without a percent")
        if not 0 <= float(percent) <= 100:
            raise ValueError(f"study {ids[0]!r}: percent = {percent} lies outside [0, 100] (a proportion)")
        events = float(np.round(float(percent) * float(n) / 100.0))
        flags.append("events_from_percent")
    return proportion_effects(measure, _one(events), _one(n), ids=ids)


def _ratio(row: Mapping[str, Any], statistic: str, measure: str, ids: list[str],
           flags: list[str]) -> EffectSizes:
    estimate = _value(row, "estimate")
    if estimate is None:
        raise _Refusal(f"{statistic} without an estimate")
    if _has_ci(row):
        level = _level(row, flags)
        return ratio_from_ci(measure, _one(estimate), _one(row["ci_low"]), _one(row["ci_high"]),
                             level=level, ids=ids, name="estimate")
    p = _value(row, "p")
    if p is None:
        raise _Refusal(f"{statistic} with neither a CI nor a p-value")
    relation = _value(row, "p_relation") or "="
    if relation != "=":
        raise _Refusal(f"p reported only as a bound (p {relation} {p}) cannot give a standard error")
    flags.append("se_from_p")
    return ratio_from_p(measure, _one(estimate), _one(p), ids=ids, name="estimate")


def _median(row: Mapping[str, Any], ids: list[str], flags: list[str]) -> EffectSizes:
    if bool(_value(row, "not_reached")):
        raise _Refusal("median not reached")
    estimate = _value(row, "estimate")
    if estimate is None:
        raise _Refusal("median_time without an estimate")
    open_high = bool(_value(row, "ci_high_not_reached"))
    if _value(row, "ci_low") is None:
        raise _Refusal("median without a CI lower limit" if open_high else "median without a CI")
    if _value(row, "ci_high") is None and not open_high:
        raise _Refusal("median without a CI upper limit (and not marked as not reached)")
    level = _level(row, flags)
    high = np.nan if open_high else float(row["ci_high"])
    result = median_effects(_one(estimate), _one(row["ci_low"]), _one(high),
                            ci_high_not_reached=np.array([open_high]), level=level, ids=ids)
    if open_high:
        flags.append("ci_high_not_reached")
    return result


def _survival(row: Mapping[str, Any], ids: list[str], flags: list[str], rungs: tuple[str, ...],
              effective_n: bool = False) -> EffectSizes:
    percent = _value(row, "percent")
    if percent is None:
        raise _Refusal("survival_at without a percent")
    if float(percent) in (0.0, 100.0):
        raise _Refusal(f"survival of {percent}% has no finite log(-log) value")
    has_ci = _has_ci(row)
    level = _level(row, flags) if has_ci else 0.95
    pct = lambda name: None if _value(row, name) is None else float(row[name]) / 100.0
    n = _value(row, "n")
    if n is None:
        n = _value(row, "n_study")
    result = landmark_effect(float(percent) / 100.0, ci_low=pct("ci_low"), ci_high=pct("ci_high"), level=level,
                             surv_km=_value(row, "km_survival"), se_log_km=_value(row, "km_se_log"),
                             n_at_risk=_value(row, "n_at_risk"), n=n,
                             share=_value(row, "followed_share") if effective_n else None, rungs=rungs, ids=ids)
    if result is None:
        allowed = ", ".join(rungs)
        raise _Refusal(f"survival without a CI and without another variance source the analysis allows "
                       f"(allowed: {allowed})")
    return result


def _map_row(row: Mapping[str, Any], ids: list[str], measure: str | Mapping[str, str] | None,
             flags: list[str], rungs: tuple[str, ...] = ("ci",), effective_n: bool = False) -> EffectSizes:
    aggregation = _value(row, "aggregation")
    if aggregation in _ACROSS_STUDIES:
        raise _Refusal(f"aggregation {aggregation}: a summary across studies has no within-study variance")
    statistic = _value(row, "statistic")
    if statistic in _NO_VARIANCE:
        raise _Refusal(f"{statistic}: {_NO_VARIANCE[statistic]}")
    if statistic not in DEFAULT_MEASURES:
        raise _Refusal(f"unknown statistic {statistic!r}")
    chosen = _measure_for(statistic, measure)
    if aggregation == "pooled":
        flags.append("pooled_estimate")
    if statistic in ("count", "events", "proportion"):
        return _proportion(row, statistic, chosen, ids, flags)
    if statistic in ("hazard_ratio", "odds_ratio"):
        return _ratio(row, statistic, chosen, ids, flags)
    if statistic == "median_time":
        return _median(row, ids, flags)
    return _survival(row, ids, flags, rungs, effective_n)


def from_outcomes(outcomes: pd.DataFrame, measure: str | Mapping[str, str] | None = None, *,
                  errors: str = "raise", survival_variance: tuple[str, ...] | list[str] = ("ci",),
                  effective_n: bool = False) -> pd.DataFrame:
    """Map each tidy outcome row to ``(yi, vi)`` and its measure, or refuse it with the reason.

    ``measure`` chooses the proportion measure for ``count``/``proportion`` rows (default ``PLO``); a
    single measure keeps only rows expressible in it (others are refused), a mapping
    ``{statistic: measure}`` sets it per statistic. ``errors="raise"`` (default) raises on invalid
    numbers; ``errors="refuse"`` refuses those rows with the message instead. ``survival_variance``
    lists the variance sources allowed for landmark survival rows (default: the reported CI only; see
    :data:`netevidence.effects.landmark.RUNGS`); ``effective_n`` makes rung (d) use Peto's effective
    sample size ``n G(t)`` where the row gives ``followed_share`` (``G(t)``), and assume no censoring where it
    does not.
    """
    rungs = check_rungs(survival_variance)
    if errors not in ("raise", "refuse"):
        raise ValueError(f"errors = {errors!r} must be 'raise' or 'refuse'")
    if "statistic" not in outcomes.columns:
        raise ValueError("outcomes: the column 'statistic' is required")
    records: list[dict[str, Any]] = []
    for index, row in zip(outcomes.index, outcomes.to_dict("records")):
        flags: list[str] = []
        out: dict[str, Any] = {"yi": np.nan, "vi": np.nan, "measure": None, "correction": np.nan,
                               "derivation": None, "flags": None, "refused": None}
        try:
            res = _map_row(row, [_row_label(row, index)], measure, flags, rungs, effective_n)
        except _Refusal as why:
            out["refused"] = str(why)
        except ValueError as exc:
            if errors == "raise":
                raise
            out["refused"] = f"invalid data: {exc}"
        else:
            out.update(yi=float(res.yi[0]), vi=float(res.vi[0]), measure=res.measure,
                       correction=float(res.correction[0]), derivation=res.derivation[0])
        if flags:
            out["flags"] = ";".join(flags)
        records.append(out)
    ids = outcomes[[c for c in ID_COLUMNS if c in outcomes.columns]].reset_index(drop=True)
    result = pd.DataFrame.from_records(records, columns=list(RESULT_COLUMNS))
    return pd.concat([ids, result], axis=1).set_index(outcomes.index)
