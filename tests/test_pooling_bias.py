"""Funnel data, Egger's and Begg's tests and trim-and-fill against metafor
(tests/reference/sensitivity.R)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from netevidence.pooling.bias import begg_test, egger_test, funnel_data, kendall_test, trim_and_fill
from sensitivity_reference import results, close, yv


def test_funnel_data():
    ref = results("funnel")[0]
    y, v = yv(ref)
    res = funnel_data(y, v, method="REML")
    close(res.yi, ref["result"]["x"])
    close(res.sei, ref["result"]["y"])
    from netevidence.pooling import pool

    est = pool(y, v, method="REML").estimate
    assert res.estimate == est
    # the pseudo confidence region is estimate +/- 1.96 se
    close(res.region_high - res.estimate, stats.norm.ppf(0.975) * res.se_grid, rtol=1e-12, atol=1e-15)
    assert res.to_frame().shape == (len(y), 2)


@pytest.mark.parametrize("ref", results("regtest"), ids=lambda r: r["id"])
def test_egger(ref):
    y, v = yv(ref)
    args = ref["args"]
    res = egger_test(y, v, model=args["model"], predictor=args["predictor"], method=args["method"],
                     ci=args.get("ci", "z"))
    R = ref["result"]
    close(res.statistic, R["zval"])
    close(res.pval, R["pval"])
    close(res.limit_estimate, R["est"])
    close(res.limit_ci_low, R["ci_lb"])
    close(res.limit_ci_high, R["ci_ub"])
    close([res.limit_estimate, res.slope], R["beta"])
    if args["model"] == "rma":
        close(res.tau2, R["tau2"])
    if R["dfs"] is None:
        assert res.df is None
    else:
        assert res.df == R["dfs"]


@pytest.mark.parametrize("ref", results("ranktest"), ids=lambda r: r["id"])
def test_begg(ref):
    y, v = yv(ref)
    res = begg_test(y, v)
    close(res.tau, ref["result"]["tau"])
    close(res.pval, ref["result"]["pval"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=3, max_size=12, unique=True),
       st.randoms(use_true_random=False))
def test_kendall_exact_agrees_with_scipy(x, rnd):
    y = list(range(len(x)))
    rnd.shuffle(y)
    tau, p, exact = kendall_test(np.array(x), np.array(y, dtype=float))
    ref = stats.kendalltau(x, y, method="exact")
    assert exact
    assert tau == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)


@pytest.mark.parametrize("ref", results("trimfill"), ids=lambda r: r["id"])
def test_trim_and_fill(ref):
    y, v = yv(ref)
    args = ref["args"]
    res = trim_and_fill(y, v, method=args["method"], estimator=args["estimator"], side=args.get("side"))
    R = ref["result"]
    assert res.k0 == R["k0"]
    assert res.side == R["side"]
    close(res.se_k0, R["se_k0"])
    if args["estimator"] == "R0":
        close(res.p_k0, R["p_k0"])
    else:
        assert res.p_k0 is None
    close(res.yi, R["yi"])
    close(res.vi, R["vi"])
    assert list(res.filled) == list(R["fill"])
    fit = res.pooled
    close(fit.estimate, R["beta"])
    close(fit.se, R["se"])
    close(fit.ci_low, R["ci_lb"])
    close(fit.ci_high, R["ci_ub"])
    close(fit.pval, R["pval"])
    close(fit.tau2, R["tau2"])
    close(fit.q, R["QE"])
    close(fit.i2, R["I2"])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: egger_test([0.1, 0.2], [0.1, 0.2]), "at least 3 studies"),
        (lambda: egger_test([0.1, 0.2, 0.3], [0.1, 0.1, 0.1]), "different precision"),
        (lambda: egger_test([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], model="glm"), "model must be"),
        (lambda: begg_test([0.1, 0.2, 0.3], [0.1, np.nan, 0.3]), "study 1: sampling variance vi must be finite"),
        (lambda: trim_and_fill([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], estimator="Q1"), "estimator must be"),
        (lambda: trim_and_fill([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], side="up"), "side must be"),
        (lambda: funnel_data([0.1, 0.2], [0.1, 0.0]), "study 1: sampling variance vi must be positive"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@settings(max_examples=30, deadline=None)
@given(st.integers(4, 12).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(-2, 2, allow_nan=False), min_size=k, max_size=k, unique=True),
        st.lists(st.floats(0.01, 1.0, allow_nan=False), min_size=k, max_size=k),
    )
), st.sampled_from(["L0", "R0"]))
def test_trim_and_fill_mirror_symmetry(data, estimator):
    y, v = (np.asarray(a) for a in data)
    left = trim_and_fill(y, v, method="DL", estimator=estimator, side="left")
    right = trim_and_fill(-y, v, method="DL", estimator=estimator, side="right")
    assert left.k0 == right.k0
    np.testing.assert_allclose(left.yi, -right.yi, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(left.vi, right.vi)
    assert left.pooled.estimate == pytest.approx(-right.pooled.estimate, rel=1e-9, abs=1e-12)
    # filled studies reuse observed variances
    assert set(left.vi[left.filled]).issubset(set(v))
