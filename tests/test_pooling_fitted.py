"""Post-fit analyses called with a fitted PoolResult, as metafor's leave1out(res), trimfill(res), ...:
the result equals the array call with the fit's options exactly, and meets the metafor references
(tests/reference/sensitivity.R)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from netevidence.pooling import (
    PoolResult, begg_test, cumulative, egger_test, funnel_data, gosh, influence, leave_one_out,
    permutation_test, pool, trim_and_fill,
)
from sensitivity_reference import DATA, arr, close, results, yv


def assert_identical(a, b):
    """Every field of two result dataclasses equal, bit for bit (NaN equal to NaN)."""
    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, PoolResult):
            assert_identical(x, y)
            np.testing.assert_array_equal(x.yi, y.yi)
            np.testing.assert_array_equal(x.weights, y.weights)
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f.name, strict=True)
        else:
            assert (x == y) or (x != x and y != y), f.name


OPTIONS = [dict(method="REML", ci="z"), dict(method="DL", ci="knha", level=0.9),
           dict(method="PM", ci="adhoc", pi="hts", i2="q"), dict(method="EE", ci="z", level=0.99)]


@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: "-".join(map(str, o.values())))
def test_fitted_equals_array_call(opts):
    ds = DATA["bcg"]
    y, v = np.asarray(ds["yi"], float), np.asarray(ds["vi"], float)
    res = pool(y, v, **opts)
    model = {o: opts[o] for o in ("method", "ci", "level") if o in opts}
    fwd = {o: opts[o] for o in ("pi", "i2") if o in opts}
    labels = [f"s{i}" for i in range(len(y))]
    assert_identical(leave_one_out(res, labels=labels), leave_one_out(y, v, labels=labels, **model, **fwd))
    order = np.asarray(ds["year"])
    assert_identical(cumulative(res, order=order, transf=np.exp),
                     cumulative(y, v, order=order, transf=np.exp, **model, **fwd))
    assert_identical(influence(res), influence(y, v, **model))
    assert_identical(egger_test(res), egger_test(y, v, **model))
    assert_identical(egger_test(res, model="lm"), egger_test(y, v, model="lm", **model))
    assert_identical(begg_test(res), begg_test(y, v))
    assert_identical(funnel_data(res), funnel_data(y, v, **model, **fwd))
    assert_identical(trim_and_fill(res, estimator="R0"), trim_and_fill(y, v, estimator="R0", **model, **fwd))
    assert_identical(permutation_test(res, n_iter=50, seed=1), permutation_test(y, v, n_iter=50, seed=1, **model))


def test_fixed_tau2_carries_over():
    ds = DATA["bcg"]
    res = pool(ds["yi"], ds["vi"], method="REML", tau2=0.1)
    loo = leave_one_out(res)
    assert np.all(loo.tau2 == 0.1)
    assert_identical(loo, leave_one_out(ds["yi"], ds["vi"], tau2=0.1))
    assert_identical(influence(res), influence(ds["yi"], ds["vi"], tau2=0.1))


def test_gosh_takes_the_fit_method():
    ds = DATA["bcg"]
    y, v = np.asarray(ds["yi"][:8]), np.asarray(ds["vi"][:8])
    res = pool(y, v, method="REML")
    assert_identical(gosh(res), gosh(y, v, method="REML"))


@pytest.mark.parametrize("ref", results("leave1out"), ids=lambda r: r["id"])
def test_leave_one_out_of_fit_meets_metafor(ref):
    y, v = yv(ref)
    loo = leave_one_out(pool(y, v, method=ref["args"]["method"], ci=ref["args"]["ci"]))
    R = ref["result"]
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"),
                         ("q", "Q"), ("i2", "I2")]:
        close(getattr(loo, ours), R[theirs])


@pytest.mark.parametrize("ref", [r for r in results("influence") if not r["args"].get("mods")],
                         ids=lambda r: r["id"])
def test_influence_of_fit_meets_metafor(ref):
    y, v = yv(ref)
    inf = influence(pool(y, v, method=ref["args"]["method"], ci=ref["args"]["ci"]))
    R = ref["result"]
    for ours, theirs in [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"), ("hat", "hat")]:
        close(getattr(inf, ours), R[theirs])


@pytest.mark.parametrize("ref", results("trimfill"), ids=lambda r: r["id"])
def test_trim_and_fill_of_fit_meets_metafor(ref):
    y, v = yv(ref)
    args = ref["args"]
    tf = trim_and_fill(pool(y, v, method=args["method"]), estimator=args["estimator"], side=args.get("side"))
    R = ref["result"]
    assert tf.k0 == R["k0"]
    close(tf.yi, R["yi"])
    close(tf.pooled.estimate, R["beta"])
    close(tf.pooled.ci_low, R["ci_lb"])


@pytest.mark.parametrize("ref", [r for r in results("regtest") if r["args"]["model"] == "rma"],
                         ids=lambda r: r["id"])
def test_egger_of_fit_meets_metafor(ref):
    y, v = yv(ref)
    args = ref["args"]
    eg = egger_test(pool(y, v, method=args["method"], ci=args.get("ci", "z")), predictor=args["predictor"])
    close(eg.statistic, ref["result"]["zval"])
    close(eg.pval, ref["result"]["pval"])


@pytest.mark.parametrize("ref", results("cumul"), ids=lambda r: r["id"])
def test_cumulative_of_fit_meets_metafor(ref):
    y, v = yv(ref)
    args = ref["args"]
    order = DATA[ref["dataset"]][args["order"]] if "order" in args else None
    transf = np.exp if args.get("transf") == "exp" else None
    cu = cumulative(pool(y, v, method=args["method"], ci=args["ci"]), order=order, transf=transf)
    R = ref["result"]
    rows = ~np.isnan(arr(R["estimate"]))
    close(cu.estimate[rows], arr(R["estimate"])[rows])
    close(cu.ci_high[rows], arr(R["ci_ub"])[rows])


def test_model_options_beside_a_fit_are_refused():
    ds = DATA["bcg"]
    res = pool(ds["yi"], ds["vi"], method="DL")
    with pytest.raises(ValueError, match=r"leave_one_out\(res\): method is taken from the fitted result "
                                         r"\(method='DL'.*refit with pool"):
        leave_one_out(res, method="REML")
    with pytest.raises(ValueError, match=r"ci and level are taken from the fitted result"):
        trim_and_fill(res, ci="knha", level=0.9)
    with pytest.raises(TypeError, match=r"influence\(res\) takes the data from the fitted result"):
        influence(res, ds["vi"])
