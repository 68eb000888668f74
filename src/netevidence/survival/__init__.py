"""Survival: reconstruction of individual patient data from digitised Kaplan-Meier curves (Guyot et al.,
BMC Med Res Methodol 2012), analysis of the reconstructed data, summary survival curves (Combescure,
Foucher & Jackson, Stat Med 2014), model-based curves through reported landmarks, and pooling of landmark
survival and medians."""

from .analysis import (
    ArmComparison,
    KaplanMeierResult,
    compare_arms,
    derived_summary,
    kaplan_meier,
    restricted_mean,
)
from .digitised import preprocess_curve, read_at_risk_csv, read_curve_csv, validate_at_risk
from .parametric import ParametricCurve, fit_parametric
from .pooling import PooledSurvival, pool_landmark_survival, pool_median_ratios, pool_medians
from .reconstruct import (
    ReconstructionDiagnostics,
    ReconstructionResult,
    format_diagnostics,
    reconstruct_files,
    reconstruct_ipd,
    reconstruct_many,
)
from .evidence import reconstruct_curves, reconstructed_outcomes
from .landmarks import landmark_sources
from .summary_curve import StudyIntervals, SummaryCurve, study_intervals, summary_curve

__all__ = [
    "landmark_sources",
    "reconstruct_curves",
    "reconstructed_outcomes",
    "ArmComparison",
    "KaplanMeierResult",
    "ParametricCurve",
    "PooledSurvival",
    "ReconstructionDiagnostics",
    "ReconstructionResult",
    "StudyIntervals",
    "SummaryCurve",
    "compare_arms",
    "derived_summary",
    "fit_parametric",
    "format_diagnostics",
    "kaplan_meier",
    "pool_landmark_survival",
    "pool_median_ratios",
    "pool_medians",
    "preprocess_curve",
    "read_at_risk_csv",
    "read_curve_csv",
    "reconstruct_files",
    "reconstruct_ipd",
    "reconstruct_many",
    "restricted_mean",
    "study_intervals",
    "summary_curve",
    "validate_at_risk",
]
