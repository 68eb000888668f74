"""Consistency warnings: numbers that are usable but that a reader should look at twice.

- ``percent-mismatch``: a printed percent that does not match events/n at its printed precision;
- ``conflicting-values``: one quantity reported with different values by two sources (after rounding
  both to the coarser printed precision), and review counts that differ between sources;
- ``secondary-only``: a quantity that rests only on a secondary source.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterator

from .loaded import Reporter, effective_aggregation, effective_data_cut
from .schema import Outcome, Record
from .yamlsource import ParsedYaml


def _printed_decimals(parsed: ParsedYaml, path: tuple[object, ...]) -> int:
    value: Any = parsed.data
    for part in path:
        value = value[part]
    if isinstance(value, int):
        return 0
    text = repr(float(value))
    return 6 if "e" in text else len(text.split(".")[1])


def warn_percent(report: Reporter, path, events: int, n: int, percent: float, parsed: ParsedYaml) -> None:
    exact = 100.0 * events / n
    decimals = _printed_decimals(parsed, path + ("percent",))
    if abs(exact - percent) > 0.5 * 10.0 ** (-decimals) + 1e-9:
        if percent <= 1 and abs(exact - 100 * percent) <= 0.5 * 10.0 ** (2 - decimals) + 1e-9:
            report.warning("percent-mismatch", path + ("percent",),
                           f"{events}/{n} is {exact:g}%, and {percent:g} looks like that as a fraction",
                           f"write percents on the 0-100 scale: percent: {100 * percent:g}")
            return
        report.warning("percent-mismatch", path + ("percent",),
                       f"{events}/{n} is {exact:.{decimals + 1}f}%, but {percent:g}% is printed",
                       "check the counts and the percent against the source (a truncated percent is common)")


def _quantity_key(record: Record, outcome: Outcome) -> tuple:
    return (effective_data_cut(record, outcome), outcome.endpoint, outcome.qualifier, outcome.subgroup,
            outcome.arm, outcome.comparator, outcome.time, outcome.time_unit, outcome.statistic.kind,
            effective_aggregation(record, outcome))


def _values(outcome: Outcome) -> dict[str, Any]:
    values = outcome.statistic.model_dump(exclude={"kind", "method", "test"}, exclude_defaults=True)
    if outcome.aggregation is not None and outcome.aggregation.k is not None:
        values["k"] = outcome.aggregation.k
    return values


def _decimals(value: float) -> int:
    text = repr(float(value))
    return 6 if "e" in text else len(text.split(".")[1].rstrip("0"))


def _agree(a: Any, b: Any) -> bool:
    """Equal, or equal once both are rounded to the coarser of their printed precisions (0.21 ~ 0.214)."""
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return a == b
    places = min(_decimals(a), _decimals(b))
    return abs(round(a, places) - round(b, places)) < 10.0 ** (-places) / 2


def _groups(record: Record) -> Iterator[tuple[tuple, list[int]]]:
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, outcome in enumerate(record.outcomes):
        groups[_quantity_key(record, outcome)].append(i)
    return iter(groups.items())


def _describe_quantity(key: tuple) -> str:
    cut, endpoint, qualifier, subgroup, arm, comparator, time, unit, kind, _ = key
    parts = [endpoint + (f" ({qualifier})" if qualifier else "")]
    if arm:
        parts.append(f"{arm} vs {comparator}" if comparator else f"arm {arm}")
    if subgroup:
        parts.append(f"subgroup {subgroup}")
    if time is not None:
        parts.append(f"at {time:g} {unit}")
    if cut:
        parts.append(f"data cut {cut}")
    return f"{kind} of " + ", ".join(parts)


MAX_DIFFERENCES = 5  # differences listed in one warning


def _differences(record: Record, rows: list[int]) -> list[str]:
    """Each field's values that disagree with the first value reported for it, in one pass over the rows
    (equal values from the same source are compared once)."""
    first: dict[str, tuple[Any, int]] = {}
    seen: set[tuple[str, Any, str]] = set()
    out: list[str] = []
    for i in rows:
        for name, value in sorted(_values(record.outcomes[i]).items()):
            marker = (name, value, _source(record, i))
            if marker in seen:
                continue
            seen.add(marker)
            if name not in first:
                first[name] = (value, i)
            elif not _agree(first[name][0], value):
                ref, j = first[name]
                out.append(f"{name} {_fmt(ref)} ({_source(record, j)}) vs {_fmt(value)} ({_source(record, i)})")
    return out


def warn_conflicts(report: Reporter, record: Record) -> None:
    for key, rows in _groups(record):
        differences = _differences(record, rows)
        if not differences:
            continue
        listed = "; ".join(differences[:MAX_DIFFERENCES])
        if len(differences) > MAX_DIFFERENCES:
            listed += f"; and {len(differences) - MAX_DIFFERENCES} more"
        report.warning("conflicting-values", ("outcomes", rows[0]),
                       f"{_describe_quantity(key)} is reported with different values: {listed}",
                       "keep every value with its source; say in a note which one analyses should use")
    if record.review is not None:
        for name in ("studies", "abstracts", "patients", "procedures"):
            numbers = getattr(record.review, name)
            values = {n.value for n in numbers}
            if len(values) > 1:
                listed = " vs ".join(f"{n.value} ({n.provenance.source if n.provenance else '?'})" for n in numbers)
                report.warning("conflicting-values", ("review", name),
                               f"the number of included {name} differs between sources: {listed}",
                               "keep both with their sources; check the primary publication")


def _source(record: Record, i: int) -> str:
    prov = record.outcomes[i].provenance
    return prov.source if prov else "no source"


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def warn_secondary_only(report: Reporter, record: Record) -> None:
    for key, rows in _groups(record):
        provs = [record.outcomes[i].provenance for i in rows]
        if provs and all(p is not None and p.kind == "secondary" for p in provs):
            report.warning("secondary-only", ("outcomes", rows[0]),
                           f"{_describe_quantity(key)} rests only on a secondary source ({provs[0].source})",
                           "find the number in the study's own publication and add it with kind: primary")
