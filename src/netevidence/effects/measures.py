"""What a reader needs to know about each measure on its reporting scale, in one place: the axis label
of a forest plot, the value of no effect, and which side of that value favours the experimental arm.

``lower_favours_arm`` is True for hazard ratios (the hazard of the endpoint's event, death or progression:
below 1 the arm has fewer events than its comparator) and None where the direction depends on whether the
counted outcome is good or bad (an odds ratio of survival at a time point or of death); forest plots then
label the two sides "lower/higher with <arm>" instead of "favours". ``scale`` is the reporting scale a
forest plot draws: ``ratio`` (log axis), ``proportion`` (0-1), ``time`` (months) or ``difference``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class MeasureFacts:
    """Axis label on the reporting scale (without the scale), null value (None: no value of no effect),
    direction, and the axis label on the analysis scale (funnel plots)."""

    label: str
    null: float | None
    lower_favours_arm: bool | None
    analysis_label: str
    scale: str = "difference"


MEASURE_FACTS: Mapping[str, MeasureFacts] = MappingProxyType({
    "HR": MeasureFacts("Hazard ratio", 1.0, True, "Log hazard ratio", "ratio"),
    "OR": MeasureFacts("Odds ratio", 1.0, None, "Log odds ratio", "ratio"),
    "RR": MeasureFacts("Risk ratio", 1.0, None, "Log risk ratio", "ratio"),
    "ROM_SURV": MeasureFacts("Ratio of median survival", 1.0, False, "Log ratio of median survival", "ratio"),
    "MEDIAN": MeasureFacts("Median (months)", None, None, "Log median", "time"),
    "PR": MeasureFacts("Proportion", None, None, "Proportion", "proportion"),
    "PLO": MeasureFacts("Proportion", None, None, "Logit proportion", "proportion"),
    "PLN": MeasureFacts("Proportion", None, None, "Log proportion", "proportion"),
    "PAS": MeasureFacts("Proportion", None, None, "Arcsine proportion", "proportion"),
    "PFT": MeasureFacts("Proportion", None, None, "Freeman-Tukey proportion", "proportion"),
    "SURV": MeasureFacts("Survival probability", None, None, "log(-log survival)", "proportion"),
    "RD": MeasureFacts("Risk difference", 0.0, None, "Risk difference", "difference"),
})

# the value of no effect on each reporting scale that has one (proportions and times have none)
NULL_VALUES: Mapping[str, float] = MappingProxyType({"ratio": 1.0})


def measure_facts(measure: str) -> MeasureFacts:
    """The facts of ``measure``; an unknown measure raises a ValueError naming the known ones."""
    try:
        return MEASURE_FACTS[measure]
    except KeyError:
        raise ValueError(f"unknown measure {measure!r} (known: {', '.join(sorted(MEASURE_FACTS))})") from None
