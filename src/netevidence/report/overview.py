"""Index-page content about the evidence base as a whole: the PRISMA flow of the search log and the
umbrella view of the reviews (how much of each review's included evidence the pool here holds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..evidence import EvidenceBase
from ..plots import prisma_svg
from ..records.searchlog import prisma_flow
from ..records.vocabulary import DESIGNS, SEARCH_TOPICS

PRISMA_FILE = "prisma.svg"
REVIEW_DESIGNS = ("meta_analysis", "systematic_review", "narrative_review")


def write_prisma(evidence: EvidenceBase, directory: Path) -> dict[str, Any] | None:
    """Write the PRISMA 2020 flow diagram of the evidence base's search log into ``directory``; return
    what the index shows about it (None when there is no log)."""
    if evidence.search_log is None:
        return None
    flow = prisma_flow(evidence.search_log)
    (directory / PRISMA_FILE).write_text(prisma_svg(flow), encoding="utf-8")
    return {
        "svg": PRISMA_FILE,
        "last_searched": flow.last_searched.isoformat(),
        "searches": "1 search" if flow.n_searches == 1 else f"{flow.n_searches} searches",
        "identified": flow.total_identified,
        "included": flow.included,
        "topics": [{"topic": SEARCH_TOPICS.get(t, t), "included": n} for t, n in flow.included_by_topic],
        "reasons": [{"reason": r, "count": n} for r, n in flow.full_text_reasons],
        "searches_table": [{"id": x.id, "topic": x.topic, "source": x.source, "query": x.query,
                            "date": x.date.isoformat(), "found": x.records_found}
                           for x in evidence.search_log.searches],
        "alt": (f"PRISMA 2020 flow diagram: {flow.total_identified} records identified, "
                f"{flow.duplicates_removed} duplicates removed, {flow.screened} screened, "
                f"{flow.excluded_screening} excluded, {flow.assessed} full texts assessed, "
                f"{flow.excluded_full_text} excluded with reasons, {flow.included} included"),
    }


def review_coverage(evidence: EvidenceBase, contents: list[dict]) -> list[dict[str, Any]]:
    """For every review or meta-analysis: the studies it reports including, those it lists, how many of
    them have a record here and how many of those are pooled in at least one analysis."""
    pooled = {sid for c in contents for sid in c.get("pooled_studies", ())}
    names = dict(zip(evidence.studies["study_id"], evidence.studies["study_name"]))
    out = []
    for rec in evidence.records:
        if rec.design not in REVIEW_DESIGNS:
            continue
        review = rec.review
        reported = sorted({n.value for n in review.studies}) if review is not None else []
        held = list(review.included_ids) if review is not None else []
        other = len(review.included_other) if review is not None else 0
        listed = len(held) + other
        in_pool = [s for s in held if s in pooled]
        if listed == 0:
            text = "its included studies are not listed in its record, so the share held here is not known"
        else:
            text = (f"{len(held)} of the {listed} listed included studies have a record here"
                    f"{', ' + str(len(in_pool)) + ' of them pooled in at least one analysis' if held else ''}")
        out.append({
            "id": rec.id, "name": rec.name, "design": DESIGNS.get(rec.design, rec.design),
            "reported": " or ".join(str(v) for v in reported) if reported else "not recorded",
            "listed": listed, "held": len(held), "held_names": [names.get(s, s) for s in held],
            "pooled": len(in_pool), "pooled_names": [names.get(s, s) for s in in_pool], "not_held": other,
            "text": text, "note": review.included_note if review is not None else None,
        })
    return out
