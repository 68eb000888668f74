"""Semantic checks of records: the rules that relate fields to each other.

Errors (the record cannot be used as written): references to undefined sources, arms or data cuts;
numbers without provenance; events > n; a percent outside 0-100; a CI whose lower limit is not below
its upper limit; an estimate outside its CI; a ratio <= 0; a p-value outside (0, 1]; a time without a
unit; a pooled estimate without its model (one without k is a warning); duplicate ids.

The consistency warnings are in :mod:`netevidence.records.consistency`, the checks of curve files in
:mod:`netevidence.records.curves`.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from .appraisal_checks import check_risk_of_bias
from .consistency import warn_conflicts, warn_percent, warn_secondary_only
from .curves import check_curve_reference
from .loaded import LoadedRecord, Reporter, effective_aggregation
from .problems import Problem, field_path
from .references import check_provenance, unique_ids, unknown
from .schema import COMPARATIVE_KINDS, RATIO_KINDS, Characteristic, Citation, Outcome, Population, Record


def check_record(loaded: LoadedRecord, shared_sources: Mapping[str, Citation]) -> list[Problem]:
    """All errors and warnings within one record."""
    record, report = loaded.record, Reporter(loaded.parsed)
    sources = set(record.sources) | set(shared_sources)
    for sid in record.sources:
        if sid in shared_sources:
            report.error("duplicate-id", ("sources", sid), f"source {sid!r} is also defined in sources.yaml",
                         "remove it here (the shared definition is used) or give it another id", key=True)
    if record.citation not in sources:
        unknown(report, ("citation",), "source", record.citation, sources)

    arms = unique_ids(report, "arms", [a.id for a in record.arms])
    cuts = unique_ids(report, "data_cuts", [c.id for c in record.data_cuts])
    if record.population is not None:
        _check_population(report, ("population",), record.population, sources, arms)
    for i, cut in enumerate(record.data_cuts):
        if cut.source is not None and cut.source not in sources:
            unknown(report, ("data_cuts", i, "source"), "source", cut.source, sources)
        if cut.population is not None:
            _check_population(report, ("data_cuts", i, "population"), cut.population, sources, arms)
    if record.review is not None:
        for name in ("studies", "abstracts", "patients", "procedures"):
            for j, number in enumerate(getattr(record.review, name)):
                check_provenance(report, ("review", name, j), number.provenance, sources)
    for i, item in enumerate(record.characteristics):
        _check_item(report, record, ("characteristics", i), item, sources, arms, cuts)
    for i, outcome in enumerate(record.outcomes):
        _check_item(report, record, ("outcomes", i), outcome, sources, arms, cuts)
    unique_ids(report, "curves", [c.id for c in record.curves])
    for i, curve in enumerate(record.curves):
        check_curve_reference(report, ("curves", i), curve, sources, arms, cuts)
    warn_conflicts(report, record)
    warn_secondary_only(report, record)
    check_risk_of_bias(report, record)
    return report.problems


def check_collection(records: Iterable[LoadedRecord]) -> list[Problem]:
    """Rules across records: unique ids, consistent shared citations, known included studies."""
    problems: list[Problem] = []
    records = list(records)
    seen: dict[str, LoadedRecord] = {}
    users: dict[str, list[LoadedRecord]] = {}
    for loaded in records:
        users.setdefault(loaded.record.id, []).append(loaded)
        seen.setdefault(loaded.record.id, loaded)
    for rid, group in users.items():
        # every file that uses the id is named, so the file just added is always among them
        for loaded in group if len(group) > 1 else ():
            others = ", ".join(f"{o.file}:{o.line_of(('id',))}" for o in group if o is not loaded)
            pos = loaded.parsed.locate(("id",))
            problems.append(Problem(
                "error", "duplicate-id", f"record id {rid!r} is also used by {others}",
                loaded.file, pos.line, pos.column, "id", "give each record its own id (e.g. <first author>-<year>)"))
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


# --- helpers -----------------------------------------------------------------------------------


def _check_population(report: Reporter, path, population: Population, sources: set[str],
                      arms: set[str]) -> None:
    numbers = [population.patients, population.lesions, population.procedures, population.sessions,
               population.sites, *population.arms.values()]
    if any(v is not None for v in numbers) or population.provenance is not None:
        check_provenance(report, path, population.provenance, sources)
    for arm in population.arms:
        if arm not in arms:
            unknown(report, path + ("arms", arm), "arm", arm, arms)


def _check_item(report: Reporter, record: Record, path: tuple[object, ...],
                item: Outcome | Characteristic, sources: set[str], arms: set[str], cuts: set[str]) -> None:
    check_provenance(report, path, item.provenance, sources)
    stat = item.statistic
    if item.data_cut is not None and item.data_cut not in cuts:
        unknown(report, path + ("data_cut",), "data cut", item.data_cut, cuts)
    if item.data_cut is None and len(cuts) > 1:
        report.error("missing-data-cut", path, "the record has several data cuts and this entry names none",
                     f"add 'data_cut: ...' with one of: {', '.join(sorted(cuts))}")
    if isinstance(item, Outcome):
        _check_arms(report, path, item, arms)
        _check_time(report, path, item)
        _check_aggregation(report, record, path, item)
    _check_statistic(report, path + ("statistic",), stat)


def _check_arms(report: Reporter, path, outcome: Outcome, arms: set[str]) -> None:
    for name in ("arm", "comparator"):
        value = getattr(outcome, name)
        if value is not None and value not in arms:
            unknown(report, path + (name,), "arm", value, arms)
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


def _check_time(report: Reporter, path, outcome: Outcome) -> None:
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


def _check_aggregation(report: Reporter, record: Record, path, outcome: Outcome) -> None:
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


def _check_statistic(report: Reporter, path: tuple[object, ...], stat: Any) -> None:
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
        warn_percent(report, path, stat.events, stat.n, stat.percent, report.parsed)
    if kind in ("proportion", "survival_at"):
        _warn_fraction(report, path, stat)


def _warn_fraction(report: Reporter, path, stat: Any) -> None:
    """A percent and CI that all lie in [0, 1] with a CI that is not a point: almost surely a fraction
    (0.625 for 62.5%) rather than a rate below 1%."""
    values = [v for v in (stat.percent, stat.ci_low, stat.ci_high) if v is not None]
    has_ci = stat.ci_low is not None and stat.ci_high is not None and stat.ci_high > stat.ci_low
    if has_ci and all(0 <= v <= 1 for v in values) and stat.percent > 0:
        report.warning("percent-as-fraction", path + ("percent",),
                       f"{stat.percent:g} with CI {stat.ci_low:g}-{stat.ci_high:g} looks like a fraction, "
                       f"not a percent ({100 * stat.percent:g}%?)",
                       "write percents on the 0-100 scale (e.g. 62.5 for 62.5%); keep it if the rate really is "
                       "below 1%")


def _check_ci(report: Reporter, path, stat: Any) -> None:
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


