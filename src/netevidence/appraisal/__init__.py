"""Appraisal of pooled evidence: GRADE certainty proposed from the data (between pooling and specs)."""

from .grade import (DOMAINS, LABELS, LEVELS, SYMBOLS, Certainty, DomainRating, GradeInput, Override, grade,
                    optimal_information_size)
from .risk import study_risk_levels

__all__ = ["DOMAINS", "LABELS", "LEVELS", "SYMBOLS", "Certainty", "DomainRating", "GradeInput", "Override", "grade",
           "optimal_information_size", "study_risk_levels"]
