"""The evidence base: validated records together with their tidy tables."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Mapping

import pandas as pd

from . import tables
from .records import CurveData, EvidenceError, Problem, Record, ValidationReport, validate_evidence
from .records.schema import Citation, SearchLog

TABLE_NAMES = ("outcomes", "studies", "arms", "data_cuts", "characteristics", "review_counts", "sources", "curves",
               "risk_of_bias")


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
    risk_of_bias: pd.DataFrame
    curve_data: Mapping[tuple[str, str], CurveData]
    warnings: tuple[Problem, ...]
    search_log: SearchLog | None = None

    def record(self, study_id: str) -> Record:
        try:
            return self._records_by_id[study_id]
        except KeyError:
            raise KeyError(f"no record with id {study_id!r}") from None

    @cached_property
    def _records_by_id(self) -> dict[str, Record]:
        return {rec.id: rec for rec in self.records}

    @cached_property
    def _rows_by_study(self) -> dict[str, dict[str, list[dict]]]:
        out: dict[str, dict[str, list[dict]]] = {}
        for name in TABLE_NAMES:
            frame = getattr(self, name)
            if "study_id" not in frame.columns:
                continue
            groups: dict[str, list[dict]] = {}
            for row in frame.to_dict("records"):
                groups.setdefault(row["study_id"], []).append(row)
            out[name] = groups
        return out

    def rows_of(self, table: str, study_id: str) -> list[dict]:
        """The rows (as dicts, in table order) of one table (``outcomes``, ``arms``, ...) that belong to
        ``study_id``; the tables are converted once, so asking for every study costs one pass."""
        return self._rows_by_study[table].get(study_id, [])

    @property
    def input_paths(self) -> tuple[str, ...]:
        """Every file and directory the evidence was read from; no output may touch them."""
        paths = [self.root]
        for data in self.curve_data.values():
            paths.append(data.curve_file)
            if data.at_risk_file:
                paths.append(data.at_risk_file)
        return tuple(paths)

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
        risk_of_bias=tables.risk_of_bias_table(loaded),
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
