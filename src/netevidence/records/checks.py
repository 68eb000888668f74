"""Semantic checks of records: the rules that relate fields to each other.

Errors (the record cannot be used as written): references to undefined sources, arms or data cuts;
numbers without provenance; events > n; a percent outside 0-100; a CI whose lower limit is not below
its upper limit; an estimate outside its CI; a ratio <= 0; a p-value outside (0, 1]; a time without a
unit; a pooled estimate without k; duplicate ids.

Warnings (the record is usable, but a reader should know): a printed percent that does not match
events/n at its printed precision; one quantity reported with different values by two sources; numbers
that rest only on a secondary source; review counts that differ between sources.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import pandas as pd

from .curvefiles import read_at_risk_csv, read_curve_csv
from .problems import Problem, field_path
from .schema import (
    COMPARATIVE_KINDS,
    RATIO_KINDS,
    Citation,
    Outcome,
    Characteristic,
    Population,
    Provenance,
    Record,
)
from .yamlsource import ParsedYaml


@dataclass(frozen=True)
class CurveData:
    """The contents of a record's digitised curve files (see :mod:`netevidence.records.curvefiles`)."""

    curve: pd.DataFrame
    at_risk: pd.DataFrame | None
    curve_file: str
    at_risk_file: str | None


@dataclass(frozen=True)
class LoadedRecord:
    """A validated record with the parsed file it came from (for positions) and its curve files."""

    record: Record
    parsed: ParsedYaml
    curves: Mapping[str, CurveData] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.parsed.file

    def line_of(self, path: tuple[object, ...]) -> int:
        return self.parsed.locate(path).line


class _Reporter:
    def __init__(self, parsed: ParsedYaml):
        self.parsed = parsed
        self.problems: list[Problem] = []

    def error(self, rule: str, path: tuple[object, ...], message: str, fix: str, *, key: bool = False) -> None:
        self._add("error", rule, path, message, fix, key)

    def warning(self, rule: str, path: tuple[object, ...], message: str, fix: str = "") -> None:
        self._add("warning", rule, path, message, fix, False)

    def _add(self, severity, rule, path, message, fix, key) -> None:
        pos = self.parsed.locate(path, key=key)
        self.problems.append(
            Problem(severity, rule, message, self.parsed.file, pos.line, pos.column, field_path(path), fix)
        )


def effective_data_cut(record: Record, outcome: Outcome | Characteristic) -> str | None:
    """The data cut an outcome belongs to: its own, or the record's only one."""
    if outcome.data_cut is not None:
        return outcome.data_cut
    return record.data_cuts[0].id if len(record.data_cuts) == 1 else None


def effective_aggregation(record: Record, outcome: Outcome | Characteristic) -> str:
    kind = outcome.statistic.kind
    if kind == "median_of_studies":
        return "median_of_studies"
    if kind == "range":
        return "range_of_studies"
    agg = getattr(outcome, "aggregation", None)
    return agg.type if agg is not None else record.aggregation


def check_record(loaded: LoadedRecord, shared_sources: Mapping[str, Citation]) -> list[Problem]:
    """All errors and warnings within one record."""
    record, report = loaded.record, _Reporter(loaded.parsed)
    sources = set(record.sources) | set(shared_sources)
    for sid in record.sources:
        if sid in shared_sources:
            report.error("duplicate-id", ("sources", sid), f"source {sid!r} is also defined in sources.yaml",
                         "remove it here (the shared definition is used) or give it another id", key=True)
    if record.citation not in sources:
        _unknown(report, ("citation",), "source", record.citation, sources)

    arms = _unique_ids(report, "arms", [a.id for a in record.arms])
    cuts = _unique_ids(report, "data_cuts", [c.id for c in record.data_cuts])
    if record.population is not None:
        _check_population(report, ("population",), record.population, sources, arms)
    for i, cut in enumerate(record.data_cuts):
        if cut.source is not None and cut.source not in sources:
            _unknown(report, ("data_cuts", i, "source"), "source", cut.source, sources)
        if cut.population is not None:
            _check_population(report, ("data_cuts", i, "population"), cut.population, sources, arms)
    if record.review is not None:
        for name in ("studies", "abstracts", "patients", "procedures"):
            for j, number in enumerate(getattr(record.review, name)):
                _check_provenance(report, ("review", name, j), number.provenance, sources)
    for i, item in enumerate(record.characteristics):
        _check_item(report, record, ("characteristics", i), item, sources, arms, cuts)
    for i, outcome in enumerate(record.outcomes):
        _check_item(report, record, ("outcomes", i), outcome, sources, arms, cuts)
    _unique_ids(report, "curves", [c.id for c in record.curves])
    for i, curve in enumerate(record.curves):
        _check_curve_reference(report, ("curves", i), curve, sources, arms, cuts)
    _warn_conflicts(report, record)
    _warn_secondary_only(report, record)
    return report.problems


