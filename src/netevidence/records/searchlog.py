"""The search and screening log (``evidence/search.yaml``): its checks and the PRISMA 2020 flow.

The log lists every search (source, query, date, records found) and, per topic, the screening counts
and the ids of the records the topic produced. The counts must add up, block by block, as in the PRISMA
2020 flow diagram (Page et al., BMJ 2021;372:n71):

* per topic: sum of the topic's ``records_found`` - ``duplicates_removed`` = ``records_screened``
  (summed over the topic's screening blocks);
* per block: ``records_screened`` - ``records_excluded`` = ``full_texts_assessed``, and
  ``full_texts_assessed`` - the sum of ``full_texts_excluded`` counts = the number of ``included`` ids.

Every included id must be a record of the evidence base, every record must be included by exactly one
screening block, and ``last_searched`` is the date of the latest search. Violations are errors.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Iterable

import pandas as pd

from .loaded import LoadedRecord, Reporter
from .problems import Problem
from .schema import SearchLog
from .vocabulary import DATABASE_SOURCES, SEARCH_SOURCES, SEARCH_TOPICS, did_you_mean
from .yamlsource import ParsedYaml

SEARCH_LOG_FILE = "search.yaml"


def check_search_log(log: SearchLog, parsed: ParsedYaml, records: Iterable[LoadedRecord]) -> list[Problem]:
    """Every error of the log: its arithmetic, its dates and its agreement with the records."""
    report = Reporter(parsed)
    records = list(records)
    ids: dict[str, int] = {}
    for i, search in enumerate(log.searches):
        if search.id in ids:
            report.error("duplicate-id", ("searches", i, "id"),
                         f"the search id {search.id!r} is already used by searches[{ids[search.id]}]",
                         "give each search its own id (<topic>-<n>)")
        ids.setdefault(search.id, i)
    latest = max(s.date for s in log.searches)
    if log.last_searched != latest:
        report.error("search-date", ("last_searched",),
                     f"last_searched is {log.last_searched.isoformat()} but the latest search is of "
                     f"{latest.isoformat()}", f"set last_searched: {latest.isoformat()}")

    found: dict[str, int] = {}
    for search in log.searches:
        found[search.topic] = found.get(search.topic, 0) + search.records_found
    blocks: dict[str, list[int]] = {}
    for j, block in enumerate(log.screening):
        blocks.setdefault(block.topic, []).append(j)
    for i, search in enumerate(log.searches):
        if search.topic not in blocks:
            report.error("missing-screening", ("searches", i, "topic"),
                         f"no screening block for the topic {search.topic!r}",
                         f"add a screening block with 'topic: {search.topic}'")
            blocks[search.topic] = []
    for topic, members in blocks.items():
        if not members:
            continue
        if topic not in found:
            report.error("unknown-reference", ("screening", members[0], "topic"),
                         f"no search has the topic {topic!r}", "log the topic's searches under 'searches'")
            continue
        duplicates = sum(log.screening[j].duplicates_removed for j in members)
        screened = sum(log.screening[j].records_screened for j in members)
        if found[topic] - duplicates != screened:
            report.error("screening-arithmetic", ("screening", members[0], "records_screened"),
                         f"topic {topic!r}: records found ({found[topic]}) - duplicates removed ({duplicates}) = "
                         f"{found[topic] - duplicates}, but {screened} records were screened"
                         + (f" (over {len(members)} blocks)" if len(members) > 1 else ""),
                         "correct the counts so that found - duplicates = screened")
    for j, block in enumerate(log.screening):
        if block.records_screened - block.records_excluded != block.full_texts_assessed:
            report.error("screening-arithmetic", ("screening", j, "full_texts_assessed"),
                         f"records screened ({block.records_screened}) - excluded ({block.records_excluded}) = "
                         f"{block.records_screened - block.records_excluded}, but {block.full_texts_assessed} "
                         "full texts were assessed", "correct the counts so that screened - excluded = assessed")
        excluded = sum(r.count for r in block.full_texts_excluded)
        if block.full_texts_assessed - excluded != len(block.included):
            report.error("screening-arithmetic", ("screening", j, "included"),
                         f"full texts assessed ({block.full_texts_assessed}) - excluded ({excluded}) = "
                         f"{block.full_texts_assessed - excluded}, but {len(block.included)} record(s) are "
                         "included", "list every included record, or correct the exclusion counts")

    known = {r.record.id: r for r in records}
    included_at: dict[str, tuple[int, int]] = {}
    for j, block in enumerate(log.screening):
        for k, rid in enumerate(block.included):
            path = ("screening", j, "included", k)
            if rid not in known:
                report.error("unknown-reference", path,
                             f"no record has the id {rid!r}{did_you_mean(rid, known)}",
                             f"add evidence/{rid}.yaml or remove the id")
            elif rid in included_at:
                a, b = included_at[rid]
                report.error("duplicate-id", path, f"{rid!r} is already included by screening[{a}].included[{b}]",
                             "list each record under one screening block only")
            included_at.setdefault(rid, (j, k))
    problems = list(report.problems)
    for rid, loaded in known.items():
        if rid not in included_at:
            pos = loaded.parsed.locate(("id",))
            problems.append(Problem(
                "error", "not-in-search-log", f"the record {rid!r} is not included by any search of {parsed.file}",
                loaded.file, pos.line, pos.column, "id",
                "add its id to the 'included' list of the screening block of the search that found it"))
    return problems


@dataclass(frozen=True)
class PrismaFlow:
    """The numbers of a PRISMA 2020 flow diagram, summed over the topics of a search log.

    ``identified`` holds (source, records found) per source in the log's vocabulary order; databases
    (PubMed, PMC) and other methods (journal pages, conference abstracts, citation searching) are also
    summed separately. ``full_text_reasons`` holds (reason, count) summed over blocks by reason text.
    """

    last_searched: _dt.date
    n_searches: int
    identified: tuple[tuple[str, int], ...]
    databases: int
    other_methods: int
    duplicates_removed: int
    screened: int
    excluded_screening: int
    assessed: int
    full_text_reasons: tuple[tuple[str, int], ...]
    included: int
    included_by_topic: tuple[tuple[str, int], ...]

    @property
    def total_identified(self) -> int:
        return self.databases + self.other_methods

    @property
    def excluded_full_text(self) -> int:
        return sum(n for _, n in self.full_text_reasons)

    def to_frame(self) -> pd.DataFrame:
        """One row per box of the diagram: stage, box, count."""
        rows = [("identification", f"records found: {source}", n) for source, n in self.identified]
        rows += [("identification", "records found: databases", self.databases),
                 ("identification", "records found: other methods", self.other_methods),
                 ("identification", "duplicates removed", self.duplicates_removed),
                 ("screening", "records screened", self.screened),
                 ("screening", "records excluded", self.excluded_screening),
                 ("eligibility", "full texts assessed", self.assessed)]
        rows += [("eligibility", f"full texts excluded: {reason}", n) for reason, n in self.full_text_reasons]
        rows += [("included", "records included", self.included)]
        rows += [("included", f"records included: {topic}", n) for topic, n in self.included_by_topic]
        return pd.DataFrame(rows, columns=["stage", "box", "count"])


def prisma_flow(log: SearchLog) -> PrismaFlow:
    """Sum a (valid) search log into the boxes of the PRISMA 2020 flow diagram."""
    by_source = {s: 0 for s in SEARCH_SOURCES}
    for search in log.searches:
        by_source[search.source] += search.records_found
    reasons: dict[str, int] = {}
    for block in log.screening:
        for r in block.full_texts_excluded:
            reasons[r.reason] = reasons.get(r.reason, 0) + r.count
    by_topic = {t: 0 for t in SEARCH_TOPICS}
    for block in log.screening:
        by_topic[block.topic] += len(block.included)
    return PrismaFlow(
        last_searched=log.last_searched,
        n_searches=len(log.searches),
        identified=tuple((s, n) for s, n in by_source.items() if any(x.source == s for x in log.searches)),
        databases=sum(n for s, n in by_source.items() if s in DATABASE_SOURCES),
        other_methods=sum(n for s, n in by_source.items() if s not in DATABASE_SOURCES),
        duplicates_removed=sum(b.duplicates_removed for b in log.screening),
        screened=sum(b.records_screened for b in log.screening),
        excluded_screening=sum(b.records_excluded for b in log.screening),
        assessed=sum(b.full_texts_assessed for b in log.screening),
        full_text_reasons=tuple(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        included=sum(len(b.included) for b in log.screening),
        included_by_topic=tuple((t, n) for t, n in by_topic.items() if n or any(b.topic == t for b in log.screening)),
    )
