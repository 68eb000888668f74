"""The evidence base: validated records together with their tidy tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pandas as pd

from . import tables
from .records import CurveData, EvidenceError, Problem, Record, ValidationReport, validate_evidence
from .records.schema import Citation, SearchLog

TABLE_NAMES = ("outcomes", "studies", "arms", "data_cuts", "characteristics", "review_counts", "sources", "curves")


@dataclass(frozen=True)
class EvidenceBase:
    """Records as curated and the tables built from them; ``warnings`` are the consistency warnings.

    ``curve_data`` maps (study id, curve id) to the digitised points and at-risk table of each curve;
    ``search_log`` is ``evidence/search.yaml`` when the directory has one.
    """

    root: str
    records: tuple[Record, ...]
    citations: Mapping[str, Citation]
    outcomes: pd.DataFrame
    studies: pd.DataFrame
    arms: pd.DataFrame
    data_cuts: pd.DataFrame
    characteristics: pd.DataFrame
    review_counts: pd.DataFrame
    sources: pd.DataFrame
    curves: pd.DataFrame
    curve_data: Mapping[tuple[str, str], CurveData]
    warnings: tuple[Problem, ...]
    search_log: SearchLog | None = None

    def record(self, study_id: str) -> Record:
        for rec in self.records:
            if rec.id == study_id:
                return rec
        raise KeyError(f"no record with id {study_id!r}")

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLE_NAMES}


def evidence_from_report(report: ValidationReport) -> EvidenceBase:
    """Build the tables of a validation report that has no errors."""
    if not report.ok:
        raise EvidenceError(report.problems)
    loaded = report.records
    shared = report.shared_sources
    citations: dict[str, Citation] = dict(shared)
    for item in loaded:
        citations.update(item.record.sources)
    return EvidenceBase(
        root=report.root,
        records=tuple(item.record for item in loaded),
        citations=citations,
        outcomes=tables.outcomes_table(loaded, shared),
        studies=tables.studies_table(loaded, shared),
        arms=tables.arms_table(loaded),
        data_cuts=tables.data_cuts_table(loaded),
        characteristics=tables.characteristics_table(loaded),
        review_counts=tables.review_table(loaded),
        sources=tables.sources_table(loaded, shared),
        curves=tables.curves_table(loaded),
        curve_data={(item.record.id, cid): data for item in loaded for cid, data in item.curves.items()},
        warnings=report.warnings,
        search_log=report.search_log,
    )


def load_evidence(path: str | Path = "evidence") -> EvidenceBase:
    """Load and validate every record under ``path``.

    Raises :class:`~netevidence.records.EvidenceError` listing every error (with file:line:column)
    when any record is invalid; files are only read, never written.
    """
    return evidence_from_report(validate_evidence(path))
