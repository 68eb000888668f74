"""Effect sizes from what studies report, their back-transforms, and the bridge from the tidy tables."""

from .bridge import from_outcomes
from .compute import MEASURES, compute, effect_size
from .measures import MEASURE_FACTS, NULL_VALUES, MeasureFacts, measure_facts
from .landmark import followed_share, landmark_effect, survival_from_effective_n, survival_from_greenwood, survival_from_n
from .result import EffectSizes
from .transforms import back_transform

__all__ = ["MEASURES", "MEASURE_FACTS", "NULL_VALUES", "EffectSizes", "MeasureFacts", "measure_facts", "back_transform", "compute", "effect_size", "from_outcomes",
           "landmark_effect", "survival_from_greenwood", "survival_from_n"]