def check_collection(records: Iterable[LoadedRecord]) -> list[Problem]:
    """Rules across records: unique ids, consistent shared citations, known included studies."""
    problems: list[Problem] = []
    records = list(records)
    seen: dict[str, LoadedRecord] = {}
    for loaded in records:
        rid = loaded.record.id
        if rid in seen:
            first = seen[rid]
            pos = loaded.parsed.locate(("id",))
            problems.append(Problem(
                "error", "duplicate-id",
                f"record id {rid!r} is already used by {first.file}:{first.line_of(('id',))}",
                loaded.file, pos.line, pos.column, "id", "give each record its own id"))
        else:
            seen[rid] = loaded
    defined: dict[str, tuple[Citation, LoadedRecord]] = {}
    for loaded in records:
        for sid, citation in loaded.record.sources.items():
            if sid in defined and defined[sid][0] != citation:
                other = defined[sid][1]
                pos = loaded.parsed.locate(("sources", sid), key=True)
                problems.append(Problem(
                    "error", "duplicate-id",
                    f"source {sid!r} is defined differently in {other.file}:{other.line_of(('sources', sid))}",
                    loaded.file, pos.line, pos.column, f"sources.{sid}",
                    "move the citation to sources.yaml and refer to it from both records"))
            defined.setdefault(sid, (citation, loaded))
    for loaded in records:
        rec = loaded.record
        targets = [("review", "included_ids", j, x) for j, x in enumerate(rec.review.included_ids)] if rec.review else []
        targets += [("related", j, x) for j, x in enumerate(rec.related)]
        for *path, target in targets:
            if target not in seen:
                pos = loaded.parsed.locate(tuple(path))
                problems.append(Problem(
                    "error", "unknown-reference", f"no record has the id {target!r}", loaded.file, pos.line,
                    pos.column, field_path(tuple(path)), "use the id of a record in this evidence base"))
            elif target == rec.id:
                pos = loaded.parsed.locate(tuple(path))
                problems.append(Problem("error", "unknown-reference", "a record cannot refer to itself",
                                        loaded.file, pos.line, pos.column, field_path(tuple(path)),
                                        "remove the reference"))
    return problems


def load_curves(loaded: LoadedRecord) -> tuple[dict[str, CurveData], list[Problem]]:
    """Read the curve files a record points to; every unreadable or inconsistent file is a problem."""
    record, report = loaded.record, _Reporter(loaded.parsed)
    base = Path(loaded.file).parent
    curves: dict[str, CurveData] = {}
    for i, curve in enumerate(record.curves):
        path = ("curves", i)
        files = [("file", curve.file), ("at_risk", curve.at_risk)]
        if any(name is not None and _unsafe_path(name) for _, name in files):
            continue  # already reported by check_record
        missing = [name for _, name in files if name is not None and not (base / name).is_file()]
        if missing:
            report.error("curve-file", path, f"the file {base / missing[0]} does not exist",
                         "put the CSV under the evidence directory (e.g. curves/) and give its relative path")
            continue
        try:
            points = read_curve_csv(base / curve.file)
            at_risk = read_at_risk_csv(base / curve.at_risk) if curve.at_risk else None
        except ValueError as exc:
            report.error("curve-file", path, str(exc), "correct the CSV at that line")
            continue
        if at_risk is not None:
            first = at_risk.iloc[0]
            if first["time"] == 0 and int(first["n_at_risk"]) != curve.n:
                report.error("curve-file", path + ("n",),
                             f"n is {curve.n} but {curve.at_risk}:{at_risk.index[0]} has {int(first['n_at_risk'])} at risk at time 0",
                             "make n equal to the number at risk at time 0")
                continue
            if int(at_risk["n_at_risk"].max()) > curve.n:
                report.error("curve-file", path + ("n",), f"the at-risk table exceeds n ({curve.n})",
                             "check n and the at-risk table")
                continue
        if curve.total_events is not None and curve.total_events > curve.n:
            report.error("events-exceed-n", path + ("total_events",),
                         f"total_events ({curve.total_events}) exceed n ({curve.n})", "check both numbers")
            continue
        curves[curve.id] = CurveData(points, at_risk, str(base / curve.file),
                                     str(base / curve.at_risk) if curve.at_risk else None)
    return curves, report.problems


