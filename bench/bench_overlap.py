"""Possible-overlap detection: bucketed candidates against the all-pairs comparison, same run, same records.

Simulated evidence bases of 250 to 4,000 primary records, each with one centre, two authors and an
accrual period; about one record in five shares a centre with another (republished series) and one in
ten shares its first author with another record. ``netevidence.records.overlap.cohort_links`` builds
candidates from centre and author buckets; the peer compares every pair of records with the same rules
(the obvious implementation). Both must find the same pairs; the ratio of times is printed. Bucketing
grows with the number of records sharing a centre or an author, all-pairs with the square of the records.

Run from the repository root: ``.venv/bin/python bench/bench_overlap.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from netevidence.records.overlap import accrual_overlaps, cohort_links, modality_families  # noqa: E402
from netevidence.records.schema import Record  # noqa: E402

MODALITIES = ["sirt_resin", "sirt_glass", "tace", "tae", "rfa", "mwa", "prrt"]


def simulate(n: int, seed: int = 1) -> list[Record]:
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        centre = int(rng.integers(0, int(n * 0.8)))
        first = int(rng.integers(0, int(n * 0.9)))
        start = int(rng.integers(1995, 2018))
        records.append(Record.model_validate({
            "id": f"s-{i:05d}", "name": f"S {i}", "design": "case_series",
            "modality": [MODALITIES[int(rng.integers(0, len(MODALITIES)))]], "citation": f"s-{i:05d}",
            "cohort": {"centres": [f"Centre {centre}"], "accrual": {"start": start, "end": start + int(rng.integers(1, 8))}},
            "sources": {f"s-{i:05d}": {"authors": [f"Author{first} A", f"Senior{i} B"]}},
        }))
    return records


def all_pairs(records: list[Record]) -> set[tuple[str, str]]:
    """The same rules, comparing every pair (quadratic)."""
    out = set()
    info = []
    for r in records:
        authors = r.sources[r.citation].authors
        info.append(({c.lower() for c in r.cohort.centres}, {a.lower() for a in (authors[0], authors[-1])},
                     modality_families(r), r.cohort.accrual))
    for i in range(len(records)):
        ci, ai, fi, acc_i = info[i]
        for j in range(i + 1, len(records)):
            cj, aj, fj, acc_j = info[j]
            if not (fi & fj):
                continue
            same_centre, same_author = bool(ci & cj), bool(ai & aj)
            if not (same_centre or same_author):
                continue
            overlap = accrual_overlaps(acc_i, acc_j)
            if overlap is False or (overlap is None and not same_centre):
                continue
            out.add((records[i].id, records[j].id))
    return out


def main() -> None:
    print(f"{'records':>8} {'pairs':>6} {'bucketed':>10} {'all pairs':>10} {'ratio':>7}")
    for n in (250, 500, 1000, 2000, 4000):
        records = simulate(n)
        t0 = time.perf_counter()
        links = cohort_links(records, {})
        t1 = time.perf_counter()
        peer = all_pairs(records)
        t2 = time.perf_counter()
        ours = {(link.first, link.second) for link in links}
        assert ours == peer, (len(ours), len(peer))
        print(f"{n:>8} {len(ours):>6} {t1 - t0:>9.3f}s {t2 - t1:>9.3f}s {(t2 - t1) / (t1 - t0):>6.1f}x")


if __name__ == "__main__":
    main()
