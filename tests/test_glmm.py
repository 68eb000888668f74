"""The random-intercept logistic GLMM against metafor's rma.glmm() / lme4 (tests/reference/glmm.R)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from scipy.special import expit, logit

from netevidence.pooling.glmm import glmm_proportion, marginal_loglik

REF = json.loads((Path(__file__).parent / "reference" / "glmm.json").read_text())
FITS = [c for c in REF["cases"] if c["kind"] == "rma.glmm"]
DEVFUN = [c for c in REF["cases"] if c["kind"] == "laplace_devfun"]
QUAD = [c for c in FITS if not c["name"].endswith("_nAGQ_1")]
RTOL = 1e-4
# lme4's optimiser stops at about 1e-5 on the logit scale (at its estimates our likelihood is equal to
# ours within 1e-9, see test_our_optimum_is_at_least_as_high), so near-zero logits and tiny p-values
# also get an absolute floor
ATOL_LOGIT = 1e-5
ATOL_P = 1e-8


def _n_agq(case):
    tail = case["name"].rsplit("_", 1)[1]
    return REF["meta"]["rma_glmm_default_nAGQ"] if tail == "default" else int(tail)


@pytest.fixture(scope="module")
def fits():
    return {c["name"]: glmm_proportion(c["events"], c["n"], n_agq=_n_agq(c)) for c in FITS}


def _close(actual, expected, rtol=RTOL, atol=0.0):
    assert actual == pytest.approx(expected, rel=rtol, abs=atol)


@pytest.mark.parametrize("case", QUAD, ids=[c["name"] for c in QUAD])
def test_matches_rma_glmm(case, fits):
    res = fits[case["name"]]
    for ours, theirs in (("estimate", "estimate"), ("ci_low", "ci_low"), ("ci_high", "ci_high")):
        _close(getattr(res, ours), case[theirs], atol=ATOL_LOGIT)
    _close(res.statistic, case["zval"], atol=ATOL_LOGIT / case["se"])
    _close(res.pval, case["pval"], atol=ATOL_P)
    for ours, theirs in (("se", "se"), ("proportion", "pred"),
                         ("proportion_ci_low", "pred_ci_low"), ("proportion_ci_high", "pred_ci_high"),
                         ("proportion_pi_low", "pred_pi_low"), ("proportion_pi_high", "pred_pi_high")):
        _close(getattr(res, ours), case[theirs])
    # tau^2 = 0 exactly on the boundary: compare absolutely there
    _close(res.tau2, case["tau2"], atol=1e-8 if case["tau2"] == 0 else 0.0)
    assert res.converged and res.k == len(case["events"]) and res.n_agq == _n_agq(case)


@pytest.mark.parametrize("case", FITS, ids=[c["name"] for c in FITS])
def test_our_optimum_is_at_least_as_high(case, fits):
    res = fits[case["name"]]
    x, n = np.array(case["events"], float), np.array(case["n"], float)
    at_r = marginal_loglik(case["estimate"], math.sqrt(case["tau2"]), x, n, _n_agq(case))
    assert res.loglik >= at_r - 1e-9


def test_default_is_metafors_default_quadrature():
    assert REF["meta"]["rma_glmm_default_nAGQ"] == 7
    case = FITS[0]
    assert glmm_proportion(case["events"], case["n"]).n_agq == 7


@pytest.mark.parametrize("case", DEVFUN, ids=[c["name"] for c in DEVFUN])
def test_laplace_likelihood_matches_lme4_deviance_function(case):
    # lme4 stops its inner iterations at a tolerance of its own, hence 1e-5 rather than 1e-6
    ll = marginal_loglik(case["beta"], case["tau"], np.array(case["events"], float), np.array(case["n"], float), 1)
    _close(-2.0 * ll, case["deviance"], rtol=1e-5)


def test_laplace_fit_is_close_to_lme4_on_pritz1997(fits):
    # lme4's Laplace deviance carries its inner-iteration error (about 1e-6 relative, see above); on this
    # flat likelihood that moves the optimum by about 1e-3, so the fit is compared at 2e-3
    case = next(c for c in FITS if c["name"] == "pritz1997_nAGQ_1")
    res = fits[case["name"]]
    _close(res.estimate, case["estimate"], rtol=2e-3)
    _close(res.tau2, case["tau2"], rtol=5e-3)
    # and ours is the better optimum of the Laplace likelihood
    x, n = np.array(case["events"], float), np.array(case["n"], float)
    assert res.loglik >= marginal_loglik(case["estimate"], math.sqrt(case["tau2"]), x, n, 1)


def test_zero_and_full_studies_need_no_correction(fits):
    res = fits["zero_full_nAGQ_default"]
    assert np.isfinite(res.estimate) and res.tau2 > 0
    assert set(res.events[res.events == 0]) == {0.0}  # 0% studies were used as reported
    assert np.any(res.events == res.n)


def test_single_study_reduces_to_the_binomial():
    res = glmm_proportion([12], [40])
    assert res.tau2 == 0.0 and res.k == 1
    assert res.estimate == pytest.approx(logit(12 / 40), abs=1e-8)
    assert res.se == pytest.approx(math.sqrt(1 / 12 + 1 / 28), rel=1e-6)
    assert res.proportion == pytest.approx(expit(res.estimate))


def test_more_nodes_converge():
    case = FITS[0]
    a = glmm_proportion(case["events"], case["n"], n_agq=21)
    b = glmm_proportion(case["events"], case["n"], n_agq=41)
    assert a.estimate == pytest.approx(b.estimate, rel=1e-7)
    assert a.tau2 == pytest.approx(b.tau2, rel=1e-6)


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(min_value=2, max_value=60), min_size=2, max_size=8).flatmap(
    lambda ns: st.tuples(st.tuples(*[st.integers(min_value=0, max_value=n) for n in ns]), st.just(ns))))
# a set whose optimum has a small positive tau next to a near-flat boundary at tau = 0
@example(((42, 88, 107, 109, 164, 70, 97, 42, 82, 17, 84), [44, 95, 119, 115, 173, 73, 99, 45, 88, 23, 90]))
def test_fit_is_a_local_maximum(data):
    events, n = data
    assume(0 < sum(events) < sum(n))
    res = glmm_proportion(list(events), n)
    assert res.converged
    x, m = np.array(events, float), np.array(n, float)
    tau = math.sqrt(res.tau2)
    best = marginal_loglik(res.estimate, tau, x, m, 7)
    assert best == pytest.approx(res.loglik, rel=1e-12)
    for db, dt in ((1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3), (1e-3, 1e-3), (-1e-3, -1e-3)):
        assert marginal_loglik(res.estimate + db, max(tau + dt, 0.0), x, m, 7) <= best + 1e-9


def test_loglik_even_in_tau():
    x, n = np.array([3.0, 0.0, 9.0]), np.array([10.0, 8.0, 9.0])
    assert marginal_loglik(0.2, 0.7, x, n, 7) == pytest.approx(marginal_loglik(0.2, -0.7, x, n, 7), rel=1e-12)


@pytest.mark.parametrize("events, n, kw, pattern", [
    ([0, 0, 0], [10, 12, 8], {}, r"all studies have 0% \(or all 100%\) events"),
    ([10, 12], [10, 12], {}, r"all studies have 0% \(or all 100%\) events"),
    ([1, 13], [10, 12], {}, r"study 1: events = 13 exceeds n = 12"),
    ([1, -1], [10, 12], {}, r"study 1: events = -1 is negative"),
    ([1, 2, 3], [10, 12], {}, r"mismatched lengths"),
    ([1, float("nan")], [10, 12], {}, r"study 1: events is nan"),
    ([1, 2], [10, 12], {"n_agq": 0}, r"n_agq = 0 must be an integer between 1 and 100"),
    ([1, 2], [10, 12], {"level": 1.5}, r"level = 1.5 must lie strictly between 0 and 1"),
])
def test_bad_input(events, n, kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        glmm_proportion(events, n, **kw)


def test_result_is_immutable(fits):
    res = fits["pritz1997_nAGQ_default"]
    with pytest.raises(AttributeError):
        res.tau2 = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.events[0] = 1.0
    frame = res.to_frame()
    assert frame.loc[0, "estimate"] == res.estimate and "events" not in frame.columns


def test_predict_back_transforms_like_pool_results(fits):
    from netevidence.effects import back_transform

    case = next(c for c in FITS if c["name"] == "pritz1997_nAGQ_default")
    res = fits[case["name"]]
    pred = res.predict(transf=back_transform("PLO"))
    for ours, theirs in (("pred", "pred"), ("ci_low", "pred_ci_low"), ("ci_high", "pred_ci_high"),
                         ("pi_low", "pred_pi_low"), ("pi_high", "pred_pi_high")):
        _close(getattr(pred, ours), case[theirs])
    raw = res.predict()
    assert (raw.pred, raw.ci_low, raw.pi_high) == (res.estimate, res.ci_low, res.pi_high)
