"""GRADE certainty of the evidence for one analysis outcome, proposed from the data rule by rule.

Each domain's rating is a pure function of numbers the analysis already has (the pooled estimate, its
CI and prediction interval, I², the studies' weights and risk-of-bias levels, Egger's test), and every
rating carries the rule that produced it, so a reader can check it and a curator can override it with a
reason. Sources: Guyatt GH et al., GRADE guidelines series, J Clin Epidemiol 2011: 4 (risk of bias,
64:407-415), 5 (publication bias, 64:1277-1282), 6 (imprecision and the optimal information size,
64:1283-1293), 7 (inconsistency, 64:1294-1302), 9 (rating up, 64:1311-1316); Schünemann HJ et al.
GRADE guidance 18 (starting level of non-randomised studies assessed with ROBINS-I), J Clin Epidemiol
2019;111:105-114 (here non-randomised evidence starts low, the traditional rule); Zeng L et al. GRADE
guidance 34 (imprecision, minimally contextualised), J Clin Epidemiol 2022;150:216-224; Sterne JAC et al.
(tests for funnel asymmetry need at least 10 studies), BMJ 2011;343:d4002.

All effect values (estimate, limits, threshold, null) must be on one scale: the analysis scale (e.g.
log hazard ratio, logit proportion) or the reporting scale, as long as it is the same for all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np

LEVELS = ("very_low", "low", "moderate", "high")
SYMBOLS: Mapping[str, str] = MappingProxyType({
    "high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very_low": "⊕◯◯◯",
})
LABELS: Mapping[str, str] = MappingProxyType({
    "high": "High", "moderate": "Moderate", "low": "Low", "very_low": "Very low",
})
DOWNGRADE_DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
UPGRADE_DOMAINS = ("large_effect", "dose_response", "plausible_confounding")
DOMAINS = DOWNGRADE_DOMAINS + UPGRADE_DOMAINS

HIGH_RISK_LEVELS = frozenset({"high", "critical"})

# Thresholds of the rules (one place; the docs list the same values).
ROB_SHARE_SERIOUS = 0.5          # weighted share of high-risk studies: >= 0.5 rates down one level
ROB_SHARE_VERY_SERIOUS = 0.5     # ... and >= 0.5 of the weight at critical risk rates down two
I2_SERIOUS = 50.0                # I² (percent) from which inconsistency can rate down
I2_VERY_SERIOUS = 90.0
PUBLICATION_BIAS_MIN_K = 10      # fewer studies: funnel tests are not used
EGGER_ALPHA = 0.10
LARGE_EFFECT = 2.0               # ratio >= 2 or <= 0.5 rates up one level
VERY_LARGE_EFFECT = 5.0          # ratio >= 5 or <= 0.2 rates up two


@dataclass(frozen=True)
class DomainRating:
    """One GRADE domain: the change of level (-2..+2), the rule and what the data showed.

    ``proposed`` is the change the rule gives; ``change`` is the one used (the override's, if any)."""

    domain: str
    proposed: int
    change: int
    rule: str
    finding: str
    override_reason: str | None = None

    @property
    def overridden(self) -> bool:
        return self.override_reason is not None


@dataclass(frozen=True)
class Override:
    """A curator's rating of one domain (``change`` from -2 to +2) and the reason, shown with it."""

    domain: str
    change: int
    reason: str

    def __post_init__(self):
        if self.domain not in DOMAINS:
            raise ValueError(f"unknown GRADE domain {self.domain!r}; use one of: {', '.join(DOMAINS)}")
        if self.change not in (-2, -1, 0, 1, 2):
            raise ValueError(f"a GRADE override changes the level by -2 to +2, got {self.change!r}")
        if self.domain in DOWNGRADE_DOMAINS and self.change > 0:
            raise ValueError(f"{self.domain} can only rate down (change -2, -1 or 0)")
        if self.domain in UPGRADE_DOMAINS and self.change < 0:
            raise ValueError(f"{self.domain} can only rate up (change 0, 1 or 2)")
        if not str(self.reason).strip():
            raise ValueError(f"the override of {self.domain} needs a reason")


@dataclass(frozen=True)
class Certainty:
    """The GRADE certainty of one outcome: starting level, the eight domains and the final level."""

    start: str
    start_rule: str
    domains: tuple[DomainRating, ...]
    level: str

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.level]

    @property
    def label(self) -> str:
        return LABELS[self.level]

    def domain(self, name: str) -> DomainRating:
        return next(d for d in self.domains if d.domain == name)

    def to_frame(self):
        """One row per domain: proposed and used change, rule, finding, override reason."""
        import pandas as pd

        return pd.DataFrame([{"domain": d.domain, "proposed": d.proposed, "change": d.change, "rule": d.rule,
                              "finding": d.finding, "override_reason": d.override_reason} for d in self.domains])