def _unsafe_path(name: str) -> bool:
    path = Path(name)
    return path.is_absolute() or ".." in path.parts or path.suffix.lower() != ".csv"


def _check_curve_reference(report: _Reporter, path, curve, sources: set[str], arms: set[str],
                           cuts: set[str]) -> None:
    _check_provenance(report, path, curve.provenance, sources)
    if curve.arm is not None and curve.arm not in arms:
        _unknown(report, path + ("arm",), "arm", curve.arm, arms)
    if curve.data_cut is not None and curve.data_cut not in cuts:
        _unknown(report, path + ("data_cut",), "data cut", curve.data_cut, cuts)
    if curve.data_cut is None and len(cuts) > 1:
        report.error("missing-data-cut", path, "the record has several data cuts and this curve names none",
                     f"add 'data_cut: ...' with one of: {', '.join(sorted(cuts))}")
    for name in ("file", "at_risk"):
        value = getattr(curve, name)
        if value is not None and _unsafe_path(value):
            report.error("curve-file", path + (name,),
                         f"{value!r} must be a relative path to a .csv file inside the evidence directory",
                         "write e.g. curves/<record-id>-<endpoint>-<arm>.csv")


# --- helpers -----------------------------------------------------------------------------------


def _unknown(report: _Reporter, path, what: str, value: str, known: Iterable[str]) -> None:
    from .vocabulary import did_you_mean

    known = sorted(known)
    listed = ", ".join(known) if known else "(none defined)"
    report.error("unknown-reference", path, f"no {what} has the id {value!r}{did_you_mean(value, known)}",
                 f"define it or use one of: {listed}")


