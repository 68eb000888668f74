"""The build manifest: what a site was built from and what it concluded, in one machine-readable file.

Every ``netevidence report`` writes ``manifest.json`` into the site. It holds the content hash of every
record file, specification and the package code, each record's reported numbers (with their provenance, so
a later build can say which numbers were corrected), and the pooled results of every analysis stratum.
Two manifests are compared by :mod:`netevidence.report.changes`. The build time is kept apart from the
hashes, so that the same inputs give the same ``content_hash`` and the same version number.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from ..evidence import EvidenceBase

FORMAT = 1
MANIFEST_FILE = "manifest.json"
HISTORY_DIR = "versions"

# the columns that identify one reported quantity, and the columns that hold its numbers
QUANTITY_KEY = ("endpoint", "qualifier", "subgroup", "arm", "comparator", "time", "time_unit", "data_cut",
                "statistic", "source", "location")
NUMBER_COLUMNS = ("events", "n", "percent", "estimate", "ci_low", "ci_high", "ci_level", "p", "low", "high",
                  "range_low", "range_high", "k", "not_reached", "ci_high_not_reached")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _plain(value: Any) -> Any:
    """A JSON-safe scalar: numpy and pandas scalars to Python, missing and non-finite values to None."""
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def quantity_label(row: dict[str, Any]) -> str:
    """A readable key for one reported quantity: ``os | arm prrt | 3 years | survival_at | source: x (abstract)``."""
    parts = [str(row["endpoint"]) + (f" ({row['qualifier']})" if _plain(row.get("qualifier")) else "")]
    if _plain(row.get("arm")):
        parts.append(f"{row['arm']} vs {row['comparator']}" if _plain(row.get("comparator")) else f"arm {row['arm']}")
    if _plain(row.get("subgroup")):
        parts.append(f"subgroup {row['subgroup']}")
    if _plain(row.get("time")) is not None:
        parts.append(f"{_plain(row['time']):g} {row['time_unit']}")
    if _plain(row.get("data_cut")):
        parts.append(f"data cut {row['data_cut']}")
    parts.append(str(row["statistic"]))
    parts.append(f"source {row['source']} ({row['location']})")
    return " | ".join(parts)


def record_numbers(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every reported quantity of one study's outcome rows (as dicts): label -> its numbers and where they are."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        label = quantity_label(row)
        numbers = {c: _plain(row.get(c)) for c in NUMBER_COLUMNS if _plain(row.get(c)) is not None}
        while label in out:  # the same quantity printed twice at one location: keep both
            label += " (again)"
        out[label] = {"numbers": numbers, "line": _plain(row.get("line")), "verified": _plain(row.get("verified"))}
    return out


def _relative(file: str, root: Path) -> str:
    try:
        return Path(file).resolve().relative_to(root).as_posix()
    except ValueError:
        return Path(file).name


def record_entries(evidence: EvidenceBase) -> dict[str, dict[str, Any]]:
    """Per record: its file (relative to the evidence directory), the file's hash, name, year and numbers."""
    root = Path(evidence.root)
    root = (root if root.is_dir() else root.parent).resolve()
    entries = {}
    for rec in evidence.records:
        row = evidence.rows_of("studies", rec.id)[0]
        file = str(row.get("file") or "")
        digest = _sha256(Path(file).read_bytes()) if file and Path(file).is_file() else ""
        numbers = record_numbers(evidence.rows_of("outcomes", rec.id))
        entries[rec.id] = {"file": _relative(file, root) if file else "", "sha256": digest, "name": rec.name,
                           "year": _plain(row.get("year")), "numbers": numbers}
    return entries


