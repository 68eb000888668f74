"""Objective response and disease control rates derived from the response categories a study reports.

Many series report complete, partial and stable response separately (as counts, or as percentages of the
patients or procedures assessed) without the objective response rate or the disease control rate. RECIST
defines both as sums of these categories (Eisenhauer et al., Eur J Cancer 2009;45:228-247; the WHO
criteria, Miller et al., Cancer 1981;47:207-214, likewise): objective response = complete + partial
response, disease control = complete + partial response + stable disease.

:func:`derived_response_rates` forms these sums for an analysis of ``orr`` or ``dcr``. Records keep the
categories as reported; the derived rows exist only inside an analysis and say that they are derived,
from which categories and where each was read. A sum is formed only when

- every category of the sum is reported for the same study, arm, comparator, patient subgroup, data cut,
  time point and source, once each;
- every category has the same denominator ``n`` (counts, or percentages with their ``n``);
- the study does not itself report the rate for that same arm, time point and source.

Counts give a count (events added); percentages give a percentage of ``n`` (percentages added, at most
100). Everything else about the row (definition, provenance, verification) is taken from the categories,
which must agree on the source; a row is verified only when every category is.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from ..values import na_to_none

COMPONENTS: dict[str, tuple[str, ...]] = {
    "orr": ("response_complete", "response_partial"),
    "dcr": ("response_complete", "response_partial", "response_stable"),
}
GROUP = ("study_id", "arm", "comparator", "subgroup", "data_cut", "time", "time_unit", "source")
SHORT = {"response_complete": "complete", "response_partial": "partial", "response_stable": "stable disease"}
PREFIX = "derived: "  # how a derived row's location begins


def is_derived(row) -> bool:
    """Whether an outcome row was derived here from response categories (its location says so)."""
    return str(row.get("location") or "").startswith(PREFIX)


def _percent(row: dict) -> float | None:
    if row["statistic"] == "count":
        events, n = na_to_none(row["events"]), na_to_none(row["n"])
        return None if events is None or not n else 100.0 * float(events) / float(n)
    if row["statistic"] == "proportion":
        p = na_to_none(row["percent"])
        return None if p is None else float(p)
    return None


def _derive(endpoint: str, parts: list[dict]) -> dict | None:
    """The derived row of ``endpoint`` from its category rows (one per category), or None."""
    ns = {na_to_none(p["n"]) for p in parts}
    if len(ns) != 1 or None in ns:
        return None
    n = float(ns.pop())
    percents = [_percent(p) for p in parts]
    if any(p is None for p in percents):
        return None
    base = dict(next(p for p in parts if p["endpoint"] == "response_partial"))  # carries the context
    names = " + ".join(SHORT[p["endpoint"]] for p in parts)
    locations = sorted({str(p["location"]) for p in parts if na_to_none(p["location"]) is not None})
    base.update(endpoint=endpoint, qualifier=None, estimate=np.nan, ci_low=np.nan, ci_high=np.nan,
                location=f"{PREFIX}{names} ({'; '.join(locations)})",
                verified=all(bool(p["verified"]) for p in parts),
                note=f"Derived here as the sum of the reported {names} response categories (RECIST/WHO "
                     f"definition of the {'objective response' if endpoint == 'orr' else 'disease control'} "
                     "rate); not reported as such by the source.")
    if all(p["statistic"] == "count" for p in parts):
        base.update(statistic="count", events=float(sum(float(p["events"]) for p in parts)), n=n,
                    percent=np.nan)
    else:
        base.update(statistic="proportion", percent=min(100.0, round(sum(percents), 6)), n=n, events=np.nan)
    return base


def derived_response_rates(outcomes: pd.DataFrame, endpoints: Iterable[str]) -> pd.DataFrame:
    """Rows of ``orr``/``dcr`` (those in ``endpoints``) derived from reported response categories, with an
    index that continues after ``outcomes``' own (see the module docstring for the rules)."""
    wanted = [e for e in endpoints if e in COMPONENTS]
    if not wanted or outcomes.empty:
        return outcomes.iloc[0:0]
    cats = {c for e in wanted for c in COMPONENTS[e]}
    rows = outcomes[outcomes["endpoint"].isin(cats | set(wanted))].to_dict("records")
    groups: dict[tuple, dict[str, list[dict]]] = {}
    for r in rows:
        key = tuple(na_to_none(r[c]) for c in GROUP)
        groups.setdefault(key, {}).setdefault(r["endpoint"], []).append(r)
    out = []
    for by_endpoint in groups.values():
        for endpoint in wanted:
            if endpoint in by_endpoint:
                continue
            parts = [by_endpoint.get(c, []) for c in COMPONENTS[endpoint]]
            if any(len(p) != 1 for p in parts):
                continue
            row = _derive(endpoint, [p[0] for p in parts])
            if row is not None:
                out.append(row)
    start = int(outcomes.index.max()) + 1 if len(outcomes) else 0
    return pd.DataFrame(out, columns=outcomes.columns, index=range(start, start + len(out)))


def with_derived_response_rates(outcomes: pd.DataFrame, endpoints: Iterable[str]) -> pd.DataFrame:
    """``outcomes`` followed by the rows :func:`derived_response_rates` derives for ``endpoints``."""
    extra = derived_response_rates(outcomes, list(endpoints))
    if extra.empty:
        return outcomes
    return pd.concat([outcomes, extra.dropna(axis=1, how="all")])[list(outcomes.columns)]
