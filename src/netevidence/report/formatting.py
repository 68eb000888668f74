"""Reported statistics as a reader reads them, one helper for every table of a page: ``32/58 (55.0%)``,
``36.3 months (95% CI 25.1 to 44.1)``, ``55.0% (95% CI 48.1 to 74.0)``, ``HR 0.21 (95% CI 0.13 to 0.33),
p < 0.001``.

The input is one row of the outcomes or characteristics table (:mod:`netevidence.tables`); the numbers
are shown as the record holds them (a percentage keeps at least one decimal), and a count without a
reported percentage gets the percentage of its numbers.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..values import plain_value

FIELDS = ("events", "n", "percent", "estimate", "ci_low", "ci_high", "ci_level", "p", "p_relation", "low", "high",
          "range_low", "range_high", "unit", "not_reached", "ci_high_not_reached")


def number_text(x: Any) -> str:
    """A reported number as written: integers without a decimal point, other numbers as short as exact."""
    x = plain_value(x)
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def percent_text(x: Any) -> str:
    """A percentage with at least one decimal (``55.0%``), more when the record gives more (``12.35%``)."""
    x = plain_value(x)
    if x is None:
        return ""
    one = f"{float(x):.1f}"
    return f"{one if float(one) == float(x) else f'{float(x):g}'}%"


def _ci(g: Mapping[str, Any], unit: str = "", percent: bool = False) -> str:
    if g["ci_low"] is None and g["ci_high"] is None and not g["ci_high_not_reached"]:
        return ""
    fmt = percent_text if percent else number_text
    high = "not reached" if g["ci_high_not_reached"] else fmt(g["ci_high"])
    level = f"{round(100 * g['ci_level'])}% CI" if g["ci_level"] is not None else "CI"
    return f" ({level} {fmt(g['ci_low'])} to {high}{unit})"


def _p(g: Mapping[str, Any]) -> str:
    return f", p {g['p_relation'] or '='} {number_text(g['p'])}" if g["p"] is not None else ""


def statistic_text(row: Mapping[str, Any]) -> str:
    """The value of one reported statistic (``row["statistic"]`` is its kind) in words and numbers."""
    kind = row["statistic"]
    g = {k: plain_value(row.get(k)) for k in FIELDS}
    unit = f" {g['unit']}" if g["unit"] else ""
    if kind == "count":
        pct = g["percent"]
        if pct is None and g["events"] is not None and g["n"]:
            pct = 100.0 * g["events"] / g["n"]
            return f"{number_text(g['events'])}/{number_text(g['n'])} ({pct:.1f}%)"
        return f"{number_text(g['events'])}/{number_text(g['n'])}" + (f" ({percent_text(pct)})" if pct is not None
                                                                        else "")
    if kind == "events":
        return number_text(g["events"]) + (f" ({percent_text(g['percent'])})" if g["percent"] is not None else "")
    if kind in ("proportion", "survival_at"):
        of = f" of {number_text(g['n'])}" if g["n"] is not None else ""
        return f"{percent_text(g['percent'])}{of}{_ci(g, percent=True)}"
    if kind in ("median_time", "median_of_studies", "rmst", "rmst_difference"):
        if g["not_reached"]:
            return "not reached" + _ci(g, unit)
        text = f"{number_text(g['estimate'])}{unit}{_ci(g, unit)}"
        if g["range_low"] is not None:
            text += f", range {number_text(g['range_low'])} to {number_text(g['range_high'])}{unit}"
        return text + _p(g)
    if kind in ("hazard_ratio", "odds_ratio"):
        return f"{'HR' if kind == 'hazard_ratio' else 'OR'} {number_text(g['estimate'])}{_ci(g)}{_p(g)}"
    if kind == "range":
        return f"{number_text(g['low'])} to {number_text(g['high'])}{unit}"
    if kind == "p_value":
        return f"p {g['p_relation'] or '='} {number_text(g['p'])}"
    return ""
