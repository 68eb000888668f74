"""A study page's content: every number of a record with its provenance."""

from __future__ import annotations

from typing import Any

from ..evidence import EvidenceBase
from ..labels import data_cut_labels, data_cut_order
from ..records import vocabulary
from ..records.appraisal_tools import JUDGED_FROM
from ..values import plain_value
from .analysis import record_location
from .exports import format_reference
from .formatting import statistic_text

def build_study(evidence: EvidenceBase, study_id: str, analyses_by_study: dict[str, list[dict]]) -> dict[str, Any]:
    rec = evidence.record(study_id)
    srow = evidence.rows_of("studies", study_id)[0]
    cut_labels = data_cut_labels(evidence.rows_of("data_cuts", study_id))
    outcomes = []
    for r in evidence.rows_of("outcomes", study_id):
        time = plain_value(r["time"])
        outcomes.append({
            "endpoint": vocabulary.ENDPOINTS.get(r["endpoint"], r["endpoint"]),
            "endpoint_id": r["endpoint"],
            "qualifier": plain_value(r["qualifier"]) or "", "subgroup": plain_value(r["subgroup"]) or "",
            "arm": (plain_value(r["arm"]) or "") + (f" vs {r['comparator']}" if plain_value(r["comparator"]) else ""),
            "time": f"{time:g} {r['time_unit']}" if time is not None else "",
            "data_cut": cut_labels.get((study_id, r["data_cut"]), plain_value(r["data_cut"]) or ""),
            "statistic": r["statistic"].replace("_", " "),
            "value": statistic_text(r), "aggregation": r["aggregation"],
            "source": r["source"], "location": plain_value(r["location"]) or "", "kind": r["source_kind"],
            "verified": plain_value(r["verified"]), "note": plain_value(r["note"]) or "",
            "where": record_location(evidence, r),
        })
    chars = []
    for r in evidence.rows_of("characteristics", study_id):
        chars.append(dict({k: ("" if plain_value(v) is None else plain_value(v)) for k, v in r.items()},
                          value=statistic_text(r), statistic=str(r["statistic"]).replace("_", " ")))
    cut_rows = evidence.rows_of("data_cuts", study_id)
    cut_rank = data_cut_order(cut_rows)
    cuts = [{k: ("" if plain_value(v) is None else plain_value(v)) for k, v in r.items()}
            for r in sorted(cut_rows, key=lambda r: cut_rank[(study_id, r["data_cut"])])]
    arms = [{k: ("" if plain_value(v) is None else plain_value(v)) for k, v in r.items()}
            for r in evidence.rows_of("arms", study_id)]
    review = [dict({k: ("" if plain_value(v) is None else plain_value(v)) for k, v in r.items()},
                   where=record_location(evidence, r))
              for r in evidence.rows_of("review_counts", study_id)]
    pop = None
    if rec.population is not None:
        p = rec.population
        pv = p.provenance
        pop = {"numbers": [(name, getattr(p, name)) for name in ("patients", "lesions", "procedures", "sessions",
                                                                   "sites") if getattr(p, name, None) is not None],
               "text": [(name, getattr(p, name)) for name in ("grade", "primary_site", "description")
                        if getattr(p, name, None)],
               "arms": dict(p.arms) if getattr(p, "arms", None) else {},
               "source": pv.source if pv else "", "location": (pv.location or "") if pv else "",
               "kind": pv.kind if pv else "", "verified": pv.verified if pv else None,
               "note": (pv.note or "") if pv else ""}
    sources = []
    used = {r["source"] for r in evidence.rows_of("outcomes", study_id)} | {rec.citation}
    used |= set(rec.sources)
    for sid in sorted(used):
        c = evidence.citations.get(sid)
        if c is None:
            continue
        sources.append({"id": sid, "authors": ", ".join(c.authors), "title": c.title or "", "year": c.year or "",
                        "journal": c.journal or "", "volume": c.volume or "", "pages": c.pages or "",
                        "doi": c.doi or "", "pmid": c.pmid or "", "note": c.note or "",
                        "reference": format_reference(c)})
    return {
        "id": study_id, "name": rec.name, "title": rec.title or "",
        "design": vocabulary.DESIGNS.get(rec.design, rec.design),
        "modality": ", ".join(vocabulary.MODALITIES.get(m, m) for m in rec.modality),
        "year": plain_value(srow.get("year")) or "", "citation": rec.citation, "notes": rec.notes or "",
        "related": list(rec.related),
        "included_ids": list(rec.review.included_ids) if rec.review is not None else [],
        "included_note": (rec.review.included_note or "") if rec.review is not None else "",
        "included_other": [i.citation for i in rec.review.included_other] if rec.review is not None else [],
        "cohort": _cohort(rec),
        "overlaps": [{"id": o.id, "reason": o.reason} for o in rec.overlaps_with],
        "distinct": [{"id": o.id, "reason": o.reason} for o in rec.distinct_from],
        "file": record_location(evidence, {"file": srow.get("file")}) if srow.get("file") else "", "population": pop, "outcomes": outcomes, "characteristics": chars,
        "data_cuts": cuts, "arms": arms, "review": review, "sources": sources,
        "analyses": analyses_by_study.get(study_id, []),
        "risk_of_bias": _risk_of_bias(evidence, study_id),
    }


def _risk_of_bias(evidence: EvidenceBase, study_id: str) -> list[dict]:
    """The study's assessments: tool, endpoints, each domain's judgement and support, overall, source."""
    by_assessment: dict[Any, list[dict]] = {}
    for r in evidence.rows_of("risk_of_bias", study_id):  # the table is grouped by study once
        by_assessment.setdefault(r["assessment"], []).append(r)
    out = []
    for _, rows in sorted(by_assessment.items(), key=lambda item: item[0]):
        first = rows[0]
        out.append({
            "tool": first["tool_name"], "endpoints": str(first["endpoints"]).replace("+", ", "),
            "overall": first["overall_label"], "overall_level": first["overall_level"], "support": first["support"],
            "judged_from": JUDGED_FROM[first["judged_from"]], "seen_at": plain_value(first["seen_at"]) or "",
            "domains": [{"label": r["domain_label"], "judgement": r["judgement_label"], "level": r["level"],
                         "support": plain_value(r["domain_support"]) or "",
                         "where": record_location(evidence, {"file": r["file"], "line": r["line"]})}
                        for r in rows],
        })
    return out


def _cohort(rec) -> str:
    """The cohort as one line: centres; countries; accrual."""
    if rec.cohort is None:
        return ""
    parts = []
    if rec.cohort.centres:
        parts.append("; ".join(rec.cohort.centres))
    if rec.cohort.countries:
        parts.append(", ".join(rec.cohort.countries))
    if rec.cohort.accrual is not None:
        a = rec.cohort.accrual
        parts.append(f"accrual {a.start}" + (f" to {a.end}" if a.end is not None else ""))
    return "; ".join(parts)
