"""Leave-one-out, cumulative, influence, GOSH and permutation tests against metafor
(tests/reference/sensitivity.R)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netevidence.pooling.sensitivity import (
    cumulative,
    gosh,
    influence,
    leave_one_out,
    permutation_test,
)
from sensitivity_reference import moderators, DATA, results, arr, close, yv


def mods(ref):
    return moderators(ref)[0]


@pytest.mark.parametrize("ref", results("leave1out"), ids=lambda r: r["id"])
def test_leave_one_out(ref):
    y, v = yv(ref)
    res = leave_one_out(y, v, method=ref["args"]["method"], ci=ref["args"]["ci"])
    R = ref["result"]
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("statistic", "statistic"), ("pval", "pval"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("q", "Q"), ("q_pval", "Qp"),
                         ("i2", "I2"), ("h2", "H2")]:
        close(getattr(res, ours), R[theirs])
    if ref["args"]["method"] != "EE":
        close(res.tau2, R["tau2"])
    else:
        assert np.all(res.tau2 == 0)
    frame = res.to_frame()
    assert frame.shape == (len(y), 11)


@pytest.mark.parametrize("ref", results("cumul"), ids=lambda r: r["id"])
def test_cumulative(ref):
    y, v = yv(ref)
    args = ref["args"]
    order = DATA[ref["dataset"]][args["order"]] if "order" in args else None
    transf = np.exp if args.get("transf") == "exp" else None
    res = cumulative(y, v, order=order, method=args["method"], ci=args["ci"], transf=transf)
    R = ref["result"]
    # metafor cannot fit the first step (k = 1) under knha; compare the steps it reports
    rows = ~np.isnan(arr(R["estimate"]))
    assert rows.sum() >= len(y) - 1
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("statistic", "statistic"), ("pval", "pval"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("q", "Q"), ("q_pval", "Qp"),
                         ("i2", "I2"), ("h2", "H2"), ("tau2", "tau2")]:
        close(np.asarray(getattr(res, ours))[rows], arr(R[theirs])[rows])
    assert res.transformed == (transf is not None)
    assert list(res.k) == list(range(1, len(y) + 1))


def test_cumulative_order_is_stable_and_decreasing():
    ds = DATA["bcg"]
    year = np.asarray(ds["year"])
    inc = cumulative(ds["yi"], ds["vi"], order=year, method="DL")
    assert list(inc.order) == list(np.argsort(year, kind="stable"))
    dec = cumulative(ds["yi"], ds["vi"], order=year, method="DL", decreasing=True)
    assert list(year[dec.order]) == sorted(year, reverse=True)
    # full data set at the last step regardless of order
    close(dec.estimate[-1], inc.estimate[-1], rtol=1e-12)


@pytest.mark.parametrize("ref", results("influence"), ids=lambda r: r["id"])
def test_influence(ref):
    y, v = yv(ref)
    args = ref["args"]
    res = influence(y, v, mods(ref), method=args["method"], ci=args["ci"])
    R = ref["result"]
    for ours, theirs in [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"),
                         ("cov_r", "cov_r"), ("qe_del", "QE_del"), ("hat", "hat"), ("weight", "weight")]:
        close(getattr(res, ours), R[theirs])
    if args["method"] != "EE":
        close(res.tau2_del, R["tau2_del"])
    dfbs = np.column_stack([arr(col) for col in R["dfbs"].values()])
    close(res.dfbetas, dfbs)
    assert list(res.influential) == list(R["is_infl"])
    assert res.to_frame().shape[0] == len(y)


@pytest.mark.parametrize("ref", results("rstandard"), ids=lambda r: r["id"])
def test_standardized_residuals(ref):
    y, v = yv(ref)
    args = ref["args"]
    res = influence(y, v, mods(ref), method=args["method"], ci=args["ci"])
    close(res.resid, ref["result"]["resid"])
    close(res.rstandard, ref["result"]["z"])


@pytest.mark.parametrize("ref", results("gosh"), ids=lambda r: r["id"])
def test_gosh_all_subsets(ref):
    y, v = yv(ref)
    res = gosh(y, v, method=ref["args"]["method"])
    R = ref["result"]
    assert res.exact
    assert res.n_subsets == 2 ** len(y) - 1
    # same subsets in the same order as metafor (by size, then by bit mask)
    assert list(res.mask) == [int(m) for m in R["mask"]]
    close(res.k, R["k"])
    # metafor's PM search stops at tau2.max = 100 and reports NA beyond it; compare where it has a fit
    fitted = ~np.isnan(arr(R["estimate"]))
    close(res.estimate[fitted], arr(R["estimate"])[fitted])
    close(res.q[fitted], arr(R["QE"])[fitted])
    close(res.i2[fitted], arr(R["I2"])[fitted])
    close(res.h2[fitted], arr(R["H2"])[fitted])
    close(res.tau2[fitted], arr(R["tau2"])[fitted])
    if ref["args"]["method"] != "PM":
        assert fitted.all()
    for r in np.flatnonzero(~fitted):
        # where metafor gives up, ours solves the Paule-Mandel equation Q(tau2) = k - 1 with tau2 > 100
        t2 = res.tau2[r]
        assert t2 > 100
        yy, vv = y[res.incl[r]], v[res.incl[r]]
        w = 1 / (vv + t2)
        mu = np.sum(w * yy) / np.sum(w)
        assert np.sum(w * (yy - mu) ** 2) == pytest.approx(len(yy) - 1, rel=1e-8)


def test_gosh_random_sample_is_seeded():
    ds = DATA["li2007"]
    a = gosh(ds["yi"], ds["vi"], method="DL", max_subsets=500, seed=7)
    b = gosh(ds["yi"], ds["vi"], method="DL", max_subsets=500, seed=7)
    c = gosh(ds["yi"], ds["vi"], method="DL", max_subsets=500, seed=8)
    assert not a.exact and a.n_subsets == 500
    assert np.array_equal(a.incl, b.incl) and np.array_equal(a.estimate, b.estimate)
    assert not np.array_equal(a.incl, c.incl)
    assert np.all(np.diff(a.k) >= 0)  # ordered by subset size
    assert a.incl.any(axis=1).all()


def test_gosh_subset_rows_equal_pool():
    from netevidence.pooling import pool

    ds = DATA["li2007"]
    y, v = np.asarray(ds["yi"]), np.asarray(ds["vi"])
    res = gosh(y, v, method="REML", max_subsets=40, seed=3)
    for r in range(0, 40, 7):
        fit = pool(y[res.incl[r]], v[res.incl[r]], method="REML")
        close(res.estimate[r], fit.estimate, rtol=1e-10)
        close(res.tau2[r], fit.tau2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ref", results("permutest"), ids=lambda r: r["id"])
def test_exact_permutation_test(ref):
    y, v = yv(ref)
    args = ref["args"]
    res = permutation_test(y, v, mods(ref), method=args["method"], ci=args["ci"], exact=True)
    R = ref["result"]
    assert res.exact
    assert res.n_permutations == R["exact_iter"]
    close(res.coef, R["beta"])
    close(res.statistic, R["zval"])
    close(res.qm, R["QM"])
    close(res.pval, R["pval"])
    close(res.qm_pval, R["QMp"])


def test_random_permutation_test_is_seeded():
    ds = DATA["bcg"]
    a = permutation_test(ds["yi"], ds["vi"], method="DL", n_iter=300, seed=11)
    b = permutation_test(ds["yi"], ds["vi"], method="DL", n_iter=300, seed=11)
    assert not a.exact and a.n_permutations == 300
    assert a.pval[0] == b.pval[0]
    # the observed data are the first permutation, so the p-value is at least 1 / n_iter
    assert 1 / 300 <= a.pval[0] <= 1
    exact = next(r for r in results("permutest") if r["id"] == "permutest/bcg/DL/z")
    assert abs(a.pval[0] - exact["result"]["pval"]) < 0.03


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: leave_one_out([0.1], [0.1]), "at least 2 studies"),
        (lambda: leave_one_out([0.1, 0.2], [0.1, -0.1]), "study 1: sampling variance vi must be positive"),
        (lambda: cumulative([0.1, 0.2], [0.1, 0.1], order=[2000]), "order must have one entry per study"),
        (lambda: cumulative([0.1, 0.2], [0.1, 0.1], order=[2000.0, np.nan]), "study 1: order key must be finite"),
        (lambda: influence([0.1, np.nan], [0.1, 0.1]), "study 1: effect size yi must be finite"),
        (lambda: gosh([0.1, 0.2], [0.1, 0.1], max_subsets=0), "max_subsets must be at least 1"),
        (lambda: permutation_test([0.1, 0.2, 0.3], [0.1, 0.1], n_iter=10), "same length"),
        (lambda: leave_one_out([0.1, 0.2], [0.1, 0.1], labels=["a"]), "labels must have one entry per study"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_random_permutation_test_meta_regression_is_seeded():
    ds = DATA["bcg"]
    kw = dict(method="DL", n_iter=60, seed=5)
    a = permutation_test(ds["yi"], ds["vi"], np.asarray(ds["ablat"]), **kw)
    b = permutation_test(ds["yi"], ds["vi"], np.asarray(ds["ablat"]), **kw)
    assert not a.exact and a.n_permutations == 60
    assert np.array_equal(a.pval, b.pval) and a.qm_pval == b.qm_pval
    # the observed design is the first permutation
    assert np.all(a.pval >= 1 / 60) and a.qm_pval >= 1 / 60
    assert a.names == ("intercept", "x1")


study_sets = st.integers(3, 9).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(-2, 2, allow_nan=False), min_size=k, max_size=k),
        st.lists(st.floats(0.01, 1.0, allow_nan=False), min_size=k, max_size=k),
    )
)


@settings(max_examples=25, deadline=None)
@given(study_sets, st.sampled_from(["DL", "REML", "EE"]))
def test_influence_properties(data, method):
    y, v = (np.asarray(a) for a in data)
    res = influence(y, v, method=method)
    # the hat matrix of the intercept-only model has trace 1; weights are percentages
    assert np.sum(res.hat) == pytest.approx(1.0, rel=1e-9)
    assert np.sum(res.weight) == pytest.approx(100.0, rel=1e-9)
    assert np.all(res.cook_d >= -1e-12)
    assert np.all(res.cov_r > 0)


@settings(max_examples=25, deadline=None)
@given(study_sets, st.sampled_from(["DL", "REML"]))
def test_leave_one_out_and_cumulative_agree_with_pool(data, method):
    from netevidence.pooling import pool

    y, v = (np.asarray(a) for a in data)
    k = len(y)
    loo = leave_one_out(y, v, method=method)
    cum = cumulative(y, v, method=method)
    full = pool(y, v, method=method)
    assert cum.estimate[-1] == full.estimate and cum.tau2[-1] == full.tau2
    first = pool(y[1:], v[1:], method=method)
    assert loo.estimate[0] == first.estimate and loo.tau2[0] == first.tau2
    g = gosh(y, v, method=method)
    assert g.n_subsets == 2**k - 1 and g.incl[-1].all()
    close(g.estimate[-1], full.estimate, rtol=1e-12)
