"""Evidence records: the YAML format, safe parsing with positions, validation and vocabularies."""

from .loaded import CurveData, LoadedRecord, effective_aggregation, effective_data_cut
from .loader import ValidationReport, evidence_files, validate_evidence
from .problems import EvidenceError, Problem
from .schema import Citation, Outcome, Provenance, Record

__all__ = [
    "Citation",
    "CurveData",
    "EvidenceError",
    "LoadedRecord",
    "Outcome",
    "Problem",
    "Provenance",
    "Record",
    "ValidationReport",
    "effective_aggregation",
    "effective_data_cut",
    "evidence_files",
    "validate_evidence",
]
