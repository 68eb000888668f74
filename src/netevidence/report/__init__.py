"""Writing what the pipeline produces: the tidy tables as CSV and the HTML evidence site."""

from .cache import AnalysisCache, analysis_key, code_fingerprint
from .site import ReportError, write_site
from .tables import write_tables

__all__ = ["AnalysisCache", "ReportError", "analysis_key", "code_fingerprint", "write_site", "write_tables"]