def _unique_ids(report: _Reporter, section: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for i, item in enumerate(ids):
        if item in seen:
            report.error("duplicate-id", (section, i, "id"), f"the id {item!r} is used twice in {section}",
                         "give each entry its own id")
        seen.add(item)
    return seen


def _check_provenance(report: _Reporter, path: tuple[object, ...], prov: Provenance | None,
                      sources: set[str]) -> None:
    if prov is None:
        report.error("missing-provenance", path, "numbers without provenance",
                     "add 'provenance: {source: ..., location: ..., kind: primary|secondary, verified: true|false}'")
        return
    if prov.source not in sources:
        _unknown(report, path + ("provenance", "source"), "source", prov.source, sources)
    if not prov.verified and not prov.note:
        report.error("unverified-without-note", path + ("provenance", "verified"),
                     "a number marked verified: false needs the reason",
                     "add 'note: ...' to the provenance saying what is not verified and why")


def _check_population(report: _Reporter, path, population: Population, sources: set[str],
                      arms: set[str]) -> None:
    numbers = [population.patients, population.lesions, population.procedures, population.sessions,
               population.sites, *population.arms.values()]
    if any(v is not None for v in numbers) or population.provenance is not None:
        _check_provenance(report, path, population.provenance, sources)
    for arm in population.arms:
        if arm not in arms:
            _unknown(report, path + ("arms", arm), "arm", arm, arms)


def _check_item(report: _Reporter, record: Record, path: tuple[object, ...],
                item: Outcome | Characteristic, sources: set[str], arms: set[str], cuts: set[str]) -> None:
    _check_provenance(report, path, item.provenance, sources)
    stat = item.statistic
    if item.data_cut is not None and item.data_cut not in cuts:
        _unknown(report, path + ("data_cut",), "data cut", item.data_cut, cuts)
    if item.data_cut is None and len(cuts) > 1:
        report.error("missing-data-cut", path, "the record has several data cuts and this entry names none",
                     f"add 'data_cut: ...' with one of: {', '.join(sorted(cuts))}")
    if isinstance(item, Outcome):
        _check_arms(report, path, item, arms)
        _check_time(report, path, item)
        _check_aggregation(report, record, path, item)
    _check_statistic(report, path + ("statistic",), stat)


def _check_arms(report: _Reporter, path, outcome: Outcome, arms: set[str]) -> None:
    for name in ("arm", "comparator"):
        value = getattr(outcome, name)
        if value is not None and value not in arms:
            _unknown(report, path + (name,), "arm", value, arms)
    kind = outcome.statistic.kind
    # A p-value may also compare subgroups named in 'subgroup' (e.g. Ki-67 <= 7% vs > 7%).
    between_subgroups = kind == "p_value" and outcome.arm is None and outcome.comparator is None and outcome.subgroup
    if kind in COMPARATIVE_KINDS and not between_subgroups and (outcome.arm is None or outcome.comparator is None):
        report.error("missing-arms", path, f"a {kind} compares two arms: 'arm' and 'comparator' are required",
                     "add 'arm: <experimental arm id>' and 'comparator: <reference arm id>'")
    if kind not in COMPARATIVE_KINDS and outcome.comparator is not None:
        report.error("unexpected-comparator", path + ("comparator",),
                     f"a {kind} describes one group; it has no comparator",
                     "remove 'comparator' (report each arm as its own outcome)")
    if outcome.arm is not None and outcome.arm == outcome.comparator:
        report.error("unknown-reference", path + ("comparator",), "an arm cannot be compared with itself",
                     "name two different arms")


def _check_time(report: _Reporter, path, outcome: Outcome) -> None:
    if outcome.time is not None and outcome.time_unit is None:
        report.error("time-without-unit", path + ("time",), f"the time {outcome.time:g} has no unit",
                     "add 'time_unit: days|weeks|months|years'")
    if outcome.time_unit is not None and outcome.time is None:
        report.error("unit-without-time", path + ("time_unit",), "a time unit is given without a time",
                     "add 'time: ...' or remove 'time_unit'")
    needs_time = {"survival_at": "the landmark time", "rmst": "the horizon", "rmst_difference": "the horizon"}
    kind = outcome.statistic.kind
    if kind in needs_time and outcome.time is None:
        report.error("missing-time", path, f"a {kind} needs {needs_time[kind]}",
                     "add 'time: ...' and 'time_unit: ...'")


def _check_aggregation(report: _Reporter, record: Record, path, outcome: Outcome) -> None:
    agg = outcome.aggregation
    kind = outcome.statistic.kind
    if agg is not None:
        if kind == "median_of_studies" and agg.type != "median_of_studies":
            report.error("aggregation-mismatch", path + ("aggregation", "type"),
                         "a median_of_studies statistic has aggregation 'median_of_studies'",
                         "set 'type: median_of_studies' or remove the aggregation block")
        if kind == "range" and agg.type != "range_of_studies":
            report.error("aggregation-mismatch", path + ("aggregation", "type"),
                         "a range statistic has aggregation 'range_of_studies'",
                         "set 'type: range_of_studies' or remove the aggregation block")
        if agg.type != "pooled" and agg.model is not None:
            report.error("aggregation-mismatch", path + ("aggregation", "model"),
                         f"a model is only meaningful for pooled estimates, not {agg.type}",
                         "remove 'model' or set 'type: pooled'")
    if effective_aggregation(record, outcome) == "pooled":
        if agg is None or agg.model is None:
            report.error("pooled-without-model", path + (("aggregation",) if agg else ()),
                         "a published pooled estimate needs its model (fixed, random or unknown)",
                         "add 'aggregation: {type: pooled, model: fixed|random|unknown, k: ...}'")
        elif agg.k is None:
            report.warning("pooled-without-k", path + ("aggregation",),
                           "a published pooled estimate without its number of studies k",
                           "add 'k: ...' when the source gives it")


def _check_statistic(report: _Reporter, path: tuple[object, ...], stat: Any) -> None:
    kind = stat.kind
    if kind == "count" and stat.events > stat.n:
        report.error("events-exceed-n", path + ("events",), f"events ({stat.events}) exceed n ({stat.n})",
                     "check both numbers against the source")
    for name in ("percent", "ci_low", "ci_high") if kind in ("proportion", "survival_at") else ("percent",):
        value = getattr(stat, name, None)
        if value is not None and not 0 <= value <= 100:
            report.error("percent-out-of-range", path + (name,), f"{value:g} is not a percent between 0 and 100",
                         "write percents as 0-100 (e.g. 65.2 for 65.2%)")
    _check_ci(report, path, stat)
    if kind in RATIO_KINDS:
        for name in ("estimate", "ci_low", "ci_high"):
            value = getattr(stat, name)
            if value is not None and value <= 0:
                report.error("ratio-not-positive", path + (name,), f"a {kind} must be > 0, got {value:g}",
                             "enter the ratio itself, not its logarithm")
    p = getattr(stat, "p", None)
    if p is not None and not 0 < p <= 1:
        report.error("p-out-of-range", path + ("p",), f"p = {p:g} is outside (0, 1]",
                     "enter the p-value as a probability; for 'p<0.001' write p: 0.001 with p_relation: '<'")
    if kind == "median_time":
        if stat.not_reached and stat.estimate is not None:
            report.error("conflicting-fields", path + ("estimate",), "an estimate is given although not_reached is true",
                         "remove the estimate or set not_reached: false")
        if not stat.not_reached and stat.estimate is None:
            report.error("missing-field", path, "a median needs 'estimate' or 'not_reached: true'",
                         "add the estimate, or 'not_reached: true'")
        if stat.ci_high_not_reached and stat.ci_high is not None:
            report.error("conflicting-fields", path + ("ci_high",), "ci_high is given although ci_high_not_reached is true",
                         "remove one of them")
        if stat.range_low is not None and stat.range_high is not None and stat.range_low > stat.range_high:
            report.error("range-order", path + ("range_low",), "range_low is above range_high", "swap them")
        for name in ("estimate", "ci_low", "ci_high", "range_low", "range_high"):
            value = getattr(stat, name)
            if value is not None and value < 0:
                report.error("out-of-range", path + (name,), f"a time cannot be negative ({value:g})",
                             "correct the value")
    if kind == "range" and stat.low > stat.high:
        report.error("range-order", path + ("low",), f"low ({stat.low:g}) is above high ({stat.high:g})", "swap them")
    if kind == "count" and stat.percent is not None and 0 <= stat.percent <= 100 and stat.events <= stat.n:
        _warn_percent(report, path, stat.events, stat.n, stat.percent, report.parsed)


def _check_ci(report: _Reporter, path, stat: Any) -> None:
    if not hasattr(stat, "ci_low"):
        return
    low, high = stat.ci_low, stat.ci_high
    open_high = getattr(stat, "ci_high_not_reached", False)
    if (low is None) != (high is None) and not (open_high and low is not None):
        missing = "ci_high" if high is None else "ci_low"
        report.error("incomplete-ci", path + ((missing,) if missing == "ci_high" else ("ci_low",)),
                     f"the CI has only one limit ({missing} is missing)",
                     "give both limits, or for an upper limit 'not reached' set ci_high_not_reached: true")
        return
    if low is not None and high is not None and low >= high:
        report.error("ci-order", path + ("ci_low",), f"the lower limit ({low:g}) is not below the upper ({high:g})",
                     "check the order of the limits")
        return
    value = getattr(stat, "estimate", None)
    if value is None:
        value = getattr(stat, "percent", None)
    if value is not None and low is not None:
        above = high is not None and value > high
        if value < low or above:
            name = "estimate" if getattr(stat, "estimate", None) is not None else "percent"
            report.error("estimate-outside-ci", path + (name,),
                         f"{value:g} lies outside its CI ({low:g} to {'not reached' if high is None else f'{high:g}'})",
                         "check the estimate and limits against the source")


def _printed_decimals(parsed: ParsedYaml, path: tuple[object, ...]) -> int:
    value: Any = parsed.data
    for part in path:
        value = value[part]
    if isinstance(value, int):
        return 0
    text = repr(float(value))
    return 6 if "e" in text else len(text.split(".")[1])


def _warn_percent(report: _Reporter, path, events: int, n: int, percent: float, parsed: ParsedYaml) -> None:
    exact = 100.0 * events / n
    decimals = _printed_decimals(parsed, path + ("percent",))
    if abs(exact - percent) > 0.5 * 10.0 ** (-decimals) + 1e-9:
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


def _warn_conflicts(report: _Reporter, record: Record) -> None:
    for key, rows in _groups(record):
        differences: list[str] = []
        for a_pos, i in enumerate(rows):
            for j in rows[a_pos + 1:]:
                a, b = _values(record.outcomes[i]), _values(record.outcomes[j])
                for name in sorted(set(a) & set(b)):
                    if not _agree(a[name], b[name]):
                        differences.append(
                            f"{name} {_fmt(a[name])} ({_source(record, i)}) vs {_fmt(b[name])} ({_source(record, j)})")
        if differences:
            report.warning("conflicting-values", ("outcomes", rows[0]),
                           f"{_describe_quantity(key)} is reported with different values: {'; '.join(differences)}",
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


def _warn_secondary_only(report: _Reporter, record: Record) -> None:
    for key, rows in _groups(record):
        provs = [record.outcomes[i].provenance for i in rows]
        if provs and all(p is not None and p.kind == "secondary" for p in provs):
            report.warning("secondary-only", ("outcomes", rows[0]),
                           f"{_describe_quantity(key)} rests only on a secondary source ({provs[0].source})",
                           "find the number in the study's own publication and add it with kind: primary")
