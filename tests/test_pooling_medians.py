"""Median of medians (McGrath et al. 2019) with sign-test intervals; not-reached medians kept."""

from __future__ import annotations

import numpy as np
import pytest

from netevidence.pooling import median_of_medians

# the study-level values of the example in metamedian's pool.med() documentation
Y9 = np.array([5.23, 3.10, 0.50, 0.78, 3.48, 0.59, 2.20, 5.06, 4.00])
# sorted: 0.50 0.59 0.78 2.20 3.10 3.48 4.00 5.06 5.23


def test_exact_interval_by_hand():
    res = median_of_medians(Y9)
    assert res.estimate == 3.10 and res.status == "determined"
    # Binomial(9, 1/2): P(B <= 1) = 10/512 -> coverage 1 - 20/512 = 0.9609 >= 0.95; P(B <= 2) = 46/512
    # -> 0.8203 < 0.95; so T = 1 and the interval is [m_(2), m_(8)]
    assert res.coverage == pytest.approx(1 - 20 / 512, abs=1e-15)
    assert (res.ci_low, res.ci_high) == (0.59, 5.06)
    assert (res.order_low, res.order_high) == (2.0, 8.0)


def test_normal_approximation_by_hand():
    res = median_of_medians(Y9, ci="normal")
    half = 1.959963984540054 / (2 * 3)                    # z / (2 sqrt(k)), k = 9
    r_lo, r_hi = 1 + 8 * (0.5 - half), 1 + 8 * (0.5 + half)  # type-7 ranks 2.3867 and 7.6133
    assert res.ci_low == pytest.approx(0.59 + (r_lo - 2) * (0.78 - 0.59), rel=1e-13)
    assert res.ci_high == pytest.approx(4.00 + (r_hi - 7) * (5.06 - 4.00), rel=1e-13)
    assert res.ci_low == pytest.approx(np.quantile(Y9, 0.5 - half), rel=1e-13)
    assert res.coverage == 0.95


def test_even_k_median_is_the_mean_of_the_middle_pair():
    res = median_of_medians([12.0, 30.0, 18.0, 24.0, 40.0, 8.0])
    assert res.estimate == pytest.approx(21.0)
    # k = 6: T = 0 gives 1 - 2/64 = 0.96875, the range
    assert (res.ci_low, res.ci_high, res.coverage) == (8.0, 40.0, 1 - 2 / 64)


def test_few_studies_report_the_range_with_its_real_coverage():
    res = median_of_medians([14.0, 22.0, 31.0])
    assert (res.ci_low, res.ci_high) == (14.0, 31.0)
    assert res.coverage == pytest.approx(0.75)
    assert "no order-statistic interval reaches 95%" in res.summary()


def test_exact_coverage_holds_by_simulation():
    rng = np.random.default_rng(11)
    for k in (7, 10, 15):
        draws = rng.exponential(scale=20.0, size=(4000, k))  # true median 20 log 2
        truth = 20.0 * np.log(2)
        fits = [median_of_medians(row) for row in draws[:1500]]
        hits = [fit.ci_low <= truth <= fit.ci_high for fit in fits]
        coverage = median_of_medians(draws[0]).coverage
        assert abs(np.mean(hits) - coverage) < 3.5 * np.sqrt(coverage * (1 - coverage) / 1500)


def test_not_reached_median_above_the_middle_leaves_the_estimate_determined():
    res = median_of_medians([10.0, 14.0, 20.0, 25.0, 60.0], not_reached=[0, 0, 0, 0, 1],
                            labels=["a", "b", "c", "d", "e"])
    assert res.status == "determined" and res.estimate == 20.0
    assert res.k_not_reached == 1
    # k = 5: the range; its top is the not-reached median, so the upper limit is not reached
    assert res.ci_low == 10.0 and np.isinf(res.ci_high)
    frame = res.to_frame()
    assert list(frame["study"]) == ["a", "b", "c", "d", "e", "median of medians"]
    assert frame.loc[4, "shown_as"] == "> 60 (not reached)"
    assert "CI 10 to not reached" in res.describe()


def test_not_reached_median_with_short_follow_up_bounds_the_estimate():
    res = median_of_medians([10.0, 14.0, 20.0, 25.0, 12.0], not_reached=[0, 0, 0, 0, 1])
    # at its bound (12) the middle value is 14; at +inf it is 20: only the range is known
    assert res.status == "bounded" and np.isnan(res.estimate)
    assert (res.estimate_low, res.estimate_high) == (14.0, 20.0)
    assert res.describe().startswith("between 14 and 20")


def test_pooled_median_not_reached():
    res = median_of_medians([30.0, 40.0, 50.0], not_reached=[1, 1, 0])
    assert res.status == "not reached" and np.isinf(res.estimate_high) and res.estimate_low == 40.0
    assert res.describe().startswith("not reached (> 40)")


def test_unknown_lower_bound_is_kept():
    res = median_of_medians([30.0, np.nan, 50.0, 44.0], not_reached=[0, 1, 0, 0])
    assert res.k_not_reached == 1 and res.k == 4
    assert res.ci_low == -np.inf


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(medians=[]), "k = 0"),
        (dict(medians=[1.0, np.nan]), "study 1: median must be finite"),
        (dict(medians=[1.0, 2.0], not_reached=[True]), "one entry per study"),
        (dict(medians=[1.0, 2.0], ci="wald"), "ci must be one of"),
        (dict(medians=[1.0, np.inf], not_reached=[0, 1]), "lower bound of a not-reached median"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        median_of_medians(kwargs.pop("medians"), **kwargs)