@dataclass(frozen=True)
class GradeInput:
    """What the rules read. ``weights`` (any positive scale) and ``rob_levels`` (shared risk-of-bias
    levels, ``None`` for a study not assessed) are per study; ``threshold`` is the decision threshold
    and ``null`` the value of no effect (``None`` for single-group outcomes such as a proportion)."""

    randomised: bool
    estimate: float
    ci_low: float
    ci_high: float
    k: int
    weights: Sequence[float] = ()
    rob_levels: Sequence[str | None] = ()
    i2: float | None = None
    pi_low: float | None = None
    pi_high: float | None = None
    threshold: float | None = None
    null: float | None = None
    participants: int | None = None
    optimal_information_size: int | None = None
    egger_p: float | None = None
    ratio: bool = False
    log_scale: bool = False
    overrides: tuple[Override, ...] = field(default=())


def optimal_information_size(p_control: float, relative_risk_reduction: float, *, alpha: float = 0.05,
                             power: float = 0.8) -> int:
    """Patients (both arms) a single trial needs to detect the relative risk reduction with the given
    power (two-sided ``alpha``); GRADE guidelines 6 (Guyatt 2011) uses it as the optimal information size.

    n per arm = (z_{1-α/2} + z_{1-β})² [p₀(1-p₀) + p₁(1-p₁)] / (p₀ - p₁)², p₁ = p₀(1 - RRR)."""
    from scipy.stats import norm

    if not 0 < p_control < 1 or not 0 < relative_risk_reduction < 1:
        raise ValueError("p_control and relative_risk_reduction must be between 0 and 1")
    p1 = p_control * (1 - relative_risk_reduction)
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    per_arm = z ** 2 * (p_control * (1 - p_control) + p1 * (1 - p1)) / (p_control - p1) ** 2
    return int(2 * np.ceil(per_arm))


def _crosses(low: float | None, high: float | None, value: float | None) -> bool:
    return value is not None and low is not None and high is not None and low < value < high


def rate_risk_of_bias(weights: Sequence[float], levels: Sequence[str | None]) -> DomainRating:
    rule = (f"rate down 1 when studies at high or critical risk carry >= {ROB_SHARE_SERIOUS:.0%} of the weight, "
            f"2 when studies at critical risk alone carry >= {ROB_SHARE_VERY_SERIOUS:.0%}")
    w = np.asarray(weights, float)
    if w.size == 0 or w.sum() <= 0 or len(levels) != w.size:
        return DomainRating("risk_of_bias", 0, 0, rule, "no study weights: not rated from the data")
    w = w / w.sum()
    high = float(w[[lv in HIGH_RISK_LEVELS for lv in levels]].sum())
    critical = float(w[[lv == "critical" for lv in levels]].sum())
    missing = float(w[[lv is None for lv in levels]].sum())
    change = -2 if critical >= ROB_SHARE_VERY_SERIOUS else -1 if high >= ROB_SHARE_SERIOUS else 0
    finding = f"{high:.0%} of the weight at high or critical risk ({critical:.0%} critical)"
    if missing:
        finding += f"; {missing:.0%} from studies not assessed"
    return DomainRating("risk_of_bias", change, change, rule, finding)


def rate_inconsistency(k: int, i2: float | None, pi_low: float | None, pi_high: float | None,
                       threshold: float | None, null: float | None) -> DomainRating:
    mark = threshold if threshold is not None else null
    rule = (f"rate down 1 when I² >= {I2_SERIOUS:g}% and the prediction interval crosses the decision threshold "
            f"(or the null when no threshold is set), 2 when I² >= {I2_VERY_SERIOUS:g}% as well; with no threshold "
            f"and no null, I² alone decides")
    if k < 2 or i2 is None or not np.isfinite(i2):
        return DomainRating("inconsistency", 0, 0, rule, "a single study: not rated")
    crosses = _crosses(pi_low, pi_high, mark) if mark is not None else True
    change = 0
    if i2 >= I2_SERIOUS and crosses:
        change = -2 if i2 >= I2_VERY_SERIOUS else -1
    verb = "crosses" if crosses else "does not cross"
    where = "no threshold" if mark is None else f"prediction interval {pi_low:.3g} to {pi_high:.3g} {verb} {mark:.3g}"
    return DomainRating("inconsistency", change, change, rule, f"I² = {i2:.0f}%, {where}")


def rate_imprecision(ci_low: float, ci_high: float, threshold: float | None, null: float | None,
                     participants: int | None, ois: int | None) -> DomainRating:
    rule = ("rate down 1 when the CI crosses the decision threshold (or the null), 2 when it crosses both the "
            "null and the threshold; otherwise rate down 1 when the participants are fewer than the optimal "
            "information size")
    crossing = [name for name, value in (("threshold", threshold), ("null", null)) if _crosses(ci_low, ci_high, value)]
    if threshold is None and null is None:
        return DomainRating("imprecision", 0, 0, rule, "no decision threshold set: not rated from the CI")
    if len(crossing) == 2 and threshold != null:
        change, finding = -2, f"the CI {ci_low:.3g} to {ci_high:.3g} crosses the null and the threshold"
    elif crossing:
        change, finding = -1, f"the CI {ci_low:.3g} to {ci_high:.3g} crosses the {crossing[0]}"
    elif participants is not None and ois is not None and participants < ois:
        change, finding = -1, f"{participants} participants, fewer than the optimal information size {ois}"
    else:
        change = 0
        finding = f"the CI {ci_low:.3g} to {ci_high:.3g} crosses neither threshold nor null"
        if participants is not None and ois is not None:
            finding += f"; {participants} participants >= optimal information size {ois}"
    return DomainRating("imprecision", change, change, rule, finding)


