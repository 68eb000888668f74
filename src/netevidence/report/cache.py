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
from ..specs import AnalysisSpec

_CODE_PACKAGES = ("specs", "plots", "pooling", "effects", "survival", "report")


def code_fingerprint() -> str:
    """A hash of the package sources that shape an analysis' output."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for pkg in _CODE_PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    import matplotlib
    import plotnine

    h.update(f"{plotnine.__version__} {matplotlib.__version__}".encode())
    return h.hexdigest()


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


def relevant_studies(evidence: EvidenceBase, spec: AnalysisSpec) -> list[str]:
    """The studies with a row the specification selects (its forest plots or its survival curves)."""
    from ..specs.selection import _matches

    out = evidence.outcomes
    keep = _matches(out, spec)
    if spec.survival_curves is not None:
        sel = spec.select.model_copy(update={"endpoints": [spec.survival_curves.endpoint],
                                             "statistics": ["survival_at", "median_time"], "times": None,
                                             "time_unit": None})
        keep |= _matches(out, spec.model_copy(update={"select": sel}))
    return sorted(set(out.loc[keep, "study_id"]))


def analysis_key(evidence: EvidenceBase, spec: AnalysisSpec, code: str) -> str:
    """The cache key of one analysis: its specification, every record of a study it selects a row of
    (outcomes, study, arms, data cuts, digitised curves and their contents, review with the names of its
    included studies, related ids, population, sources, cohort and declared overlaps, with file names
    relative to the evidence directory) and the code fingerprint."""
    studies = relevant_studies(evidence, spec)
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
    """Entries ``<dir>/<spec id>-<key>/`` holding ``result.json`` and the analysis' images."""

    def __init__(self, directory: str | Path | None):
        self.directory = Path(directory) if directory is not None else None

    def entry(self, spec_id: str, key: str) -> Path | None:
        if self.directory is None:
            return None
        path = self.directory / f"{spec_id}-{key}"
        return path if (path / "result.json").is_file() else None

    def store(self, spec_id: str, key: str, source: Path) -> None:
        """Copy a finished entry (a directory with result.json) into the cache, atomically; older entries
        of the same analysis are removed."""
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"{spec_id}-{key}"
        if final.exists():
            return
        tmp = Path(tempfile.mkdtemp(prefix=f".{spec_id}-", dir=self.directory))
        try:
            shutil.copytree(source, tmp, dirs_exist_ok=True)
            os.rename(tmp, final)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            return
        for old in self.directory.glob(f"{spec_id}-*"):
            if old != final and old.is_dir() and not old.name.startswith("."):
                suffix = old.name[len(spec_id) + 1:]
                if len(suffix) == 20 and all(c in "0123456789abcdef" for c in suffix):
                    shutil.rmtree(old, ignore_errors=True)
