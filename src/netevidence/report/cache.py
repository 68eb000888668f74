"""A content-hash cache of analysis results: an analysis is recomputed and redrawn only when its inputs
change (its specification, the records of the studies it can draw on, or the code that renders it)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from ..evidence import EvidenceBase
from ..fingerprint import PACKAGE_ROOT, source_fingerprint
from ..specs import AnalysisSpec, spec_studies

PLOT_LIBRARIES = ("plotnine", "matplotlib", "numpy", "pandas", "scipy")


def code_fingerprint(root: Path = PACKAGE_ROOT) -> str:
    """A hash of every source file of the package (modules and templates) and of the versions of the
    libraries that compute and draw the results: any change to the code invalidates every cached analysis,
    with no list of modules to keep up to date. The versions are read without importing the libraries."""
    return source_fingerprint(root, PLOT_LIBRARIES)


def _frame_bytes(frame: pd.DataFrame, root: Path) -> bytes:
    frame = frame.copy()
    for column in ("file", "curve_file", "at_risk_file"):
        if column in frame.columns:
            frame[column] = frame[column].map(lambda f: _relative(f, root))
    return frame.to_csv(index=False, lineterminator="\n").encode()


def _relative(file, root: Path) -> str:
    try:
        return Path(file).resolve().relative_to(root).as_posix()
    except (TypeError, ValueError):
        return str(file)


def analysis_key(evidence: EvidenceBase, spec: AnalysisSpec, code: str) -> str:
    """The cache key of one analysis: its specification, every record of a study it selects a row of
    (outcomes, study, arms, data cuts, digitised curves and their contents, review with the names of its
    included studies, related ids, population, sources, cohort and declared overlaps, with file names
    relative to the evidence directory) and the code fingerprint."""
    studies = spec_studies(evidence, spec)
    root = Path(evidence.root)
    root = (root if root.is_dir() else root.parent).resolve()
    h = hashlib.sha256()
    h.update(code.encode())
    h.update(spec.model_dump_json().encode())
    h.update(json.dumps(studies).encode())
    for name in ("outcomes", "studies", "arms", "data_cuts", "curves"):
        table = getattr(evidence, name)
        h.update(_frame_bytes(table[table["study_id"].isin(studies)], root))
    for (study_id, _), data in sorted(evidence.curve_data.items(), key=lambda item: item[0]):
        if study_id in studies:
            h.update(data.curve.to_csv().encode())
            h.update(b"" if data.at_risk is None else data.at_risk.to_csv().encode())
    names = dict(zip(evidence.studies["study_id"], evidence.studies["study_name"]))
    for rec in evidence.records:
        if rec.id in studies:
            h.update(rec.model_dump_json(include={"review", "related", "population", "sources", "cohort",
                                                  "overlaps_with", "distinct_from"}).encode())
            if rec.review is not None:  # the names of included studies appear beside the pooled estimate
                h.update(json.dumps([names.get(s) for s in rec.review.included_ids]).encode())
    return h.hexdigest()[:20]


class AnalysisCache:
    """Entries ``<dir>/<spec id>-<key>/`` holding ``result.json``, the analysis' images and
    ``manifest.json`` (the SHA-256 of every other file). An entry is used only when every file it lists
    is present and matches its hash; anything else (a truncated file, a missing image, unreadable JSON)
    is a miss, and the entry is removed so that the analysis is rebuilt and stored again."""

    MANIFEST = "manifest.json"

    def __init__(self, directory: str | Path | None):
        self.directory = Path(directory) if directory is not None else None

    def load(self, spec_id: str, key: str) -> tuple[dict, dict[str, bytes]] | None:
        """The cached result (parsed ``result.json``) and images (name -> bytes), verified; else None."""
        if self.directory is None:
            return None
        path = self.directory / f"{spec_id}-{key}"
        if not path.is_dir():
            return None
        try:
            manifest = json.loads((path / self.MANIFEST).read_text(encoding="utf-8"))
            files = {}
            for rel, digest in manifest.items():
                data = (path / rel).read_bytes()
                if hashlib.sha256(data).hexdigest() != digest:
                    raise ValueError(f"{rel} does not match its hash")
                files[rel] = data
            content = json.loads(files.pop("result.json").decode("utf-8"))
            if not isinstance(content, dict):
                raise ValueError("result.json is not an object")
            images = {Path(rel).name: data for rel, data in files.items() if rel.startswith("img/")}
        except (OSError, ValueError, KeyError, AttributeError, TypeError, UnicodeDecodeError):
            shutil.rmtree(path, ignore_errors=True)
            return None
        return content, images

    def figure_keys(self, spec_id: str, key: str, name: str) -> list[str]:
        """The keys of the figures an entry's analysis drew (the JSON list in its file ``name``), so that a
        figure cache keeps them; empty when the entry has none or it cannot be read."""
        if self.directory is None:
            return []
        try:
            keys = json.loads((self.directory / f"{spec_id}-{key}" / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []

    def store(self, spec_id: str, key: str, source: Path) -> None:
        """Copy a finished entry (a directory with result.json and img/) into the cache with its manifest,
        atomically; older entries of the same analysis are removed. Failures only cost the cache."""
        if self.directory is None:
            return
        final = self.directory / f"{spec_id}-{key}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if final.exists():
                shutil.rmtree(final)
            tmp = Path(tempfile.mkdtemp(prefix=f".{spec_id}-", dir=self.directory))
        except OSError:
            return
        try:
            shutil.copytree(source, tmp, dirs_exist_ok=True)
            manifest = {p.relative_to(tmp).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                        for p in sorted(tmp.rglob("*")) if p.is_file()}
            (tmp / self.MANIFEST).write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
            os.rename(tmp, final)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            return
        for old in self.directory.glob(f"{spec_id}-*"):
            if old != final and old.is_dir() and not old.name.startswith("."):
                suffix = old.name[len(spec_id) + 1:]
                if len(suffix) == 20 and all(c in "0123456789abcdef" for c in suffix):
                    shutil.rmtree(old, ignore_errors=True)
