"""Random-effects pooling, heterogeneity and the analyses built on them."""

from .core import PoolResult, Prediction, pool
from .batch import PoolManyResult, pool_many
from .estimators import Tau2Estimate, estimate_tau2
from .heterogeneity import HeterogeneityCI, tau2_confint
from .glmm import GlmmResult, glmm_proportion
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
