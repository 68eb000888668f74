"""pool(), the tau^2 estimators and the Q-profile intervals against metafor (tests/reference/pooling.R)."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from netevidence.pooling import estimate_tau2, pool, tau2_confint
from netevidence.pooling._kernel import loglik

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "pooling_reference.json").read_text())
CONV = json.loads((REF_DIR / "pooling_convergence.json").read_text())
DATA = {d["name"]: (np.asarray(d["yi"], float), np.asarray(d["vi"], float)) for d in REF["datasets"]}
METHODS = ["EE", "DL", "HE", "HS", "SJ", "ML", "REML", "PM", "EB"]
RTOL = 1e-6

FIELDS = ["estimate", "se", "ci_low", "ci_high", "statistic", "pval", "tau2", "i2", "h2", "q", "q_pval",
          "pi_low", "pi_high"]
CI_FIELDS = ["tau2_ci_low", "tau2_ci_high", "i2_ci_low", "i2_ci_high", "h2_ci_low", "h2_ci_high"]


def assert_close(actual, expected, what, rtol=RTOL):
    """Relative tolerance; a reference that is exactly 0 must be matched within 1e-12."""
    actual = np.atleast_1d(np.asarray(actual, float))
    expected = np.atleast_1d(np.asarray(expected, float))
    assert actual.shape == expected.shape, what
    zero = expected == 0
    assert np.all(np.abs(actual[zero]) <= 1e-12), f"{what}: {actual[zero]} should be 0"
    rel = np.abs(actual[~zero] - expected[~zero]) / np.abs(expected[~zero])
    assert np.all(rel <= rtol), f"{what}: {actual} vs metafor {expected} (max rel {rel.max():.3g})"


def fit_id(f):
    return f"{f['dataset']}-{f['method']}-{f['test']}-{f['level']}" + ("" if f["tau2_fixed"] is None else "-fixed")


def check_fit(f, rtol=RTOL, skip=()):
    yi, vi = DATA[f["dataset"]]
    kw = dict(method=f["method"], ci=f["test"], level=f["level"], tau2=f["tau2_fixed"])
    r = pool(yi, vi, **kw)
    h = pool(yi, vi, pi="hts", **kw)
    where = f["call"]
    for name in FIELDS:
        if name in skip:
            continue
        if f[name] is None and name.startswith("pi_") and f["method"] == "EE":
            continue
        assert_close(getattr(r, name), f[name], f"{name} of {where}", rtol)
    if f["method"] == "EE":
        # metafor's predict() gives no prediction interval for EE fits; ours is the CI (tau^2 = 0)
        # and, for pi="hts", the t(k - 1) interval.
        assert f["pi_low"] is None and (r.pi_low, r.pi_high) == (r.ci_low, r.ci_high)
        assert_close(h.pi_high - h.estimate, special.stdtrit(len(yi) - 1, 1 - (1 - f["level"]) / 2) * r.se, where)
    else:
        assert_close(h.pi_low, f["hts_pi_low"], f"HTS pi_low of {where}", rtol)
        assert_close(h.pi_high, f["hts_pi_high"], f"HTS pi_high of {where}", rtol)
    assert_close(r.weights, f["weights"], f"weights of {where}", rtol)
    if f["method"] != "EE" and f["tau2_fixed"] is None:
        assert_close(r.tau2_se, f["tau2_se"], f"tau2_se of {where}", rtol)
    if "confint_call" in f:
        for name in CI_FIELDS:
            assert_close(getattr(r, name), f[name], f"{name} of {f['confint_call']} after {where}", rtol)
    assert r.converged


@pytest.mark.parametrize("f", REF["fits"], ids=[fit_id(f) for f in REF["fits"]])
def test_matches_metafor(f):
    check_fit(f)


def test_reference_covers_the_brief():
    """Every estimator x every CI method on each data set, including k = 2 and k = 3."""
    seen = {(f["dataset"], f["method"], f["test"]) for f in REF["fits"]}
    assert len(REF["datasets"]) >= 12
    for d in REF["datasets"]:
        for m in METHODS:
            for t in ("z", "knha", "adhoc"):
                assert (d["name"], m, t) in seen
    sizes = {len(d["yi"]) for d in REF["datasets"]}
    assert {2, 3} <= sizes
    assert sum("confint_call" in f for f in REF["fits"]) > 300


ITERATIVE = {"ML", "REML", "PM", "EB"}
DEFAULTS_EXACT = [f for f in REF["default_control"] if f["method"] not in ITERATIVE]
DEFAULTS_ITER = [f for f in REF["default_control"] if f["method"] in ITERATIVE]


@pytest.mark.parametrize("f", DEFAULTS_EXACT, ids=[fit_id(f) for f in DEFAULTS_EXACT])
def test_matches_metafor_default_control_closed_form(f):
    check_fit(f)


@pytest.mark.parametrize("f", DEFAULTS_ITER, ids=[fit_id(f) for f in DEFAULTS_ITER])
def test_matches_metafor_default_control_iterative(f):
    # metafor's defaults stop ML/REML/EB when tau^2 changes by < 1e-5 and PM when uniroot's interval
    # is < 1.2e-4 wide, so its own results carry errors up to ~5e-3 relative (pooling.md). p-values
    # as small as 1e-32 magnify that further; the test statistic they derive from is compared instead.
    check_fit(f, rtol=1e-2, skip=("pval",))


@pytest.mark.parametrize("f", REF["k1"], ids=[f"k1-{f['method']}-{f['test']}" for f in REF["k1"]])
def test_single_study_matches_metafor(f):
    r = pool([f["yi"]], [f["vi"]], method=f["method"], ci=f["test"])
    for name in ["estimate", "se", "ci_low", "ci_high", "statistic", "pval", "tau2", "i2", "h2", "q", "q_pval"]:
        assert_close(getattr(r, name), f[name], f"{name} of {f['call']}")
    if f["pi_low"] is not None:
        assert_close([r.pi_low, r.pi_high], [f["pi_low"], f["pi_high"]], f"PI of {f['call']}")
    assert r.k == 1 and r.ci == "z" and r.q_df == 0
    assert (r.tau2_ci_low, r.tau2_ci_high, r.i2_ci_low, r.i2_ci_high) == (0.0, math.inf, 0.0, 100.0)
    assert (r.h2_ci_low, r.h2_ci_high) == (1.0, math.inf)
    assert list(r.weights) == [100.0]


TRANSF = {"exp": np.exp, "transf.ilogit": special.expit, "transf.ztor": np.tanh}


@pytest.mark.parametrize("f", REF["transf"], ids=[f"{f['dataset']}-{f['transf']}" for f in REF["transf"]])
def test_back_transformed_prediction(f):
    yi, vi = DATA[f["dataset"]]
    p = pool(yi, vi, method=f["method"], ci=f["test"]).predict(transf=TRANSF[f["transf"]])
    for name in ["pred", "ci_low", "ci_high", "pi_low", "pi_high"]:
        assert_close(getattr(p, name), f[name], f"{name} of {f['call']}")


def test_decreasing_transf_keeps_bounds_ordered():
    yi, vi = DATA["bcg"]
    r = pool(yi, vi)
    p = r.predict(transf=lambda x: -x)
    assert p.ci_low == -r.ci_high and p.ci_high == -r.ci_low
    assert p.pi_low == -r.pi_high and p.pi_high == -r.pi_low
    assert r.predict() == type(p)(r.estimate, r.ci_low, r.ci_high, r.pi_low, r.pi_high)


# --------------------------------------------------------------------------- convergence


def test_reference_has_metafor_failures():
    assert CONV["n_failures"] > 0 and len(CONV["failures"]) >= 10
    assert all("did not converge" in f["default_error"] for f in CONV["failures"])


@pytest.mark.parametrize("f", CONV["failures"], ids=[f"set{f['index']}" for f in CONV["failures"]])
def test_reml_converges_where_fisher_scoring_fails(f):
    yi, vi = np.asarray(f["yi"]), np.asarray(f["vi"])
    r = pool(yi, vi, method="REML")
    assert r.converged
    assert_close(r.tau2, f["stepadj_tau2"], f"tau2 vs {f['stepadj_call']}")
    # metafor's REML log-likelihood adds log|X'X|/2 = log(k)/2 for an intercept-only model.
    ll = float(loglik(yi[None], vi[None], np.array([r.tau2]), True)[0]) + 0.5 * math.log(yi.size)
    assert ll >= f["profile_ll"] - 1e-9
    assert ll >= f["grid_max_ll"] - 1e-12


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "yi, vi, match",
    [
        ([0.1, 0.2], [0.1], "same length"),
        ([], [], "k = 0"),
        ([0.1, np.nan, 0.3], [0.1, 0.1, 0.1], "study 1: yi must be finite"),
        ([0.1, 0.2, np.inf], [0.1, 0.1, 0.1], "study 2: yi must be finite"),
        ([0.1, 0.2, 0.3], [0.1, np.nan, 0.1], "study 1: vi must be finite"),
        ([0.1, 0.2, 0.3], [0.1, 0.2, 0.0], r"study 2: vi must be > 0"),
        ([0.1, 0.2, 0.3], [-0.1, 0.2, 0.1], r"study 0: vi must be > 0"),
        ([[0.1, 0.2]], [[0.1, 0.2]], "one-dimensional"),
        (["a", "b"], [0.1, 0.2], "numeric"),
        ([0.1, 0.2, 0.3], [5e-324, 0.01, 0.02], r"study 0: vi = 4.94e-324 lies outside \[1e-50, 1e\+50\]"),
        ([0.1, 0.2, 0.3], [0.01, 1e300, 0.02], r"study 1: vi = 1e\+300 lies outside"),
        ([1e200, 2e200, 1.5e200], [0.1, 0.1, 0.1], r"study 0: \|yi\| = 1e\+200 exceeds 1e\+50; rescale"),
    ],
)
def test_bad_input_names_study_and_rule(yi, vi, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused before any arithmetic, not after a RuntimeWarning
        with pytest.raises(ValueError, match=match):
            pool(yi, vi)


def test_batches_refuse_values_beyond_double_precision():
    from netevidence.pooling import pool_many

    with pytest.raises(ValueError, match=r"row 1, study 1: \|yi\| = 1e\+60 exceeds"):
        pool_many([[0.1, 0.2], [0.1, 1e60]], [[0.1, 0.1], [0.1, 0.1]])


def test_values_near_the_bounds_pool_correctly():
    """Scale equivariance holds near the bounds: effects of 1e24 (variances 1e47) pool like effects of 1."""
    a = pool([1.0, 1.1, 0.7], [0.1, 0.2, 0.3])
    b = pool([1e24, 1.1e24, 0.7e24], [0.1e48, 0.2e48, 0.3e48])
    assert math.isclose(b.estimate, 1e24 * a.estimate, rel_tol=1e-9)
    assert math.isclose(b.se, 1e24 * a.se, rel_tol=1e-9)
    assert math.isclose(b.tau2, 1e48 * a.tau2, rel_tol=1e-7)


def test_knha_with_agreeing_studies_is_refused_with_the_alternatives():
    for y in ([0.25, 0.25, 0.25], [-0.25, -0.25, -0.25]):
        with pytest.raises(ValueError, match=r"ci='knha' is undefined here.*use ci='adhoc'.*or ci='z'"):
            pool(y, [0.01, 0.02, 0.03], ci="knha")
        r = pool(y, [0.01, 0.02, 0.03], ci="adhoc")
        assert r.ci_low < r.estimate < r.ci_high and math.isfinite(r.statistic)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(method="XX"), "method must be one of"),
        (dict(ci="t"), "ci must be one of"),
        (dict(pi="riley"), "pi must be one of"),
        (dict(i2="h"), "i2 must be one of"),
        (dict(level=95), "level must lie strictly between 0 and 1"),
        (dict(level=0.0), "level must lie strictly between 0 and 1"),
        (dict(tau2=-0.1), "tau2 must be a finite number >= 0"),
        (dict(method="EE", tau2=0.1), "cannot be fixed with method='EE'"),
        (dict(max_iter=0), "max_iter must be a positive integer"),
        (dict(tol=0.0), "tol must be a positive finite number"),
    ],
)
def test_bad_options(kw, match):
    with pytest.raises(ValueError, match=match):
        pool([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], **kw)


def test_estimate_tau2_bad_design():
    with pytest.raises(ValueError, match="one row per study"):
        estimate_tau2([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], "REML", X=np.ones((2, 1)))
    with pytest.raises(ValueError, match="full column rank"):
        estimate_tau2([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], "REML", X=np.ones((3, 2)))
    with pytest.raises(ValueError, match="study 1: the row of X must be finite"):
        estimate_tau2([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], "REML", X=[[1.0], [np.nan], [1.0]])


# --------------------------------------------------------------------------- k = 2, result object


def test_two_studies_are_defined():
    yi, vi = DATA["bcg_k2"]
    for m in METHODS:
        for c in ("z", "knha", "adhoc"):
            r = pool(yi, vi, method=m, ci=c)
            h = pool(yi, vi, method=m, ci=c, pi="hts")
            vals = [getattr(r, n) for n in FIELDS + CI_FIELDS] + [h.pi_low, h.pi_high]
            assert all(math.isfinite(v) for v in vals), (m, c)
            assert r.q_df == 1
            if m != "EE":
                # HTS uses t with max(1, k - 2) = 1 df, the same quantile as knha's t(k - 1).
                crit = special.stdtrit(1, 0.975)
                assert math.isclose(h.pi_high - h.estimate, crit * math.sqrt(r.se**2 + r.tau2), rel_tol=1e-12)


def test_result_is_immutable_and_exports():
    r = pool(*DATA["bcg"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.estimate = 0.0
    with pytest.raises(ValueError):
        r.weights[0] = 1.0
    with pytest.raises(ValueError):
        r.yi[0] = 1.0
    frame = r.to_frame()
    assert frame.shape[0] == 1 and frame.loc[0, "tau2"] == r.tau2 and "weights" not in frame
    text = r.summary()
    assert "REML" in text and f"{r.tau2:.4f}" in text and "k = 13" in text


def test_q_based_i2_option():
    yi, vi = DATA["bcg"]
    r = pool(yi, vi, i2="q")
    ee = pool(yi, vi, method="EE")
    assert math.isclose(r.i2, 100 * (r.q - 12) / r.q, rel_tol=1e-14)
    assert math.isclose(r.h2, r.q / 12, rel_tol=1e-14)
    assert (r.i2, r.h2) == (ee.i2, ee.h2)  # metafor's EE fits report the Q-based values


def test_tau2_confint_general_design_matches_intercept_only():
    yi, vi = DATA["hackshaw1998"]
    a = tau2_confint(yi, vi)
    b = tau2_confint(yi, vi, X=np.ones((yi.size, 1)))
    r = pool(yi, vi)
    for name in CI_FIELDS:
        assert math.isclose(getattr(a, name), getattr(r, name), rel_tol=1e-15)
        assert math.isclose(getattr(a, name), getattr(b, name), rel_tol=1e-8, abs_tol=1e-14)


# --------------------------------------------------------------------------- properties

studies = st.integers(min_value=2, max_value=12).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k),
        st.lists(st.floats(1e-3, 2.0, allow_nan=False), min_size=k, max_size=k),
    )
)


@settings(max_examples=40, deadline=None)
@given(studies, st.sampled_from(METHODS), st.sampled_from(["z", "knha", "adhoc"]))
def test_interval_properties(data, method, ci):
    yi, vi = np.array(data[0]), np.array(data[1])
    try:
        r = pool(yi, vi, method=method, ci=ci)
    except ValueError as exc:  # Knapp-Hartung with studies that agree: refused, never a 0-width CI
        assert ci == "knha" and "undefined here" in str(exc)
        rss = pool(yi, vi, method=method, ci="adhoc")
        assert np.allclose(yi, rss.estimate, rtol=0, atol=1e-6)
        return
    assert r.converged
    assert math.isclose(r.weights.sum(), 100.0, rel_tol=1e-12)
    assert r.ci_low <= r.estimate <= r.ci_high
    assert r.pi_low <= r.ci_low + 1e-12 and r.pi_high >= r.ci_high - 1e-12
    assert r.tau2 >= 0 and 0 <= r.i2 < 100 and r.h2 >= 1 - 1e-12 or method == "EE"
    assert 0 <= r.tau2_ci_low <= r.tau2_ci_high
    if ci == "adhoc":
        z = pool(yi, vi, method=method)
        assert r.ci_high - r.ci_low >= (z.ci_high - z.ci_low) * (1 - 1e-12)
    if method == "PM":
        # Q(PM) = k - 1 lies between the chi-square quantiles that define the Q-profile interval.
        assert r.tau2_ci_low - 1e-9 <= r.tau2 <= r.tau2_ci_high + 1e-9


@settings(max_examples=40, deadline=None)
@given(studies, st.sampled_from(METHODS[1:]), st.floats(-5, 5), st.floats(0.2, 5))
def test_location_scale_equivariance(data, method, shift, scale):
    yi, vi = np.array(data[0]), np.array(data[1])
    a = pool(yi, vi, method=method)
    b = pool(scale * yi + shift, scale**2 * vi, method=method)
    assert math.isclose(b.estimate, scale * a.estimate + shift, rel_tol=1e-7, abs_tol=1e-8)
    assert math.isclose(b.tau2, scale**2 * a.tau2, rel_tol=1e-7, abs_tol=1e-10)
    assert math.isclose(b.q, a.q, rel_tol=1e-7, abs_tol=1e-9)


@settings(max_examples=40, deadline=None)
@given(studies, st.sampled_from(METHODS[1:]))
def test_general_design_equals_intercept_only(data, method):
    yi, vi = np.array(data[0]), np.array(data[1])
    a = estimate_tau2(yi, vi, method)
    b = estimate_tau2(yi, vi, method, X=np.ones((yi.size, 1)))
    assert math.isclose(a.tau2, b.tau2, rel_tol=1e-7, abs_tol=1e-10)
    assert math.isclose(a.se, b.se, rel_tol=1e-6, abs_tol=1e-10)


@settings(max_examples=30, deadline=None)
@given(studies, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_qprofile_bounds_solve_the_q_equation(data, level):
    yi, vi = np.array(data[0]), np.array(data[1])
    k = yi.size
    r = pool(yi, vi, method="DL", level=level)

    def q_at(t):
        w = 1 / (vi + t)
        mu = np.sum(w * yi) / np.sum(w)
        return np.sum(w * (yi - mu) ** 2)

    alpha = 1 - level
    if r.tau2_ci_low > 0:
        assert math.isclose(q_at(r.tau2_ci_low), special.chdtri(k - 1, alpha / 2), rel_tol=1e-7)
    else:
        assert q_at(0.0) < special.chdtri(k - 1, alpha / 2) * (1 + 1e-12)
    if r.tau2_ci_high > 0:
        assert math.isclose(q_at(r.tau2_ci_high), special.chdtri(k - 1, 1 - alpha / 2), rel_tol=1e-7)


@pytest.mark.parametrize("f", CONV.get("ll0check", []), ids=[f"ll0-set{f['index']}" for f in CONV.get("ll0check", [])])
def test_reml_boundary_maximum_where_metafor_falls_back(f):
    """Where metafor's Fisher scoring stops at a non-maximum and ll0check resets tau^2 to 0, we give 0 directly."""
    yi, vi = np.asarray(f["yi"]), np.asarray(f["vi"])
    r = pool(yi, vi, method="REML")
    assert "local maximum" in f["warning"] and f["tau2"] == 0
    assert r.converged and r.tau2 == 0.0
    assert_close(r.estimate, f["estimate"], f"estimate vs {f['call']}")
    ll = float(loglik(yi[None], vi[None], np.array([0.0]), True)[0]) + 0.5 * math.log(yi.size)
    assert_close(ll, f["ll_at_0"], "REML log-likelihood at 0")
    assert ll >= f["grid_max_ll"] - 1e-12


def test_reference_has_ll0check_cases():
    assert len(CONV["ll0check"]) >= 1


@pytest.mark.parametrize("f", CONV.get("bimodal", []), ids=[f"bimodal-set{f['index']}" for f in CONV.get("bimodal", [])])
def test_reml_finds_interior_maximum_when_score_at_zero_is_negative(f):
    """Two local maxima (0 and an interior one with a larger likelihood): the interior one is returned."""
    yi, vi = np.asarray(f["yi"]), np.asarray(f["vi"])
    assert f["score_at_0"] <= 0 and f["ll"] > f["ll_at_0"]
    r = pool(yi, vi, method="REML")
    assert r.converged
    assert_close(r.tau2, f["tau2"], f"tau2 vs {f['call']}")
    assert_close(r.estimate, f["estimate"], f"estimate vs {f['call']}")


def test_reference_has_bimodal_cases():
    assert len(CONV["bimodal"]) >= 1
