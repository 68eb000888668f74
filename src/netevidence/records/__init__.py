"""Evidence records: the YAML format, safe parsing with positions, validation and vocabularies."""

from .loaded import CurveData, LoadedRecord, effective_aggregation, effective_data_cut
from .loader import ValidationReport, evidence_files, validate_evidence
from .overlap import CohortLink, cohort_groups, cohort_links
from .problems import EvidenceError, Problem
from .schema import Citation, Outcome, Provenance, Record, SearchLog
from .searchlog import PrismaFlow, prisma_flow

__all__ = [
    "Citation",
    "CohortLink",
    "CurveData",
    "EvidenceError",
    "LoadedRecord",
    "Outcome",
    "PrismaFlow",
    "Problem",
    "Provenance",
    "Record",
    "SearchLog",
    "ValidationReport",
    "cohort_groups",
    "cohort_links",
    "effective_aggregation",
    "effective_data_cut",
    "evidence_files",
    "prisma_flow",
    "validate_evidence",
]
