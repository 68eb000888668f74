"""Living-review benchmark: validating and rebuilding an evidence base of 1,000 records.

The records are made by templating the shipped ones (each copy gets new record ids, consistently in every
reference), so the numbers and their structure are real. Each step runs the ``netevidence`` command as a
user would, in its own process, and is timed by wall clock:

* ``netevidence validate`` on the 1,000 records (target: under 5 s);
* ``netevidence report`` from scratch (no cache);
* a rebuild with nothing changed (target: under 3 s): the site's inputs and files are hashed and found
  unchanged, so it is left as it is;
* a rebuild after one number of one record changed: only the analyses that select that record are
  recomputed (the others come from the cache), counted from the cache entries written.

Run from the repository root: ``.venv/bin/python bench/bench_living.py [--records 1000]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT / "evidence"
BIN = Path(sys.executable).parent / "netevidence"


def make_evidence(target: Path, n_records: int) -> list[Path]:
    """Whole copies of the shipped records, at least ``n_records`` of them. From the second copy on, record
    ids and the ids of the citations a record defines get a ``-c<copy>`` suffix wherever they occur, and each
    copy is made a cohort of its own (other centre, other author names), so that it is validated and pooled
    as a further study rather than as a republication of the first. Returns the files written."""
    import yaml

    target.mkdir(parents=True)
    shutil.copy(EVIDENCE / "sources.yaml", target / "sources.yaml")
    originals = sorted(p for p in EVIDENCE.glob("*.yaml") if p.name not in ("sources.yaml", "search.yaml"))
    own_sources = {sid for p in originals for sid in (yaml.safe_load(p.read_text(encoding="utf-8")).get("sources") or {})}
    ids = sorted({p.stem for p in originals} | own_sources, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ids)) + r")(?![\w-])")
    written = []
    copy = 0
    while len(written) < n_records:
        copy += 1
        for p in originals:
            text = p.read_text(encoding="utf-8")
            out = target / p.name
            if copy > 1:  # the first copy keeps the shipped ids, which the shipped specifications name
                data = yaml.safe_load(pattern.sub(lambda m: f"{m.group(1)}-c{copy}", text))
                if data.get("cohort"):
                    data["cohort"]["centres"] = [f"centre {copy}-{c}" for c in data["cohort"].get("centres", [])]
                tag = "".join(chr(ord("a") + int(d)) for d in str(copy))  # surnames differ by letters
                for citation in (data.get("sources") or {}).values():
                    citation["authors"] = [f"{a.split(' ', 1)[0]}{tag} {a.split(' ', 1)[1] if ' ' in a else ''}".strip()
                                           for a in citation.get("authors", [])]
                text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
                out = target / f"{p.stem}-c{copy}.yaml"
            out.write_text(text, encoding="utf-8")
            written.append(out)
    if (EVIDENCE / "curves").is_dir():
        shutil.copytree(EVIDENCE / "curves", target / "curves")
    return written


def timed(argv: list[str], expect: str = "") -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or expect not in proc.stdout:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = make_evidence(work / "evidence", args.records)
        report = [str(BIN), "report", "--evidence", str(work / "evidence"), "--analyses", str(ROOT / "analyses"),
                  "--out", str(work / "site"), "--cache", str(work / "cache"), "--quiet"]
        t_validate = timed([str(BIN), "validate", str(work / "evidence"), "--quiet"])
        t_scratch = timed(report, expect="wrote")
        t_warm = timed(report, expect="is up to date")
        entries = {p.name for p in (work / "cache").iterdir() if p.is_dir()}
        victim = next(f for f in files if f.name.startswith("braat-2020-c"))
        text = victim.read_text()
        assert "events: 15" in text
        victim.write_text(text.replace("events: 15", "events: 16", 1))
        t_one = timed(report, expect="wrote")
        fresh = {p.name for p in (work / "cache").iterdir() if p.is_dir()} - entries
        n_specs = len(list((ROOT / "analyses").glob("*.yaml")))
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPU cores, load average {load} (1, 5, 15 min) at the end of the run")
    print(f"{len(files)} records ({len(files) // (len(list(EVIDENCE.glob('*.yaml'))) - 2)} copies of the shipped ones), "
          f"{n_specs} analyses; wall clock of the netevidence command, one run each")
    rows = [("validate", t_validate, "< 5 s"), ("report from scratch", t_scratch, ""),
            ("rebuild, nothing changed", t_warm, "< 3 s"), ("rebuild, one record changed", t_one, "")]
    for name, seconds, target in rows:
        print(f"  {name:<30} {seconds:7.2f} s  {target}")
    print(f"  analyses recomputed after the one-record change: {len(fresh)} of {n_specs} "
          f"({', '.join(sorted(e.rsplit('-', 1)[0] for e in fresh)) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
