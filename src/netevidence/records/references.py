"""Checks of ids and references shared by every part of a record: provenance, known ids, unique ids."""

from __future__ import annotations

from typing import Iterable

from .loaded import Reporter
from .schema import Provenance
from .vocabulary import did_you_mean


def unknown(report: Reporter, path, what: str, value: str, known: Iterable[str]) -> None:
    known = sorted(known)
    listed = ", ".join(known) if known else "(none defined)"
    report.error("unknown-reference", path, f"no {what} has the id {value!r}{did_you_mean(value, known)}",
                 f"define it or use one of: {listed}")


def unique_ids(report: Reporter, section: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for i, item in enumerate(ids):
        if item in seen:
            report.error("duplicate-id", (section, i, "id"), f"the id {item!r} is used twice in {section}",
                         "give each entry its own id")
        seen.add(item)
    return seen


def check_provenance(report: Reporter, path: tuple[object, ...], prov: Provenance | None,
                      sources: set[str]) -> None:
    if prov is None:
        report.error("missing-provenance", path, "numbers without provenance",
                     "add 'provenance: {source: ..., location: ..., kind: primary|secondary, verified: true|false}'")
        return
    if prov.source not in sources:
        unknown(report, path + ("provenance", "source"), "source", prov.source, sources)
    if not prov.verified and not prov.note:
        report.error("unverified-without-note", path + ("provenance", "verified"),
                     "a number marked verified: false needs the reason",
                     "add 'note: ...' to the provenance saying what is not verified and why")
