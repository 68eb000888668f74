"""Analysis specifications: the schema, row selection with the no-double-counting rules, and running."""

from .compare import PublishedComparison, published_comparisons
from .cumulative import cumulative_by_year
from .curves import KaplanMeierPanel, SurvivalCurves, kaplan_meier_panel, survival_curves
from .loader import load_spec, load_specs, spec_files
from .run import AnalysisResult, GroupFit, Stratum, run_spec
from .schema import AnalysisSpec
from .selection import select_rows, spec_studies
from .summary_of_findings import summary_of_findings, write_summary_of_findings

__all__ = [
    "AnalysisResult", "AnalysisSpec", "GroupFit", "KaplanMeierPanel", "PublishedComparison", "Stratum",
    "SurvivalCurves", "cumulative_by_year", "kaplan_meier_panel", "load_spec", "load_specs", "published_comparisons", "run_spec",
    "select_rows", "spec_files", "spec_studies", "summary_of_findings", "survival_curves",
    "write_summary_of_findings",
]
