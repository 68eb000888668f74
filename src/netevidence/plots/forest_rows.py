"""The content of a forest plot, top to bottom, as entries (no text and no geometry): subgroup headings,
study rows, subgroup diamonds with their heterogeneity, a gap, the pooled diamond with its prediction
interval and heterogeneity, the test for subgroup differences, then the published summaries (shown, not
pooled). The layout of metafor's ``forest.rma()`` (Viechtbauer, Journal of Statistical Software 2010).

:func:`stratum_from_result` turns a fitted :class:`netevidence.pooling.PoolResult`, and
:func:`stratum_from_effects` an effect-size table, into the same :class:`netevidence.specs.Stratum` a
specification produces, so all draw through one path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..effects import MEASURE_FACTS, back_transform
from ..pooling import PoolResult
from ..specs import Stratum
from ..specs.forest import order_rows, relabel
from ..specs.run import ROW_COLUMNS


@dataclass(frozen=True)
class ForestEntry:
    """One entry of a forest plot. ``kind``: ``heading`` (``group``), ``row`` (``row``: the stratum's row
    as a mapping), ``group_diamond`` and ``diamond`` (``fit``, ``pred``), ``pi`` (``fit``, ``pred``),
    ``group_heterogeneity`` and ``heterogeneity`` (``fit``), ``subgroup_test`` (``test``),
    ``published_heading`` or ``blank``."""

    kind: str
    group: str = ""
    row: Mapping[str, Any] | None = None
    fit: Any = None
    pred: Any = None
    test: Any = None


def _rows(stratum, block: str) -> list[dict]:
    rows = stratum.rows
    return rows[rows["block"] == block].to_dict("records") if len(rows) else []


def _study_entries(stratum, subgroup: str | None) -> list[ForestEntry]:
    studies = _rows(stratum, "studies")
    groups = list(dict.fromkeys(r["group"] for r in studies))
    fits = {g.group: g for g in stratum.group_fits}
    out: list[ForestEntry] = []
    for g in groups:
        if subgroup:
            out.append(ForestEntry("heading", group=g))
        out += [ForestEntry("row", group=g, row=r) for r in studies if r["group"] == g]
        if subgroup and g in fits:
            gf = fits[g]
            out += [ForestEntry("group_diamond", group=g, fit=gf.fit, pred=gf.prediction),
                    ForestEntry("group_heterogeneity", group=g, fit=gf.fit)]
        if subgroup:
            out.append(ForestEntry("blank"))
    return out


def _pooled_entries(stratum, after_rows: bool) -> list[ForestEntry]:
    out: list[ForestEntry] = []
    if stratum.fit is not None:
        if after_rows:
            out.append(ForestEntry("blank"))   # a gap so no study row can be read as the pooled one
        f, p = stratum.fit, stratum.prediction
        out += [ForestEntry("diamond", fit=f, pred=p), ForestEntry("pi", fit=f, pred=p),
                ForestEntry("heterogeneity", fit=f)]
    if stratum.subgroups is not None and getattr(stratum, "subgroup_test", True):
        out.append(ForestEntry("subgroup_test", test=stratum.subgroups))
    return out


def forest_entries(stratum, subgroup: str | None = None) -> tuple[ForestEntry, ...]:
    """The entries of the forest plot of ``stratum``, top to bottom; ``subgroup`` (the column the rows
    are grouped by) adds the subgroup headings and diamonds."""
    out = _study_entries(stratum, subgroup)
    out += _pooled_entries(stratum, after_rows=bool(out) and out[-1].kind != "blank")
    published = _rows(stratum, "published")
    if published:
        if out:
            out.append(ForestEntry("blank"))
        out.append(ForestEntry("published_heading"))
        out += [ForestEntry("row", row=r) for r in published]
    return tuple(out)


def arrange(stratum, *, sort: str | None = None, labels: Mapping[str, str] | None = None):
    """``stratum`` with its rows relabelled (study id -> label) and ordered by ``sort`` (year, effect,
    weight or label; None keeps the order)."""
    rows = relabel(stratum.rows, labels or {})
    if sort is not None:
        rows = order_rows(rows, sort)
    return replace(stratum, rows=rows) if rows is not stratum.rows else stratum


def _scale(measure: str | None) -> str:
    return MEASURE_FACTS[measure].scale if measure in MEASURE_FACTS else "difference"


def _transf(measure: str | None, n):
    if measure is None or _scale(measure) == "difference":
        return None
    if measure == "PFT":
        if n is None:
            raise ValueError("measure 'PFT' needs n= (the studies' sample sizes) for its back-transform")
        return back_transform("PFT", n=np.asarray(n, float))
    return back_transform(measure)


def _column(values, k: int, name: str, default=np.nan) -> list:
    if values is None:
        return [default] * k
    values = list(values)
    if len(values) != k:
        raise ValueError(f"{name} has {len(values)} values for a fit of k = {k} studies; give one per study, "
                         "in the order of the fitted yi")
    return values


def _study_rows(yi, vi, *, labels, weights, level: float, transf, measure, n, events, year, design) -> pd.DataFrame:
    """One study row per ``yi``/``vi``: the value and its Wald interval ``yi ± z sqrt(vi)`` at ``level``,
    back-transformed by ``transf`` (the interval's limits swapped under a decreasing transform)."""
    k = yi.size
    labels = [str(x) for x in _column(labels, k, "labels")] if labels is not None else \
        [f"Study {i + 1}" for i in range(k)]
    z = float(norm.isf((1 - level) / 2))
    t = transf or (lambda x: np.asarray(x, float))
    a, b = t(yi - z * np.sqrt(vi)), t(yi + z * np.sqrt(vi))
    rows = pd.DataFrame({
        "label": labels, "detail": "", "group": "", "block": "studies", "role": "study",
        "study_id": [f"study-{i + 1}" for i in range(k)], "study_name": labels, "modality": "",
        "n": _column(n, k, "n"), "events": _column(events, k, "events"), "value": t(yi),
        "low": np.minimum(a, b), "high": np.maximum(a, b), "yi": yi, "vi": vi,
        "weight": weights, "measure": measure or "", "statistic": "", "source": "",
        "location": "", "source_kind": "", "verified": None, "file": "", "line": None, "reason": None,
        "row": np.arange(k)})
    return rows[list(ROW_COLUMNS)].assign(year=_column(year, k, "year"), design=_column(design, k, "design", ""))


def stratum_from_result(res: PoolResult, *, labels: Sequence[str] | None = None, measure: str | None = None,
                        n=None, events=None, year=None, design=None, title: str = "",
                        transf=None) -> Stratum:
    """The :class:`netevidence.specs.Stratum` of a fitted model: one row per study of ``res`` (its ``yi``
    and ``vi``, its weight), labelled by ``labels`` (default "Study 1", "Study 2", ...), with the pooled
    estimate and prediction interval. ``measure`` (e.g. ``"PLO"`` or ``"HR"``) sets the back-transform
    and the axis; without it the values stay on the analysis scale. ``n``, ``events``, ``year`` and
    ``design`` fill those columns; ``transf`` overrides the measure's back-transform."""
    if not isinstance(res, PoolResult):
        raise TypeError(f"expected a PoolResult from netevidence.pooling.pool(), got {type(res).__name__}")
    _check_measure(measure)
    transf = transf if transf is not None else _transf(measure, n)
    rows = _study_rows(np.asarray(res.yi, float), np.asarray(res.vi, float), labels=labels,
                       weights=np.asarray(res.weights, float), level=res.level, transf=transf, measure=measure,
                       n=n, events=events, year=year, design=design)
    return Stratum(key=(), title=title or "Fitted model", scale=_scale(measure), measure=measure,
                   level=res.level, rows=rows, fit=res, prediction=res.predict(transf), subgroups=None,
                   group_fits=(), sensitivity=pd.DataFrame(), funnel=None, notes=(), transf=transf)


def _check_measure(measure: str | None) -> None:
    if measure is not None and measure not in MEASURE_FACTS:
        raise ValueError(f"unknown measure {measure!r} (known: {', '.join(sorted(MEASURE_FACTS))})")


def effects_measure(effects: pd.DataFrame, measure: str | None) -> str | None:
    """The measure of an effect-size table: ``measure`` when given, else its ``measure`` column (one value)."""
    if measure is not None or "measure" not in effects.columns:
        return measure
    found = [m for m in dict.fromkeys(effects["measure"]) if isinstance(m, str) and m]
    if len(found) > 1:
        raise ValueError(f"the effect-size table mixes measures {found}; draw one measure at a time or pass measure=")
    return found[0] if found else None


def effects_arrays(effects: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``yi`` and ``vi`` of an effect-size table, checked: both columns present, finite, ``vi`` > 0."""
    if not isinstance(effects, pd.DataFrame):
        raise TypeError(f"expected an effect-size table (a DataFrame with yi and vi), got {type(effects).__name__}")
    missing = [c for c in ("yi", "vi") if c not in effects.columns]
    if missing:
        raise ValueError(f"the effect-size table has no column {', '.join(missing)}; it needs yi and vi, as "
                         "netevidence.effects.effect_size() returns")
    yi, vi = effects["yi"].to_numpy(float), effects["vi"].to_numpy(float)
    bad = [i for i in range(yi.size) if not (np.isfinite(yi[i]) and np.isfinite(vi[i]) and vi[i] > 0)]
    if bad:
        raise ValueError(f"effect-size table rows {bad} have no finite yi or no positive vi; drop them before "
                         "plotting")
    if not yi.size:
        raise ValueError("the effect-size table is empty")
    return yi, vi


def stratum_from_effects(effects: pd.DataFrame, *, labels: Sequence[str] | None = None, fit: PoolResult | None = None,
                         measure: str | None = None, n=None, events=None, year=None, design=None,
                         title: str = "", level: float = 0.95, transf=None) -> Stratum:
    """The :class:`netevidence.specs.Stratum` of an effect-size table (``yi``, ``vi`` and optionally
    ``measure`` columns, as :func:`netevidence.effects.effect_size` returns, metafor's ``escalc()``):
    one row per study with its ``level`` Wald interval ``yi ± z sqrt(vi)`` on the reporting scale, and no
    pooled estimate, as metafor's ``forest(yi, vi, slab = labels)``. ``fit``, a
    :class:`netevidence.pooling.PoolResult` of these same ``yi``/``vi``, adds the weights, the pooled
    diamond and the prediction interval. ``measure`` defaults to the table's measure column."""
    yi, vi = effects_arrays(effects)
    measure = effects_measure(effects, measure)
    _check_measure(measure)
    if fit is not None:
        if not isinstance(fit, PoolResult):
            raise TypeError(f"fit is the PoolResult of these effect sizes, got {type(fit).__name__}")
        if fit.k != yi.size or not (np.allclose(fit.yi, yi) and np.allclose(fit.vi, vi)):
            raise ValueError(f"fit was not fitted on this effect-size table (k = {fit.k} against {yi.size} rows, "
                             "or other yi/vi); pass pool(table['yi'], table['vi'])")
        return stratum_from_result(fit, labels=labels, measure=measure, n=n, events=events, year=year,
                                   design=design, title=title, transf=transf)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1) (got {level})")
    transf = transf if transf is not None else _transf(measure, n)
    rows = _study_rows(yi, vi, labels=labels, weights=np.full(yi.size, np.nan), level=level, transf=transf,
                       measure=measure, n=n, events=events, year=year, design=design)
    return Stratum(key=(), title=title or "Effect sizes", scale=_scale(measure), measure=measure, level=level,
                   rows=rows, fit=None, prediction=None, subgroups=None, group_fits=(), sensitivity=pd.DataFrame(),
                   funnel=None, notes=(), transf=transf)
