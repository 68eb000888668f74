"""Publications that report the same patients: declared overlaps, their checks, and likely undeclared ones.

A record says which other records report (some of) its patients with ``overlaps_with: [{id, reason}]``,
and which look alike but were checked and are not with ``distinct_from: [{id, reason}]``. Both must
name records of the evidence base (``unknown-reference`` otherwise, with a did-you-mean).

The ``possible-overlap`` warning finds likely republications of one cohort that are not declared either
way: two primary records (not reviews) that share a modality family (SIRT, transarterial, ablation,
PRRT, ...) and either

* name the same centre in ``cohort.centres``, with accrual periods that overlap or are unknown, or
* have the same first or last author (surname and first initial, either position), with accrual
  periods that are both known and overlap.

Candidates come from buckets keyed by centre and by author, so the work grows with the number of
records sharing a centre or an author, not with the square of the number of records.

:func:`cohort_links` lists declared and possible overlaps and :func:`cohort_groups` the records they
connect; analyses use them to pool one publication per cohort (a possible overlap that is not resolved
with ``overlaps_with`` or ``distinct_from`` counts as the same cohort there too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from .loaded import LoadedRecord
from .problems import Problem, field_path
from .schema import Accrual, Citation, Record
from .vocabulary import did_you_mean

REVIEW_DESIGNS = frozenset({"systematic_review", "meta_analysis", "narrative_review"})
MODALITY_FAMILIES: Mapping[str, str] = {
    "sirt": "SIRT", "sirt_resin": "SIRT", "sirt_glass": "SIRT",
    "tae": "transarterial embolisation", "tace": "transarterial embolisation",
    "ctace": "transarterial embolisation", "deb_tace": "transarterial embolisation",
    "rfa": "ablation", "mwa": "ablation", "laser_ablation": "ablation", "ire": "ablation", "cryoablation": "ablation",
    "prrt": "PRRT", "prrt_intra_arterial": "PRRT",
}
_IGNORED_AUTHORS = frozenset({"et al", "et", "al", "others"})


def modality_family(term: str) -> str:
    """The family of a modality term (``sirt_resin`` -> ``SIRT``); a term without a family is its own."""
    return MODALITY_FAMILIES.get(term, term)


def modality_families(record: Record) -> frozenset[str]:
    """The record's modality families (its own modalities and its arms')."""
    terms = set(record.modality) | {a.modality for a in record.arms}
    return frozenset(modality_family(t) for t in terms)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


def _author_key(author: str) -> str | None:
    """Surname and first initial (``Braat AJAT`` -> ``braat a``); None for 'et al.' and empty names."""
    parts = _norm(author).split()
    if not parts or " ".join(parts) in _IGNORED_AUTHORS:
        return None
    return parts[0] if len(parts) == 1 else f"{parts[0]} {parts[1][0]}"


def _months(accrual: Accrual) -> tuple[int, int]:
    def month(value, end: bool) -> int:
        if isinstance(value, int):
            return value * 12 + (11 if end else 0)
        year, mon = value.split("-")
        return int(year) * 12 + int(mon) - 1

    start = month(accrual.start, False)
    end = month(accrual.end, True) if accrual.end is not None else month(accrual.start, True)
    return start, end


def _accrual_text(accrual: Accrual | None) -> str:
    if accrual is None:
        return "unknown"
    return f"{accrual.start}" + (f" to {accrual.end}" if accrual.end is not None else "")


def accrual_overlaps(a: Accrual | None, b: Accrual | None) -> bool | None:
    """Whether two accrual periods share a month (a year-only end counts to December); None if unknown."""
    if a is None or b is None:
        return None
    (s1, e1), (s2, e2) = _months(a), _months(b)
    return s1 <= e2 and s2 <= e1


def _authors(record: Record, shared: Mapping[str, Citation]) -> list[str]:
    citation = record.sources.get(record.citation) or shared.get(record.citation)
    return list(citation.authors) if citation is not None else []


def _check_references(loaded: LoadedRecord, known: set[str]) -> list[Problem]:
    problems = []
    rec = loaded.record
    for name in ("overlaps_with", "distinct_from"):
        for j, item in enumerate(getattr(rec, name)):
            path = (name, j, "id")
            pos = loaded.parsed.locate(path)
            if item.id == rec.id:
                problems.append(Problem("error", "unknown-reference", "a record cannot refer to itself",
                                        loaded.file, pos.line, pos.column, field_path(path), "remove the entry"))
            elif item.id not in known:
                problems.append(Problem(
                    "error", "unknown-reference", f"no record has the id {item.id!r}{did_you_mean(item.id, known - {rec.id})}",
                    loaded.file, pos.line, pos.column, field_path(path),
                    "use the id of a record in this evidence base"))
    both = {o.id for o in rec.overlaps_with} & {d.id for d in rec.distinct_from}
    for j, item in enumerate(rec.distinct_from):
        if item.id in both:
            path = ("distinct_from", j, "id")
            pos = loaded.parsed.locate(path)
            problems.append(Problem("error", "conflicting-fields",
                                    f"{item.id!r} is listed in both overlaps_with and distinct_from",
                                    loaded.file, pos.line, pos.column, field_path(path), "keep one of them"))
    return problems


def _declared(a: Record, b: Record) -> bool:
    ids_a = {o.id for o in a.overlaps_with} | {d.id for d in a.distinct_from} | set(a.related)
    ids_b = {o.id for o in b.overlaps_with} | {d.id for d in b.distinct_from} | set(b.related)
    return b.id in ids_a or a.id in ids_b


@dataclass(frozen=True)
class CohortLink:
    """Two records that report (or may report) the same patients.

    ``kind`` is ``declared`` (``overlaps_with``, ``reason`` as the curator wrote it) or ``possible`` (the
    ``possible-overlap`` rule, ``reason`` saying what they share); ``first`` is the record listed first.
    """

    first: str
    second: str
    kind: str
    reason: str


def _possible(records: Sequence[Record], citations: Mapping[str, Citation]) -> list[tuple[int, int, str]]:
    """Index pairs of likely undeclared overlaps, with the reason (see the module docstring)."""
    buckets: dict[tuple[str, str], list[int]] = {}
    shown: dict[tuple[str, str], str] = {}
    for i, rec in enumerate(records):
        if rec.design in REVIEW_DESIGNS:
            continue
        keys = set()
        for centre in rec.cohort.centres if rec.cohort is not None else ():
            key = ("centre", _norm(centre))
            if key[1]:
                keys.add(key)
                shown.setdefault(key, centre)
        authors = _authors(rec, citations)
        for author in set(authors[:1] + authors[-1:]):
            name = _author_key(author)
            if name is not None:
                keys.add(("author", name))
                shown.setdefault(("author", name), author)
        for key in keys:
            buckets.setdefault(key, []).append(i)
    pairs: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for key, members in buckets.items():
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pairs.setdefault((members[x], members[y]), []).append(key)
    out = []
    for (i, j), keys in sorted(pairs.items()):
        ra, rb = records[i], records[j]
        if ra.id == rb.id or _declared(ra, rb):
            continue
        families = modality_families(ra) & modality_families(rb)
        if not families:
            continue
        acc_a = ra.cohort.accrual if ra.cohort is not None else None
        acc_b = rb.cohort.accrual if rb.cohort is not None else None
        overlap = accrual_overlaps(acc_a, acc_b)
        centres = sorted(shown[k] for k in keys if k[0] == "centre")
        authors = sorted(shown[k] for k in keys if k[0] == "author")
        if overlap is False or (overlap is None and not centres):
            continue
        why = []
        if centres:
            why.append(f"same centre ({', '.join(centres)})")
        if authors:
            why.append(f"same first or last author ({', '.join(authors)})")
        period = ("overlapping accrual" if overlap else "accrual not known for both") + \
                 f" ({_accrual_text(acc_a)}; {_accrual_text(acc_b)})"
        out.append((i, j, f"{'; '.join(why)}, {period}, both {', '.join(sorted(families))}"))
    return out


def check_overlaps(records: Iterable[LoadedRecord], shared: Mapping[str, Citation]) -> list[Problem]:
    """Reference errors of ``overlaps_with`` / ``distinct_from`` and the ``possible-overlap`` warnings."""
    records = list(records)
    known = {r.record.id for r in records}
    problems: list[Problem] = []
    for loaded in records:
        problems.extend(_check_references(loaded, known))
    citations = dict(shared)
    for loaded in records:
        citations.update(loaded.record.sources)
    for i, j, why in _possible([r.record for r in records], citations):
        a, b = records[i], records[j]
        other = a.record.id
        path = ("cohort",) if b.record.cohort is not None else ("id",)
        pos = b.parsed.locate(path)
        problems.append(Problem(
            "warning", "possible-overlap",
            f"{b.record.id!r} and {other!r} ({a.file}:{a.line_of(('id',))}) may report the same patients: {why}",
            b.file, pos.line, pos.column, field_path(path),
            f"if they share patients add 'overlaps_with: [{{id: {other}, reason: ...}}]'; if not, add "
            f"'distinct_from: [{{id: {other}, reason: ...}}]'"))
    return problems


def cohort_links(records: Iterable[Record], citations: Mapping[str, Citation]) -> tuple[CohortLink, ...]:
    """Every declared overlap and every possible (undeclared) one. Unknown ids are left out (validation
    reports them)."""
    records = list(records)
    known = {r.id for r in records}
    links = [CohortLink(rec.id, item.id, "declared", item.reason)
             for rec in records for item in rec.overlaps_with if item.id in known and item.id != rec.id]
    links += [CohortLink(records[i].id, records[j].id, "possible", why) for i, j, why in _possible(records, citations)]
    return tuple(links)


def cohort_groups(links: Iterable[CohortLink]) -> dict[str, tuple[str, ...]]:
    """Record id -> the sorted ids of its cohort (the records connected to it by links), for every
    record that has a link."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for link in links:
        parent[find(link.second)] = find(link.first)
    groups: dict[str, list[str]] = {}
    for rid in list(parent):
        groups.setdefault(find(rid), []).append(rid)
    return {rid: tuple(sorted(members)) for members in groups.values() for rid in members}
