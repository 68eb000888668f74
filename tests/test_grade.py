"""GRADE certainty, rule by rule, on constructed data."""

import numpy as np
import pytest

from netevidence.appraisal import SYMBOLS, GradeInput, Override, grade, optimal_information_size


def base(**kw):
    """A precise, consistent body of 4 randomised trials at low risk (certainty high) to vary one rule at a time."""
    values = dict(randomised=True, estimate=-0.5, ci_low=-0.7, ci_high=-0.3, k=4, weights=[25, 25, 25, 25],
                  rob_levels=["low"] * 4, i2=10.0, pi_low=-0.8, pi_high=-0.2, threshold=-0.1, null=0.0,
                  participants=2000, optimal_information_size=800, egger_p=0.001, ratio=True, log_scale=True)
    values.update(kw)
    return GradeInput(**values)


def test_the_base_case_is_high_with_four_symbols():
    c = grade(base())
    assert (c.start, c.level, c.symbol) == ("high", "high", "⊕⊕⊕⊕")
    assert all(d.change == 0 for d in c.domains)
    assert list(SYMBOLS.values()) == ["⊕⊕⊕⊕", "⊕⊕⊕◯", "⊕⊕◯◯", "⊕◯◯◯"]


def test_non_randomised_evidence_starts_low():
    c = grade(base(randomised=False, estimate=-0.2, ci_low=-0.3, ci_high=-0.15))
    assert (c.start, c.level) == ("low", "low")


def test_risk_of_bias_from_the_weighted_share_of_high_risk_studies():
    # two small high-risk studies (20% of the weight): no downgrade
    c = grade(base(weights=[40, 40, 10, 10], rob_levels=["low", "low", "high", "high"]))
    assert c.domain("risk_of_bias").change == 0
    assert "20% of the weight at high or critical risk" in c.domain("risk_of_bias").finding
    # the same two studies carrying 60% of the weight: down one
    c = grade(base(weights=[20, 20, 30, 30], rob_levels=["low", "low", "high", "critical"]))
    assert c.domain("risk_of_bias").change == -1 and c.level == "moderate"
    # critical risk for half the weight: down two
    c = grade(base(weights=[25, 25, 25, 25], rob_levels=["low", "high", "critical", "critical"]))
    assert c.domain("risk_of_bias").change == -2 and c.level == "low"


def test_i2_80_with_a_prediction_interval_crossing_the_threshold_rates_inconsistency_down_one():
    c = grade(base(i2=80.0, pi_low=-0.9, pi_high=-0.05))  # crosses -0.1 (the threshold), not 0
    r = c.domain("inconsistency")
    assert r.change == -1 and "crosses -0.1" in r.finding and "I² = 80%" in r.finding
    assert c.level == "moderate"


def test_inconsistency_needs_both_high_i2_and_a_crossing_interval():
    assert grade(base(i2=80.0, pi_low=-0.9, pi_high=-0.15)).domain("inconsistency").change == 0  # PI clear
    assert grade(base(i2=40.0, pi_low=-0.9, pi_high=0.3)).domain("inconsistency").change == 0   # I² low
    assert grade(base(i2=95.0, pi_low=-0.9, pi_high=0.3)).domain("inconsistency").change == -2
    assert grade(base(k=1, i2=np.nan)).domain("inconsistency").finding == "a single study: not rated"


def test_imprecision_from_the_ci_against_the_threshold_and_the_ois():
    assert grade(base(ci_low=-0.6, ci_high=-0.05)).domain("imprecision").change == -1      # crosses threshold
    assert grade(base(ci_low=-0.6, ci_high=0.2)).domain("imprecision").change == -2        # and the null
    r = grade(base(participants=300)).domain("imprecision")                               # CI fine, OIS not met
    assert r.change == -1 and "fewer than the optimal information size 800" in r.finding
    assert grade(base(participants=900)).domain("imprecision").change == 0


def test_k_4_never_rates_publication_bias_from_egger():
    r = grade(base(k=4, egger_p=1e-9)).domain("publication_bias")
    assert r.change == 0 and r.finding == "k = 4 < 10: not assessable"


def test_with_ten_studies_egger_decides_publication_bias():
    ten = dict(k=10, weights=[10] * 10, rob_levels=["low"] * 10)
    assert grade(base(egger_p=0.04, **ten)).domain("publication_bias").change == -1
    assert grade(base(egger_p=0.40, **ten)).domain("publication_bias").change == 0


def test_large_effect_rates_up_non_randomised_evidence_without_downgrades():
    hr = dict(randomised=False, ratio=True, log_scale=True, null=0.0, threshold=None)
    c = grade(base(estimate=np.log(0.3), ci_low=np.log(0.2), ci_high=np.log(0.45), **hr))
    assert c.domain("large_effect").change == 1 and c.level == "moderate"
    c = grade(base(estimate=np.log(0.15), ci_low=np.log(0.1), ci_high=np.log(0.19), **hr))
    assert c.domain("large_effect").change == 2 and c.level == "high"
    # a downgrade elsewhere (risk of bias) removes the upgrade
    c = grade(base(estimate=np.log(0.15), ci_low=np.log(0.1), ci_high=np.log(0.19),
                   rob_levels=["high"] * 4, **hr))
    assert c.domain("large_effect").change == 0 and c.level == "very_low"
    # randomised evidence is never rated up
    assert grade(base(estimate=np.log(0.15), ci_low=np.log(0.1), ci_high=np.log(0.19))).domain("large_effect").change == 0


def test_overrides_replace_the_proposal_and_keep_their_reason():
    o = Override("indirectness", -1, "Trial population had midgut NETs only.")
    c = grade(base(overrides=(o,)))
    r = c.domain("indirectness")
    assert (r.proposed, r.change, r.override_reason) == (0, -1, "Trial population had midgut NETs only.")
    assert c.level == "moderate"
    frame = c.to_frame()
    assert frame.loc[frame.domain == "indirectness", "override_reason"].item() == o.reason
    with pytest.raises(ValueError, match="needs a reason"):
        Override("imprecision", -1, " ")
    with pytest.raises(ValueError, match="can only rate down"):
        Override("imprecision", 1, "x")
    with pytest.raises(ValueError, match="unknown GRADE domain"):
        Override("bias", -1, "x")


def test_levels_are_clamped_to_very_low():
    c = grade(base(randomised=False, ci_low=-0.6, ci_high=0.2, i2=95.0, pi_low=-1, pi_high=1,
                   rob_levels=["critical"] * 4))
    assert c.level == "very_low" and c.symbol == "⊕◯◯◯"


def test_optimal_information_size_matches_the_closed_form():
    # p0 = 0.2, RRR = 0.25 -> p1 = 0.15; (1.959964 + 0.841621)^2 * (0.16 + 0.1275) / 0.05^2 = 902.6 per arm
    z = 1.959963984540054 + 0.8416212335729143
    per_arm = z ** 2 * (0.2 * 0.8 + 0.15 * 0.85) / 0.05 ** 2
    assert optimal_information_size(0.2, 0.25) == 2 * int(np.ceil(per_arm)) == 1806
