"""The tidy tables as CSV."""

from __future__ import annotations

from pathlib import Path

from ..evidence import EvidenceBase
from ..output import atomic_directory, write_csv


def write_tables(evidence: EvidenceBase, out: str | Path) -> list[Path]:
    """Write every tidy table as ``<name>.csv`` into ``out`` (replaced atomically)."""
    out = Path(out)
    with atomic_directory(out, protect=evidence.input_paths) as staging:
        for name, frame in evidence.tables().items():
            write_csv(frame, staging / f"{name}.csv")
    return [out / f"{name}.csv" for name in evidence.tables()]
