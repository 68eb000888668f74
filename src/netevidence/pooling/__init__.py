"""Random-effects pooling, heterogeneity and the analyses built on them."""

from .core import PoolResult, Prediction, pool
from .batch import PoolManyResult, pool_many
from .estimators import Tau2Estimate, estimate_tau2
from .heterogeneity import HeterogeneityCI, tau2_confint
from .glmm import GlmmResult, glmm_proportion
from .bayes import BayesPoolResult, TauPrior, bayes_pool, turner_prior
from .medians import MedianOfMediansResult, median_of_medians
from .quantiles import QuantileEstimationResult, QuantileFit, qe_fit, qe_pool
from .proportions import ProportionPoolResult, clopper_pearson, pool_proportions
from .regression import MetaRegressionResult, meta_regression
from .subgroups import SubgroupResult, subgroup_analysis
from .sensitivity import (
    CumulativeResult,
    GoshResult,
    InfluenceResult,
    LeaveOneOutResult,
    PermutationTestResult,
    cumulative,
    gosh,
    influence,
    leave_one_out,
    permutation_test,
)
from .bias import (
    BeggTestResult,
    EggerTestResult,
    FunnelData,
    TrimFillResult,
    begg_test,
    egger_test,
    funnel_data,
    trim_and_fill,
)

__all__ = [
    "BayesPoolResult", "TauPrior", "bayes_pool", "turner_prior", "MedianOfMediansResult", "median_of_medians",
    "QuantileEstimationResult", "QuantileFit", "qe_fit", "qe_pool",
    "ProportionPoolResult", "clopper_pearson", "pool_proportions",
    "BeggTestResult", "CumulativeResult", "EggerTestResult", "FunnelData", "GlmmResult", "GoshResult",
    "HeterogeneityCI", "InfluenceResult", "LeaveOneOutResult", "MetaRegressionResult", "PermutationTestResult",
    "PoolManyResult", "PoolResult", "Prediction", "SubgroupResult", "Tau2Estimate", "TrimFillResult",
    "begg_test", "cumulative", "egger_test", "estimate_tau2", "funnel_data", "glmm_proportion", "gosh",
    "influence", "leave_one_out", "meta_regression", "permutation_test", "pool", "pool_many",
    "subgroup_analysis", "tau2_confint", "trim_and_fill",
]
