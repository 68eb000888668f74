"""Records to tidy pandas tables.

``outcomes`` has one row per study x arm x endpoint x time point x data cut x source and keeps every
number exactly as it was reported (no percent is turned into a count, no CI into a standard error);
``file`` and ``line`` lead each row back to the YAML that holds it. The other tables describe studies,
arms, data cuts, population characteristics, review counts, sources and risk-of-bias judgements.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import pandas as pd

from .records import LoadedRecord, effective_aggregation, effective_data_cut
from .records.appraisal_tools import TOOLS
from .records.schema import Citation, Record

OUTCOME_COLUMNS = (
    "study_id", "study_name", "year", "modality", "design", "data_cut", "endpoint", "qualifier",
    "subgroup", "arm", "comparator", "time", "time_unit", "definition", "statistic", "aggregation",
    "pooled_model", "k", "events", "n", "percent", "estimate", "ci_low", "ci_high", "ci_level", "p",
    "p_relation", "unit", "not_reached", "ci_high_not_reached", "low", "high", "range_low",
    "range_high", "source", "location", "source_kind", "verified", "note", "seen_at", "file", "line",
)

_INT_COLUMNS = ("k", "events", "n", "line", "year")
_BOOL_COLUMNS = ("not_reached", "ci_high_not_reached", "verified")
_FLOAT_COLUMNS = ("time", "percent", "estimate", "ci_low", "ci_high", "ci_level", "p", "low", "high",
                  "range_low", "range_high")


def statistic_values(stat: Any) -> dict[str, Any]:
    """The value columns of one reported statistic (others stay missing)."""
    kind = stat.kind
    values: dict[str, Any] = {"statistic": kind}
    for name in ("events", "n", "percent", "estimate", "p", "low", "high", "unit", "range_low", "range_high"):
        value = getattr(stat, name, None)
        if value is not None:
            values[name] = value
    if kind in ("hazard_ratio", "odds_ratio", "p_value"):
        values["p_relation"] = stat.p_relation if stat.p is not None else None
    if kind == "median_time":
        values["not_reached"] = stat.not_reached
        values["ci_high_not_reached"] = stat.ci_high_not_reached
    if getattr(stat, "ci_low", None) is not None:
        values.update(ci_low=stat.ci_low, ci_high=stat.ci_high, ci_level=stat.ci_level)
    return values


def _year(record: Record, sources: Mapping[str, Citation]) -> int | None:
    citation = sources.get(record.citation) or record.sources.get(record.citation)
    return citation.year if citation else None


def _modality(record: Record, arm: str | None) -> str:
    arms = {a.id: a for a in record.arms}
    if arm is not None and arm in arms:
        return arms[arm].modality
    return "+".join(record.modality)


def outcomes_table(records: Iterable[LoadedRecord], shared: Mapping[str, Citation]) -> pd.DataFrame:
    rows = []
    for loaded in records:
        rec = loaded.record
        sources = {**shared, **rec.sources}
        base = {"study_id": rec.id, "study_name": rec.name, "year": _year(rec, sources), "design": rec.design}
        for i, outcome in enumerate(rec.outcomes):
            agg = outcome.aggregation
            prov = outcome.provenance
            row = dict(base)
            row.update(
                modality=_modality(rec, outcome.arm),
                data_cut=effective_data_cut(rec, outcome),
                endpoint=outcome.endpoint,
                qualifier=outcome.qualifier,
                subgroup=outcome.subgroup,
                arm=outcome.arm,
                comparator=outcome.comparator,
                time=outcome.time,
                time_unit=outcome.time_unit,
                definition=outcome.definition,
                aggregation=effective_aggregation(rec, outcome),
                pooled_model=agg.model if agg else None,
                k=agg.k if agg else None,
                source=prov.source if prov else None,
                location=prov.location if prov else None,
                source_kind=prov.kind if prov else None,
                verified=prov.verified if prov else None,
                note=prov.note if prov else None,
                seen_at=prov.seen_at if prov else None,
                file=loaded.file,
                line=loaded.line_of(("outcomes", i)),
            )
            row.update(statistic_values(outcome.statistic))
            rows.append(row)
    return _typed(pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS)))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for col in _INT_COLUMNS:
        if col in frame:
            frame[col] = pd.array(frame[col], dtype="Int64")
    for col in _BOOL_COLUMNS:
        if col in frame:
            frame[col] = pd.array(frame[col], dtype="boolean")
    for col in _FLOAT_COLUMNS:
        if col in frame:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame


def studies_table(records: Iterable[LoadedRecord], shared: Mapping[str, Citation]) -> pd.DataFrame:
    rows = []
    for loaded in records:
        rec = loaded.record
        sources = {**shared, **rec.sources}
        citation = sources.get(rec.citation)
        pop = rec.population
        rows.append({
            "study_id": rec.id, "study_name": rec.name, "title": rec.title, "design": rec.design,
            "modality": "+".join(rec.modality), "aggregation": rec.aggregation, "citation": rec.citation,
            "year": citation.year if citation else None,
            "journal": citation.journal if citation else None,
            "doi": citation.doi if citation else None,
            "pmid": citation.pmid if citation else None,
            "patients": pop.patients if pop else None, "lesions": pop.lesions if pop else None,
            "procedures": pop.procedures if pop else None,
            "n_outcomes": len(rec.outcomes), "n_data_cuts": len(rec.data_cuts),
            "file": loaded.file,
        })
    return _typed(pd.DataFrame(rows)).astype({c: "Int64" for c in ("pmid", "patients", "lesions", "procedures")})


def arms_table(records: Iterable[LoadedRecord]) -> pd.DataFrame:
    rows = [
        {"study_id": l.record.id, "arm": a.id, "label": a.label, "modality": a.modality,
         "description": a.description, "patients": (l.record.population.arms.get(a.id) if l.record.population else None)}
        for l in records for a in l.record.arms
    ]
    return _typed(pd.DataFrame(rows, columns=["study_id", "arm", "label", "modality", "description", "patients"])
                  ).astype({"patients": "Int64"})


def data_cuts_table(records: Iterable[LoadedRecord]) -> pd.DataFrame:
    rows = [
        {"study_id": l.record.id, "data_cut": c.id, "label": c.label, "year": c.year,
         "cutoff_date": c.cutoff_date.isoformat() if c.cutoff_date else None, "source": c.source,
         "description": c.description,
         "patients": c.population.patients if c.population else None}
        for l in records for c in l.record.data_cuts
    ]
    cols = ["study_id", "data_cut", "label", "year", "cutoff_date", "source", "description", "patients"]
    return _typed(pd.DataFrame(rows, columns=cols)).astype({"patients": "Int64"})


def characteristics_table(records: Iterable[LoadedRecord]) -> pd.DataFrame:
    rows = []
    for loaded in records:
        rec = loaded.record
        for i, item in enumerate(rec.characteristics):
            prov = item.provenance
            row = {"study_id": rec.id, "name": item.name, "label": item.label,
                   "data_cut": effective_data_cut(rec, item),
                   "source": prov.source if prov else None, "location": prov.location if prov else None,
                   "source_kind": prov.kind if prov else None, "verified": prov.verified if prov else None,
                   "note": prov.note if prov else None, "file": loaded.file,
                   "line": loaded.line_of(("characteristics", i))}
            row.update(statistic_values(item.statistic))
            rows.append(row)
    cols = ["study_id", "name", "label", "data_cut", "statistic", "events", "n", "percent", "estimate",
            "ci_low", "ci_high", "ci_level", "unit", "low", "high", "range_low", "range_high", "source",
            "location", "source_kind", "verified", "note", "file", "line"]
    frame = pd.DataFrame(rows, columns=cols)
    return _typed(frame)


def review_table(records: Iterable[LoadedRecord]) -> pd.DataFrame:
    """Counts reported by reviews (studies, abstracts, patients, procedures), one row per source."""
    rows = []
    for loaded in records:
        rec = loaded.record
        if rec.review is None:
            continue
        for what in ("studies", "abstracts", "patients", "procedures"):
            for j, number in enumerate(getattr(rec.review, what)):
                prov = number.provenance
                rows.append({"study_id": rec.id, "counts": what, "value": number.value,
                             "included_ids": ";".join(rec.review.included_ids),
                             "source": prov.source if prov else None,
                             "location": prov.location if prov else None,
                             "source_kind": prov.kind if prov else None,
                             "verified": prov.verified if prov else None,
                             "file": loaded.file, "line": loaded.line_of(("review", what, j))})
    cols = ["study_id", "counts", "value", "included_ids", "source", "location", "source_kind", "verified",
            "file", "line"]
    return _typed(pd.DataFrame(rows, columns=cols)).astype({"value": "Int64"})


def sources_table(records: Iterable[LoadedRecord], shared: Mapping[str, Citation]) -> pd.DataFrame:
    used: dict[str, set[str]] = {}
    defined: dict[str, Citation] = dict(shared)
    for loaded in records:
        rec = loaded.record
        defined.update(rec.sources)
        ids = {rec.citation}
        ids |= {o.provenance.source for o in rec.outcomes if o.provenance}
        ids |= {c.provenance.source for c in rec.characteristics if c.provenance}
        for sid in ids:
            used.setdefault(sid, set()).add(rec.id)
    rows = [
        {"source": sid, "authors": "; ".join(c.authors), "title": c.title, "year": c.year,
         "journal": c.journal, "volume": None if c.volume is None else str(c.volume),
         "issue": None if c.issue is None else str(c.issue), "pages": c.pages, "doi": c.doi, "pmid": c.pmid,
         "pmcid": c.pmcid, "seen_at": " ".join(c.seen_at), "note": c.note,
         "used_by": ";".join(sorted(used.get(sid, ())))}
        for sid, c in sorted(defined.items())
    ]
    return _typed(pd.DataFrame(rows)).astype({"pmid": "Int64"})


def curves_table(records: Iterable[LoadedRecord]) -> pd.DataFrame:
    """Digitised curves the records point to, one row per curve."""
    rows = []
    for loaded in records:
        rec = loaded.record
        for i, curve in enumerate(rec.curves):
            data = loaded.curves.get(curve.id)
            prov = curve.provenance
            rows.append({
                "study_id": rec.id, "curve_id": curve.id, "endpoint": curve.endpoint,
                "data_cut": effective_data_cut(rec, curve), "arm": curve.arm,
                "subgroup": curve.subgroup, "modality": _modality(rec, curve.arm), "time_unit": curve.time_unit,
                "n": curve.n, "total_events": curve.total_events,
                "points": len(data.curve) if data else None,
                "at_risk_rows": len(data.at_risk) if data and data.at_risk is not None else None,
                "curve_file": data.curve_file if data else None,
                "at_risk_file": data.at_risk_file if data else None,
                "source": prov.source if prov else None, "location": prov.location if prov else None,
                "source_kind": prov.kind if prov else None, "verified": prov.verified if prov else None,
                "file": loaded.file, "line": loaded.line_of(("curves", i)),
            })
    cols = ["study_id", "curve_id", "endpoint", "data_cut", "arm", "subgroup", "modality", "time_unit", "n",
            "total_events", "points", "at_risk_rows", "curve_file", "at_risk_file", "source", "location",
            "source_kind", "verified", "file", "line"]
    return _typed(pd.DataFrame(rows, columns=cols)).astype(
        {"n": "Int64", "total_events": "Int64", "points": "Int64", "at_risk_rows": "Int64"})


RISK_OF_BIAS_COLUMNS = (
    "study_id", "study_name", "design", "assessment", "endpoints", "tool", "tool_name", "domain_number",
    "domain", "domain_label", "judgement", "judgement_label", "level", "domain_support", "overall",
    "overall_label", "overall_level", "support", "judged_from", "seen_at", "file", "line",
)


def risk_of_bias_table(records: Iterable[LoadedRecord]) -> pd.DataFrame:
    """One row per study x assessment x domain, in the tool's domain order.

    ``level`` and ``overall_level`` put every tool's terms on one scale (low, moderate, high, critical,
    no_information, not_applicable; see :mod:`netevidence.records.appraisal_tools`); ``endpoints`` is
    empty for an assessment of the whole study, else the endpoints joined by '+'."""
    rows = []
    for loaded in records:
        rec = loaded.record
        for i, rob in enumerate(rec.risk_of_bias):
            tool = TOOLS[rob.tool]
            for j, entry in enumerate(rob.domains):
                rows.append({
                    "study_id": rec.id, "study_name": rec.name, "design": rec.design, "assessment": i + 1,
                    "endpoints": "+".join(rob.endpoints), "tool": rob.tool, "tool_name": tool.name,
                    "domain_number": j + 1, "domain": entry.domain,
                    "domain_label": tool.domains.get(entry.domain, entry.domain),
                    "judgement": entry.judgement, "judgement_label": tool.label(entry.judgement),
                    "level": tool.levels.get(entry.judgement), "domain_support": entry.support,
                    "overall": rob.overall, "overall_label": tool.label(rob.overall),
                    "overall_level": tool.levels.get(rob.overall), "support": rob.support,
                    "judged_from": rob.judged_from, "seen_at": rob.seen_at, "file": loaded.file,
                    "line": loaded.line_of(("risk_of_bias", i, "domains", j)),
                })
    frame = pd.DataFrame(rows, columns=list(RISK_OF_BIAS_COLUMNS))
    return _typed(frame).astype({"assessment": "Int64", "domain_number": "Int64"})
