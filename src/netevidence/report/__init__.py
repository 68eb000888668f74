"""Writing what the pipeline produces: the tidy tables as CSV and the HTML evidence site."""

from .cache import AnalysisCache, analysis_key, code_fingerprint
from .exports import export_analysis, export_result, format_reference, write_sources, write_table
from .site import ReportError, write_site
from .tables import write_tables

__all__ = ["AnalysisCache", "ReportError", "analysis_key", "code_fingerprint", "export_analysis", "export_result",
           "format_reference", "write_site", "write_sources", "write_table", "write_tables"]