def _stratum_entry(title: str, st: dict[str, Any], k: Any, values: dict[str, Any], text: str | None,
                   studies: list[str]) -> dict[str, Any]:
    return {"title": title, "measure": st.get("measure"), "scale": st.get("scale"), "k": k,
            "pooled": bool(values), "text": text,
            **{name: _plain(values.get(name)) for name in
               ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2")},
            "studies": studies}


def analysis_results(content: dict[str, Any]) -> dict[str, Any]:
    """The pooled results of one analysis page's content: per stratum (and per subgroup of a stratum) k,
    the estimate with its CI and prediction interval (on the reporting scale, as numbers and as the page
    prints them), tau², I² and the studies pooled."""
    strata = []
    for st in content.get("strata", []):
        pooled = st.get("pooled") or {}
        pooled_rows = [r for r in st.get("rows", []) if r.get("role") == "pooled"]
        entry = _stratum_entry(st["title"], st, pooled.get("k"), pooled.get("values") or {},
                               pooled.get("estimate"), sorted({r["study_id"] for r in pooled_rows}))
        certainty = st.get("certainty") or {}
        entry["certainty"] = (f"{certainty['symbol']} {certainty['label']}" if certainty.get("label") else None)
        strata.append(entry)
        for sub in st.get("subgroups", []):
            members = sorted({r["study_id"] for r in pooled_rows if r.get("group") == sub["group"]})
            values = sub.get("values") or {} if sub.get("k", 0) > 1 else {}
            strata.append(_stratum_entry(f"{st['title']}: {sub['group']}", st, sub.get("k"), values,
                                         sub.get("estimate") if values else None, members))
    return {"title": content["title"], "strata": strata}


def content_hash(records: dict[str, dict[str, Any]], specs: dict[str, str], code: str, extra: Iterable[str] = ()
                 ) -> str:
    """One hash of everything a build depends on (record and specification files, code, shared files)."""
    h = hashlib.sha256()
    h.update(code.encode())
    for rid in sorted(records):
        h.update(f"{rid}:{records[rid]['sha256']}".encode())
    for sid in sorted(specs):
        h.update(f"{sid}:{specs[sid]}".encode())
    for item in extra:
        h.update(item.encode())
    return h.hexdigest()


def build_manifest(evidence: EvidenceBase, spec_paths: dict[str, Path], contents: list[dict[str, Any]], *,
                   code: str, package_version: str, built: str, previous: dict[str, Any] | None,
                   shared_files: Iterable[Path] = ()) -> dict[str, Any]:
    """The manifest of a build. ``previous`` (the manifest of the site being replaced, if any) gives the
    version number: it goes up by one when the content hash changes and stays when nothing changed."""
    records = record_entries(evidence)
    specs = {sid: _sha256(Path(p).read_bytes()) for sid, p in sorted(spec_paths.items())}
    shared = [f"{Path(p).name}:{_sha256(Path(p).read_bytes())}" for p in sorted(shared_files) if Path(p).is_file()]
    digest = content_hash(records, specs, code, shared)
    version = 1
    if previous is not None:
        version = int(previous.get("version", 0)) + (0 if previous.get("content_hash") == digest else 1)
    return {
        "format": FORMAT,
        "version": version,
        "content_hash": digest,
        "package_version": package_version,
        "built": built,
        "code": code,
        "shared_files": shared,
        "specs": specs,
        "records": records,
        "analyses": {c["id"]: analysis_results(c) for c in contents},
    }


def dumps(manifest: dict[str, Any]) -> str:
    """The manifest as compact JSON (keys sorted, so equal manifests give equal bytes)."""
    return json.dumps(manifest, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"


class ManifestError(ValueError):
    """A previous build that cannot be read as a manifest; the message says where and why."""


def read_manifest(path: str | Path) -> dict[str, Any]:
    """A manifest from a site directory (its ``manifest.json``) or a manifest file."""
    path = Path(path)
    file = path / MANIFEST_FILE if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{file}: no build manifest there. Fix: give a site built by netevidence "
                            "(it holds manifest.json) or the manifest file itself.") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ManifestError(f"{file}: not a readable build manifest ({exc}). Fix: give the manifest.json of "
                            "an earlier build.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("records"), dict):
        raise ManifestError(f"{file}: not a netevidence build manifest of format {FORMAT}. Fix: give the "
                            "manifest.json of an earlier build.")
    return data