def rate_publication_bias(k: int, egger_p: float | None) -> DomainRating:
    rule = (f"only with k >= {PUBLICATION_BIAS_MIN_K} studies: rate down 1 when Egger's test gives "
            f"p < {EGGER_ALPHA:g} (an asymmetric funnel)")
    if k < PUBLICATION_BIAS_MIN_K:
        return DomainRating("publication_bias", 0, 0, rule, f"k = {k} < {PUBLICATION_BIAS_MIN_K}: not assessable")
    if egger_p is None or not np.isfinite(egger_p):
        return DomainRating("publication_bias", 0, 0, rule, "Egger's test not available")
    change = -1 if egger_p < EGGER_ALPHA else 0
    return DomainRating("publication_bias", change, change, rule,
                        f"Egger's test p = {egger_p:.3g}: funnel {'asymmetric' if change else 'not asymmetric'}")


def rate_large_effect(estimate: float, ci_low: float, ci_high: float, *, ratio: bool, log_scale: bool,
                      eligible: bool) -> DomainRating:
    rule = (f"for non-randomised evidence with no reason to rate down: rate up 1 when the ratio is >= "
            f"{LARGE_EFFECT:g} (or <= {1 / LARGE_EFFECT:g}) and its CI excludes 1, 2 when >= {VERY_LARGE_EFFECT:g} "
            f"(or <= {1 / VERY_LARGE_EFFECT:g})")
    if not ratio:
        return DomainRating("large_effect", 0, 0, rule, "not a ratio measure: not rated from the data")
    est, lo, hi = (np.exp([estimate, ci_low, ci_high]) if log_scale else (estimate, ci_low, ci_high))
    size = max(est, 1 / est)
    if not eligible:
        return DomainRating("large_effect", 0, 0, rule, f"ratio {est:.3g}: not considered (randomised, or rated down)")
    excludes_one = not (lo < 1 < hi)
    change = (2 if size >= VERY_LARGE_EFFECT else 1 if size >= LARGE_EFFECT else 0) if excludes_one else 0
    return DomainRating("large_effect", change, change, rule,
                        f"ratio {est:.3g} (CI {lo:.3g} to {hi:.3g})")


def grade(data: GradeInput) -> Certainty:
    """The GRADE certainty of one outcome: start high (randomised) or low (non-randomised), apply the five
    downgrading and, for non-randomised evidence without a downgrade, the three upgrading domains, then
    the overrides; the level is clamped to very low..high."""
    start = "high" if data.randomised else "low"
    start_rule = "randomised trials start high; non-randomised studies start low"
    down = [
        rate_risk_of_bias(data.weights, data.rob_levels),
        rate_inconsistency(data.k, data.i2, data.pi_low, data.pi_high, data.threshold, data.null),
        DomainRating("indirectness", 0, 0, "judged by the curator against the question (population, intervention, "
                     "comparator, outcome)", "not rated from the data"),
        rate_imprecision(data.ci_low, data.ci_high, data.threshold, data.null, data.participants,
                         data.optimal_information_size),
        rate_publication_bias(data.k, data.egger_p),
    ]
    overrides = {o.domain: o for o in data.overrides}
    down = [_apply(d, overrides) for d in down]
    eligible = not data.randomised and all(d.change == 0 for d in down)
    up = [
        rate_large_effect(data.estimate, data.ci_low, data.ci_high, ratio=data.ratio, log_scale=data.log_scale,
                          eligible=eligible),
        DomainRating("dose_response", 0, 0, "rate up 1 for a dose-response gradient (curator's judgement)",
                     "not rated from the data"),
        DomainRating("plausible_confounding", 0, 0, "rate up 1 when all plausible confounding would reduce the "
                     "effect shown (curator's judgement)", "not rated from the data"),
    ]
    up = [_apply(d, overrides) for d in up]
    total = LEVELS.index(start) + sum(d.change for d in down + up)
    level = LEVELS[int(np.clip(total, 0, len(LEVELS) - 1))]
    return Certainty(start, start_rule, tuple(down + up), level)


def _apply(rating: DomainRating, overrides: Mapping[str, Override]) -> DomainRating:
    o = overrides.get(rating.domain)
    return rating if o is None else replace(rating, change=o.change, override_reason=o.reason)
