"""from_outcomes(): tidy outcome rows to (yi, vi), or refused with the reason."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from netevidence.effects import effect_size, from_outcomes

COLUMNS = [
    "study_id", "study_name", "modality", "design", "data_cut", "endpoint", "qualifier", "subgroup", "arm",
    "comparator", "time", "time_unit", "statistic", "aggregation", "pooled_model", "k", "events", "n",
    "percent", "estimate", "ci_low", "ci_high", "ci_level", "p", "p_relation", "unit", "not_reached",
    "ci_high_not_reached", "low", "high", "source", "location", "source_kind", "verified", "note", "file", "line",
]


def _row(**values):
    row = {c: None for c in COLUMNS}
    row.update(study_id="S1", study_name="Study one", modality="TARE", design="retrospective",
               endpoint="response", arm="a", aggregation="primary", file="evidence/s1.yaml", line=10)
    row.update(values)
    return row


def _table(*rows):
    frame = pd.DataFrame([_row(**r) for r in rows], columns=COLUMNS)
    for col in ("k", "events", "n", "line"):
        frame[col] = pd.array(frame[col], dtype="Int64")
    for col in ("not_reached", "ci_high_not_reached", "verified"):
        frame[col] = pd.array(frame[col], dtype="boolean")
    for col in ("time", "percent", "estimate", "ci_low", "ci_high", "ci_level", "p", "low", "high"):
        frame[col] = pd.to_numeric(frame[col]).astype("float64")
    return frame


def test_count_row_maps_to_logit_by_default():
    out = from_outcomes(_table(dict(statistic="count", events=12, n=40)))
    ref = effect_size("PLO", events=[12], n=[40])
    assert out.loc[0, "yi"] == ref["yi"][0] and out.loc[0, "vi"] == ref["vi"][0]
    assert out.loc[0, "measure"] == "PLO" and out.loc[0, "derivation"] == "counts"
    assert out.loc[0, "correction"] == 0.0 and pd.isna(out.loc[0, "refused"])


def test_identifying_columns_and_index_are_kept():
    table = _table(dict(statistic="count", events=0, n=15, study_id="X9", line=44)).set_axis([7])
    out = from_outcomes(table)
    assert list(out.index) == [7]
    assert out.loc[7, "study_id"] == "X9" and out.loc[7, "line"] == 44 and out.loc[7, "file"] == "evidence/s1.yaml"
    assert out.loc[7, "correction"] == 0.5
    for col in ("yi", "vi", "measure", "correction", "derivation", "flags", "refused"):
        assert col in out.columns
    assert "percent" not in out.columns


def test_proportion_measure_choice_and_events_from_percent():
    table = _table(dict(statistic="proportion", percent=37.5, n=40))
    out = from_outcomes(table, measure="PFT")
    ref = effect_size("PFT", events=[15], n=[40])
    assert out.loc[0, "yi"] == pytest.approx(ref["yi"][0], rel=1e-15)
    assert out.loc[0, "flags"] == "events_from_percent"
    out = from_outcomes(table, measure={"proportion": "PR"})
    assert out.loc[0, "yi"] == pytest.approx(15 / 40)


def test_proportion_without_denominator_is_refused():
    out = from_outcomes(_table(dict(statistic="proportion", percent=37.5)))
    assert np.isnan(out.loc[0, "yi"]) and np.isnan(out.loc[0, "vi"])
    assert out.loc[0, "refused"] == "proportion without a denominator n"


def test_events_without_denominator_are_refused():
    out = from_outcomes(_table(dict(statistic="events", events=4), dict(statistic="events", events=4, n=20)))
    assert out.loc[0, "refused"] == "events without a denominator n"
    assert out.loc[1, "yi"] == effect_size("PLO", events=[4], n=[20])["yi"][0]


def test_hazard_ratio_from_ci_and_from_p():
    out = from_outcomes(_table(
        dict(statistic="hazard_ratio", estimate=0.72, ci_low=0.55, ci_high=0.94, ci_level=0.95, comparator="b"),
        dict(statistic="hazard_ratio", estimate=0.72, p=0.016, p_relation="=", comparator="b"),
        dict(statistic="hazard_ratio", estimate=0.72, p=0.001, p_relation="<", comparator="b"),
        dict(statistic="hazard_ratio", estimate=0.72, comparator="b"),
        dict(statistic="odds_ratio", estimate=2.1, ci_low=1.2, ci_high=3.6, ci_level=0.9, comparator="b"),
    ))
    by_ci = effect_size("HR", hr=[0.72], ci_low=[0.55], ci_high=[0.94])
    by_p = effect_size("HR", hr=[0.72], p=[0.016])
    assert out.loc[0, "vi"] == by_ci["vi"][0] and out.loc[0, "derivation"] == "ci"
    assert out.loc[1, "vi"] == by_p["vi"][0] and out.loc[1, "flags"] == "se_from_p"
    assert "p reported only as a bound (p < 0.001)" in out.loc[2, "refused"]
    assert out.loc[3, "refused"] == "hazard_ratio with neither a CI nor a p-value"
    z90 = 1.6448536269514722
    assert out.loc[4, "measure"] == "OR"
    assert out.loc[4, "vi"] == pytest.approx(((math.log(3.6) - math.log(1.2)) / (2 * z90)) ** 2, rel=1e-12)


def test_missing_ci_level_is_assumed_and_flagged():
    out = from_outcomes(_table(dict(statistic="hazard_ratio", estimate=0.8, ci_low=0.6, ci_high=1.05)))
    assert out.loc[0, "flags"] == "ci_level_assumed"
    assert out.loc[0, "vi"] == effect_size("HR", hr=[0.8], ci_low=[0.6], ci_high=[1.05])["vi"][0]


def test_median_rows():
    out = from_outcomes(_table(
        dict(statistic="median_time", estimate=14.2, ci_low=11.0, ci_high=18.9, ci_level=0.95, unit="months",
             not_reached=False, ci_high_not_reached=False),
        dict(statistic="median_time", estimate=22.0, ci_low=18.3, ci_level=0.95, unit="months",
             not_reached=False, ci_high_not_reached=True),
        dict(statistic="median_time", not_reached=True, ci_low=30.0, ci_high_not_reached=True),
        dict(statistic="median_time", estimate=9.5, unit="months", not_reached=False),
    ))
    ref = effect_size("MEDIAN", median=[14.2, 22.0], ci_low=[11.0, 18.3], ci_high=[18.9, np.nan],
                      ci_high_not_reached=[False, True])
    np.testing.assert_array_equal(out["vi"][:2].to_numpy(), ref["vi"].to_numpy())
    assert out.loc[1, "derivation"] == "ci_lower_only" and out.loc[1, "flags"] == "ci_high_not_reached"
    assert out.loc[2, "refused"] == "median not reached"
    assert out.loc[3, "refused"] == "median without a CI"


def test_survival_rows():
    out = from_outcomes(_table(
        dict(statistic="survival_at", time=3, time_unit="years", percent=62.0, ci_low=51.0, ci_high=73.0,
             ci_level=0.95),
        dict(statistic="survival_at", time=3, time_unit="years", percent=62.0),
    ))
    ref = effect_size("SURV", surv=[0.62], ci_low=[0.51], ci_high=[0.73])
    assert out.loc[0, "yi"] == pytest.approx(ref["yi"][0], rel=1e-15)
    assert out.loc[0, "vi"] == pytest.approx(ref["vi"][0], rel=1e-12)
    assert out.loc[0, "time"] == 3 and out.loc[0, "time_unit"] == "years"
    assert "survival without a CI" in out.loc[1, "refused"]


def test_survival_variance_ladder_in_the_bridge():
    rows = _table(
        dict(statistic="survival_at", time=3, time_unit="years", percent=62.0, ci_low=51.0, ci_high=73.0,
             ci_level=0.95, n=80),
        dict(statistic="survival_at", time=3, time_unit="years", percent=62.0, n=80),
        dict(statistic="survival_at", time=3, time_unit="years", percent=62.0, n=80),
    )
    rows["n_at_risk"] = [np.nan, np.nan, 31.0]  # an optional column, read when present
    strict = from_outcomes(rows)
    assert list(strict["derivation"].fillna("-")) == ["ci", "-", "-"]
    assert "allowed: ci" in strict.loc[1, "refused"]
    ladder = from_outcomes(rows, survival_variance=["ci", "greenwood", "n_at_risk", "n"])
    assert list(ladder["derivation"]) == ["ci", "n_no_censoring", "n_at_risk"]
    s = 0.62
    assert ladder.loc[1, "vi"] == pytest.approx((1 - s) / (80 * s * np.log(s) ** 2), rel=1e-12)
    assert ladder.loc[2, "vi"] == pytest.approx((1 - s) / (31 * np.log(s) ** 2), rel=1e-12)
    no_d = from_outcomes(rows, survival_variance=["ci", "greenwood", "n_at_risk"])
    assert list(no_d["derivation"].fillna("-")) == ["ci", "-", "n_at_risk"]
    with pytest.raises(ValueError, match="unknown survival variance source"):
        from_outcomes(rows, survival_variance=["guess"])


@pytest.mark.parametrize("row, reason", [
    (dict(statistic="median_of_studies", estimate=18.0, k=7, aggregation="median_of_studies"),
     "aggregation median_of_studies: a summary across studies has no within-study variance"),
    (dict(statistic="range", low=10.0, high=40.0, k=5, aggregation="range_of_studies"),
     "aggregation range_of_studies: a summary across studies has no within-study variance"),
    (dict(statistic="range", low=10.0, high=40.0), "range: a range has no variance"),
    (dict(statistic="p_value", p=0.03, p_relation="="), "p_value: a p-value alone has no effect estimate"),
    (dict(statistic="rmst", estimate=20.0, ci_low=15.0, ci_high=25.0),
     "rmst: restricted mean survival time is not an effect measure of this module"),
])
def test_rows_without_variance_are_refused(row, reason):
    out = from_outcomes(_table(row))
    assert out.loc[0, "refused"] == reason
    assert np.isnan(out.loc[0, "yi"]) and pd.isna(out.loc[0, "measure"])


def test_pooled_rows_are_computed_and_flagged():
    out = from_outcomes(_table(dict(statistic="proportion", percent=40.0, n=200, aggregation="pooled")))
    assert out.loc[0, "flags"] == "pooled_estimate;events_from_percent"
    assert np.isfinite(out.loc[0, "yi"])


def test_single_measure_refuses_other_statistics():
    out = from_outcomes(_table(dict(statistic="hazard_ratio", estimate=0.8, ci_low=0.6, ci_high=1.05)),
                        measure="PFT")
    assert out.loc[0, "refused"] == "measure PFT does not apply to a hazard_ratio row"


def test_invalid_numbers_raise_with_study_and_line_or_are_refused():
    table = _table(dict(statistic="count", events=50, n=40, study_id="BAD-1", line=12))
    with pytest.raises(ValueError, match=r"study 'BAD-1 at evidence/s1.yaml:12': events = 50 exceeds n = 40"):
        from_outcomes(table)
    out = from_outcomes(table, errors="refuse")
    assert out.loc[0, "refused"].startswith("invalid data: study 'BAD-1")
    with pytest.raises(ValueError, match="errors = 'ignore'"):
        from_outcomes(table, errors="ignore")


def test_extra_and_missing_columns_are_tolerated():
    table = pd.DataFrame({"statistic": ["count"], "events": [3], "n": [10], "year": [2019]})
    out = from_outcomes(table)
    assert list(out.columns[:1]) == ["statistic"] and out.loc[0, "measure"] == "PLO"
    with pytest.raises(ValueError, match="the column 'statistic' is required"):
        from_outcomes(pd.DataFrame({"events": [1]}))
