"""effect_size() and back_transform() against metafor's escalc() / transf.* (tests/reference/effects.R)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netevidence.effects import back_transform, effect_size

REF = json.loads((Path(__file__).parent / "reference" / "effects.json").read_text())
CASES = REF["cases"]
_SPECIAL = {"NA": math.nan, "NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf}


def _num(values):
    values = values if isinstance(values, list) else [values]
    return np.array([_SPECIAL[v] if isinstance(v, str) else v for v in values], dtype=float)


def _assert_close(actual, expected, rtol=1e-6):
    actual, expected = np.asarray(actual, float), _num(expected)
    assert actual.shape == expected.shape
    assert np.array_equal(np.isnan(actual), np.isnan(expected))
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(actual[ok], expected[ok], rtol=rtol, atol=1e-13)


EFFECT_CASES = [c for c in CASES if "inputs" in c]
TRANSF_CASES = [c for c in CASES if "x" in c]
PREDICT_CASES = [c for c in CASES if "predict_inputs" in c]


@pytest.mark.parametrize("case", EFFECT_CASES, ids=[c["name"] for c in EFFECT_CASES])
def test_effect_size_matches_metafor(case):
    inputs = dict(case["inputs"])
    measure = inputs.pop("measure")
    for key, value in list(inputs.items()):
        if key in ("add", "to", "drop00", "level", "ci_scale"):
            continue
        inputs[key] = _num(value) if key != "ci_high_not_reached" else np.atleast_1d(value)
    out = effect_size(measure, **inputs)
    _assert_close(out["yi"].to_numpy(), case["yi"])
    _assert_close(out["vi"].to_numpy(), case["vi"])
    assert (out["measure"] == measure).all()


@pytest.mark.parametrize("case", TRANSF_CASES, ids=[c["name"] for c in TRANSF_CASES])
def test_back_transform_matches_metafor(case):
    info = {"n": case["ni"]} if case["measure"] == "PFT" else {}
    f = back_transform(case["measure"], **info)
    _assert_close(f(np.array(case["x"], float)), case["value"], rtol=1e-9)


@pytest.mark.parametrize("case", PREDICT_CASES, ids=[c["name"] for c in PREDICT_CASES])
def test_back_transform_through_pooled_prediction(case):
    from netevidence.pooling import pool

    inputs = {k: _num(v) for k, v in case["predict_inputs"].items()}
    es = effect_size(case["measure"], **inputs)
    info = {"n": inputs["n"]} if case["measure"] == "PFT" else {}
    pred = pool(es["yi"].to_numpy(), es["vi"].to_numpy()).predict(transf=back_transform(case["measure"], **info))
    for field in ("pred", "ci_low", "ci_high", "pi_low", "pi_high"):
        assert getattr(pred, field) == pytest.approx(case[field], rel=1e-6)


def test_reference_records_conv_wald_availability():
    # the HR reference uses conv.wald() only when the installed metafor has it; the call string says which
    hr = next(c for c in CASES if c["name"] == "hr_from_ci")
    assert ("conv.wald" in hr["call"]) == REF["meta"]["conv_wald_available"]


# ---- continuity corrections are reported ----------------------------------------------------

def test_frame_columns_and_scalar_inputs():
    out = effect_size("MEDIAN", median=22.0, ci_low=18.3, ci_high=np.nan, ci_high_not_reached=True)
    assert list(out.columns) == ["yi", "vi", "measure", "correction", "derivation", "flags"]
    assert out["flags"].tolist() == ["ci_high_not_reached"]
    with pytest.raises(ValueError, match=r"mismatched lengths: ci_high_not_reached has 2"):
        effect_size("MEDIAN", median=[22.0], ci_low=[18.3], ci_high=[30.0], ci_high_not_reached=[True, False])


def test_correction_reported_only_where_needed():
    out = effect_size("PLO", events=[0, 3, 10, 7], n=[12, 20, 10, 7])
    assert out["correction"].tolist() == [0.5, 0.0, 0.5, 0.5]
    assert (out["derivation"] == "counts").all()


def test_arcsine_measures_have_no_default_correction():
    out = effect_size("PFT", events=[0, 10], n=[12, 10])
    assert out["correction"].tolist() == [0.0, 0.0]
    out = effect_size("PAS", events=[0, 10], n=[12, 10], add=0.5)
    assert out["correction"].tolist() == [0.5, 0.5]


def test_if0all_and_all_and_none():
    assert effect_size("OR", events1=[0, 4], n1=[10, 10], events2=[2, 3], n2=[10, 10],
                       to="if0all")["correction"].tolist() == [0.5, 0.5]
    assert effect_size("OR", events1=[1, 4], n1=[10, 10], events2=[2, 3], n2=[10, 10],
                       to="if0all")["correction"].tolist() == [0.0, 0.0]
    assert effect_size("RR", events1=[1, 4], n1=[10, 10], events2=[2, 3], n2=[10, 10], to="all",
                       add=1)["correction"].tolist() == [1.0, 1.0]
    assert effect_size("RD", events1=[0], n1=[10], events2=[2], n2=[10], to="none")["correction"].tolist() == [0.0]


def test_drop00_flags_double_zero_studies():
    out = effect_size("RR", events1=[0, 1, 5], n1=[10, 10, 5], events2=[0, 2, 8], n2=[12, 9, 8], drop00=True)
    assert out["flags"].tolist() == ["double_zero_dropped", None, "double_zero_dropped"]
    assert np.isnan(out["yi"][0]) and np.isnan(out["vi"][2]) and np.isfinite(out["yi"][1])


def test_undefined_without_correction_is_an_error():
    with pytest.raises(ValueError, match=r"study 0: PLO is undefined without a continuity correction"):
        effect_size("PLO", events=[0, 3], n=[10, 10], to="none")
    with pytest.raises(ValueError, match=r"study 1: OR is undefined"):
        effect_size("OR", events1=[2, 0], n1=[10, 10], events2=[3, 4], n2=[10, 10], to="none")


# ---- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("measure, data, pattern", [
    ("PR", dict(events=[1, 2], n=[10, 10, 10]), r"mismatched lengths: events has 2, n has 3"),
    ("PLO", dict(events=[1, np.nan], n=[10, 10]), r"study 1: events is nan \(values must be finite"),
    ("PLO", dict(events=[1, 12], n=[10, 10]), r"study 1: events = 12 exceeds n = 10 \(events must not exceed n\)"),
    ("PLO", dict(events=[-1, 2], n=[10, 10]), r"study 0: events = -1 is negative \(counts must be >= 0\)"),
    ("PLO", dict(events=[0, 0], n=[10, 0]), r"study 1: n = 0 is not positive"),
    ("OR", dict(events1=[1], n1=[10], events2=[11], n2=[10]), r"study 0: events2 = 11 exceeds n2 = 10"),
    ("HR", dict(hr=[0.8, 0.9], ci_low=[0.6, 0.0], ci_high=[1.0, 1.2]),
     r"study 1: ci_low = 0 is not positive \(CI limits of a ratio must be > 0\)"),
    ("HR", dict(hr=[0.8, -0.9], ci_low=[0.6, 0.5], ci_high=[1.0, 1.2]), r"study 1: hr = -0.9 is not positive"),
    ("HR", dict(hr=[0.8, 1.5], ci_low=[0.6, 0.5], ci_high=[1.0, 1.2]),
     r"study 1: estimate = 1.5 lies outside its CI"),
    ("HR", dict(hr=[0.8], p=[1.2]), r"study 0: p = 1.2 must lie strictly between 0 and 1"),
    ("HR", dict(hr=[1.0], p=[0.5]), r"study 0: hr = 1 gives log ratio 0"),
    ("HR", dict(o_minus_e=[1.0, 2.0], v=[3.0, -1.0]), r"study 1: v = -1 is not positive"),
    ("SURV", dict(surv=[0.5, 1.2], ci_low=[0.4, 0.3], ci_high=[0.6, 0.9]),
     r"study 1: surv = 1.2 lies outside \[0, 1\]"),
    ("SURV", dict(surv=[0.5, 0.6], ci_low=[0.4, -0.1], ci_high=[0.6, 0.9]),
     r"study 1: ci_low = -0.1 lies outside \[0, 1\]"),
    ("SURV", dict(surv=[0.5], n_at_risk=[0]), r"study 0: n_at_risk = 0 is not positive"),
    ("MEDIAN", dict(median=[12.0, 10.0], ci_low=[9.0, 8.0], ci_high=[15.0, np.nan]),
     r"study 1: ci_high is nan .*ci_high_not_reached=True"),
    ("MEDIAN", dict(median=[12.0], ci_low=[0.0], ci_high=[15.0]), r"study 0: ci_low = 0 is not positive"),
    ("PR", dict(events=[], n=[]), r"k = 0"),
    ("PLO", dict(events=[2.5], n=[10]), r"study 0: events = 2.5 is not a whole number"),
    ("PLO", dict(events=[2], n=[10.5]), r"study 0: n = 10.5 is not a whole number"),
    ("OR", dict(events1=[1], n1=[10], events2=[0.5], n2=[10]), r"study 0: events2 = 0.5 is not a whole number"),
    ("PLO", dict(events=True, n=10), r"events: values must be numbers, got true/false"),
    ("PLO", dict(events=[1, True], n=[10, 10]), r"events: values must be numbers, got true/false"),
    ("PLO", dict(events=["3"], n=[10]), r"events: values must be numbers, got str '3'"),
    ("HR", dict(hr=["0.8"], p=[0.01]), r"hr: values must be numbers, got str '0.8'"),
    ("PLO", dict(events=[3], n=[10], level=2), r"level = 2.0 must lie strictly between 0 and 1"),
    ("HR", dict(hr=[0.8], p=[0.01], level=0), r"level = 0.0 must lie strictly between 0 and 1"),
])
def test_bad_input_names_study_and_rule(measure, data, pattern):
    with pytest.raises(ValueError, match=pattern):
        effect_size(measure, **data)


def test_ids_name_the_study():
    with pytest.raises(ValueError, match=r"study 'B-02': events = 12 exceeds n = 10"):
        effect_size("PLO", events=[1, 12], n=[10, 10], ids=["A-01", "B-02"])


def test_wrong_data_or_options_for_measure():
    with pytest.raises(ValueError, match=r"HR takes the data"):
        effect_size("HR", hr=[0.8], ci_low=[0.6], ci_high=[1.0], p=[0.03])
    with pytest.raises(ValueError, match=r"unknown measure 'XYZ'"):
        effect_size("XYZ", events=[1], n=[2])
    with pytest.raises(ValueError, match=r"add= and to= apply to count measures only"):
        effect_size("HR", hr=[0.8], p=[0.03], add=0.5)
    with pytest.raises(ValueError, match=r"to = 'some' must be one of"):
        effect_size("PLO", events=[1], n=[2], to="some")
    with pytest.raises(ValueError, match=r"drop00= applies to two-group measures only"):
        effect_size("PLO", events=[1], n=[2], drop00=True)


# ---- survival-specific behaviour ----------------------------------------------------------------

def test_median_upper_limit_not_reached_uses_lower_half_and_flags():
    out = effect_size("MEDIAN", median=[22.0, 14.2], ci_low=[18.3, 11.0], ci_high=[np.nan, 18.9],
                      ci_high_not_reached=[True, False])
    z = 1.959963984540054
    assert out["vi"][0] == pytest.approx(((math.log(22.0) - math.log(18.3)) / z) ** 2, rel=1e-12)
    assert out["derivation"].tolist() == ["ci_lower_only", "ci"]
    assert out["flags"].tolist() == ["ci_high_not_reached", None]
    # an infinite upper limit means the same thing
    inf = effect_size("MEDIAN", median=[22.0], ci_low=[18.3], ci_high=[np.inf])
    assert inf["vi"][0] == out["vi"][0]


def test_rom_surv_flags_open_interval_in_either_arm():
    out = effect_size("ROM_SURV", median1=[20.0], ci_low1=[15.0], ci_high1=[np.nan], median2=[12.0],
                      ci_low2=[9.8], ci_high2=[16.0], ci_high_not_reached1=[True])
    assert out["flags"].tolist() == ["ci_high_not_reached"]
    assert out["yi"][0] == pytest.approx(math.log(20.0 / 12.0))


def test_hr_level_changes_variance():
    a = effect_size("HR", hr=[0.7], ci_low=[0.5], ci_high=[0.98], level=0.95)["vi"][0]
    b = effect_size("HR", hr=[0.7], ci_low=[0.5], ci_high=[0.98], level=0.90)["vi"][0]
    assert b > a


# ---- properties -----------------------------------------------------------------------------------

counts = st.integers(min_value=1, max_value=500).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n)))


@settings(max_examples=60, deadline=None)
@given(counts)
def test_logit_is_antisymmetric_and_back_transform_inverts(xn):
    x, n = xn
    a = effect_size("PLO", events=[x], n=[n])
    b = effect_size("PLO", events=[n - x], n=[n])
    assert a["yi"][0] == pytest.approx(-b["yi"][0], abs=1e-12)
    assert a["vi"][0] == pytest.approx(b["vi"][0], rel=1e-12)
    c = a["correction"][0]
    assert back_transform("PLO")(a["yi"].to_numpy())[0] == pytest.approx((x + c) / (n + 2 * c), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(counts)
def test_arcsine_back_transform_inverts(xn):
    x, n = xn
    out = effect_size("PAS", events=[x], n=[n])
    assert back_transform("PAS")(out["yi"].to_numpy())[0] == pytest.approx(x / n, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=0.05, max_value=20.0), st.floats(min_value=0.01, max_value=1.0),
       st.floats(min_value=0.5, max_value=0.99))
def test_hr_ci_round_trip(hr, half_width, level):
    lo, hi = hr * math.exp(-half_width), hr * math.exp(half_width)
    out = effect_size("HR", hr=[hr], ci_low=[lo], ci_high=[hi], level=level)
    from scipy.stats import norm
    z = norm.isf((1 - level) / 2)
    se = math.sqrt(out["vi"][0])
    assert math.exp(out["yi"][0] + z * se) == pytest.approx(hi, rel=1e-10)
    # the p-value of that Wald interval gives back the same standard error
    p = 2 * norm.sf(abs(math.log(hr)) / se)
    if 1e-12 < p < 1 - 1e-9 and abs(math.log(hr)) > 1e-6:
        via_p = effect_size("HR", hr=[hr], p=[p])
        assert via_p["vi"][0] == pytest.approx(out["vi"][0], rel=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=0.01, max_value=0.99))
def test_surv_back_transform_inverts(s):
    out = effect_size("SURV", surv=[s], n_at_risk=[50])
    assert back_transform("SURV")(out["yi"].to_numpy())[0] == pytest.approx(s, rel=1e-12)


def test_back_transform_errors():
    with pytest.raises(ValueError, match=r"PFT back-transform needs n="):
        back_transform("PFT")
    with pytest.raises(ValueError, match=r"has no back-transform"):
        back_transform("SMD")
    with pytest.raises(ValueError, match=r"takes no arguments"):
        back_transform("PLO", n=[10])


def test_back_transform_identity_and_exp():
    x = np.array([-0.5, 0.0, 0.25])
    np.testing.assert_array_equal(back_transform("RD")(x), x)
    np.testing.assert_allclose(back_transform("HR")(x), np.exp(x), rtol=0)
    assert back_transform("MEDIAN") is back_transform("ROM_SURV")


def test_frame_is_a_copy_of_immutable_result():
    from netevidence.effects import compute
    res = compute("PLO", events=[1, 2], n=[10, 10])
    with pytest.raises(ValueError):
        res.yi[0] = 1.0
    frame = res.to_frame()
    frame.loc[0, "yi"] = 99.0
    assert res.yi[0] != 99.0


def test_every_measure_has_one_set_of_reporting_facts():
    from netevidence.effects import MEASURE_FACTS, NULL_VALUES, back_transform, measure_facts

    for m, facts in MEASURE_FACTS.items():
        if m != "PFT":
            back_transform(m)                     # every measure with facts has a back-transform
        if facts.null is not None:
            assert facts.null == NULL_VALUES["ratio"] or m == "RD"
            # the null on the reporting scale is the back-transform of 0 on the analysis scale
            assert float(back_transform(m)(0.0)) == facts.null
    assert measure_facts("HR").lower_favours_arm is True and measure_facts("OR").lower_favours_arm is None
    with pytest.raises(ValueError, match="unknown measure 'XX'"):
        measure_facts("XX")
