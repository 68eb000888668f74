"""The tidy tables as CSV."""

from __future__ import annotations

from pathlib import Path

from ..evidence import EvidenceBase
from ..output import atomic_directory


def write_tables(evidence: EvidenceBase, out: str | Path) -> list[Path]:
    """Write every tidy table as ``<name>.csv`` into ``out`` (replaced atomically)."""
    out = Path(out)
    with atomic_directory(out, protect=evidence.input_paths) as staging:
        for name, frame in evidence.tables().items():
            frame.to_csv(staging / f"{name}.csv", index=False, lineterminator="\n")
    return [out / f"{name}.csv" for name in evidence.tables()]
