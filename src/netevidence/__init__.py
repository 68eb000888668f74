"""netevidence: curated evidence and meta-analysis for liver-directed and nuclear-medicine therapy of
neuroendocrine neoplasm liver metastases."""

from .evidence import EvidenceBase, load_evidence
from .records import EvidenceError, Problem, validate_evidence

__all__ = ["EvidenceBase", "EvidenceError", "Problem", "load_evidence", "validate_evidence"]
__version__ = "0.1.0"
