"""Meta-regression against metafor's rma(mods = ...) (tests/reference/sensitivity.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netevidence.pooling.regression import design_matrix, meta_regression
from sensitivity_reference import moderators, DATA, results, arr, close


mods_of = moderators


@pytest.mark.parametrize("ref", results("metareg", "metareg_btt"), ids=lambda r: r["id"])
def test_meta_regression_matches_metafor(ref):
    ds = DATA[ref["dataset"]]
    X, names = mods_of(ref)
    args = ref["args"]
    btt = [j for j in args["btt"]] if "btt" in args else None
    if btt is not None and not isinstance(btt, list):
        btt = [btt]
    fit = meta_regression(ds["yi"], ds["vi"], X, names=names, method=args["method"], ci=args["ci"],
                          tau2=args.get("tau2"), btt=btt)
    R = ref["result"]
    close(fit.tau2, R["tau2"])
    close(fit.coef, R["beta"])
    close(fit.se, R["se"])
    close(fit.statistic, R["zval"])
    close(fit.pval, R["pval"])
    close(fit.ci_low, R["ci_lb"])
    close(fit.ci_high, R["ci_ub"])
    close(fit.qm, R["QM"])
    close(fit.qm_pval, R["QMp"])
    assert fit.qm_df == arr(R["QMdf"])[0]
    close(fit.qe, R["QE"])
    close(fit.qe_pval, R["QEp"])
    close(fit.i2, R["I2"])
    close(fit.h2, R["H2"])
    close(fit.r2, R["R2"])
    assert fit.k == R["k"] and fit.p == R["p"]
    if args["ci"] == "z":
        assert fit.df is None
    else:
        assert fit.df == R["ddf"]
    assert fit.names == ("intercept", *names)


def test_factor_coding_matches_r_factor():
    ref = next(r for r in results("subgroup_common") if r["id"] == "subgroup/bcg/alloc/REML/z/common/mods")
    ds = DATA["bcg"]
    fit = meta_regression(ds["yi"], ds["vi"], pd.DataFrame({"alloc": ds["alloc"]}), method="REML")
    assert fit.names == ("intercept", "alloc[random]", "alloc[systematic]")
    close(fit.coef, ref["result"]["beta"])
    close(fit.qm, ref["result"]["QM"])
    frame = fit.to_frame()
    assert list(frame.index) == list(fit.names)
    close(frame["estimate"].to_numpy(), ref["result"]["beta"])


def test_intercept_only_model_equals_pool():
    from netevidence.pooling import pool

    ds = DATA["raudenbush1985"]
    for method in ("DL", "REML", "PM"):
        for ci in ("z", "knha"):
            fit = meta_regression(ds["yi"], ds["vi"], None, method=method, ci=ci)
            res = pool(ds["yi"], ds["vi"], method=method, ci=ci)
            close(fit.coef, [res.estimate], rtol=1e-9)
            close(fit.se, [res.se], rtol=1e-9)
            close(fit.tau2, res.tau2, rtol=1e-9)
            close(fit.qe, res.q, rtol=1e-9)
            assert fit.r2 is None


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(range(13))))
def test_invariant_to_study_order(perm):
    ds = DATA["bcg"]
    y, v, x = (np.asarray(ds[c], dtype=float) for c in ("yi", "vi", "ablat"))
    a = meta_regression(y, v, x, method="DL")
    b = meta_regression(y[perm], v[perm], x[perm], method="DL")
    close(b.coef, a.coef, rtol=1e-10)
    close(b.se, a.se, rtol=1e-10)
    close(b.qe, a.qe, rtol=1e-10)


def test_result_is_frozen():
    ds = DATA["bcg"]
    fit = meta_regression(ds["yi"], ds["vi"], ds["ablat"], method="DL")
    with pytest.raises(AttributeError):
        fit.tau2 = 0.0
    with pytest.raises(ValueError):
        fit.yi[0] = 1.0
    assert "Test of moderators" in fit.summary()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(yi=[0.1, 0.2, 0.3], vi=[0.1, 0.1], mods=[1, 2, 3]), "same length"),
        (dict(yi=[0.1, np.nan, 0.3], vi=[0.1, 0.1, 0.1], mods=[1, 2, 3]), "study 1: effect size yi must be finite"),
        (dict(yi=[0.1, 0.2, 0.3], vi=[0.1, 0.0, 0.1], mods=[1, 2, 3]), "study 1: sampling variance vi must be positive"),
        (dict(yi=[0.1, 0.2, 0.3], vi=[0.1, 0.1, 0.1], mods=[1, np.inf, 3]), "study 1: moderator 'x1' must be finite"),
        (dict(yi=[0.1, 0.2, 0.3], vi=[0.1, 0.1, 0.1], mods=[1, 2]), "one row per study"),
        (dict(yi=[0.1, 0.2, 0.3], vi=[0.1, 0.1, 0.1], mods=[[1, 2], [2, 4], [3, 6]]), "linearly dependent"),
        (dict(yi=[0.1, 0.2], vi=[0.1, 0.1], mods=[[1, 2], [2, 5]]), "only k = 2 studies"),
        (dict(yi=[], vi=[], mods=None), "k = 0"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        meta_regression(kwargs.pop("yi"), kwargs.pop("vi"), kwargs.pop("mods"), method="DL")


def test_bad_options():
    ds = DATA["bcg"]
    with pytest.raises(ValueError, match="ci must be one of"):
        meta_regression(ds["yi"], ds["vi"], ds["ablat"], ci="t")
    with pytest.raises(ValueError, match="btt must index"):
        meta_regression(ds["yi"], ds["vi"], ds["ablat"], btt=[5])
    with pytest.raises(ValueError, match="fixed tau2"):
        meta_regression(ds["yi"], ds["vi"], ds["ablat"], tau2=-1.0)
    with pytest.raises(ValueError, match="study 'b' \\(index 1\\)"):
        meta_regression([0.1, np.nan, 0.2], [0.1, 0.1, 0.1], None, labels=["a", "b", "c"])


@pytest.mark.parametrize("ref", [r for r in results("subgroup_common_cell") if r["dataset"] == "bcg"],
                         ids=lambda r: r["id"])
def test_no_intercept_factor_fits_cell_means_model(ref):
    """``intercept=False`` with a factor keeps every level, as R's ``mods = ~ factor(alloc) - 1``."""
    ds = DATA["bcg"]
    args = ref["args"]
    fit = meta_regression(ds["yi"], ds["vi"], pd.DataFrame({"alloc": ds["alloc"]}), intercept=False,
                          method=args["method"], ci=args["ci"])
    R = ref["result"]
    assert fit.names == ("alloc[alternate]", "alloc[random]", "alloc[systematic]")
    assert fit.p == R["p"] == 3
    close(fit.tau2, R["tau2"])
    for ours, theirs in [("coef", "beta"), ("se", "se"), ("statistic", "zval"), ("pval", "pval"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("qm", "QM"), ("qm_pval", "QMp"),
                         ("qe", "QE"), ("qe_pval", "QEp"), ("i2", "I2"), ("h2", "H2")]:
        close(getattr(fit, ours), R[theirs])
    assert fit.qm_df == arr(R["QMdf"])[0]
    assert fit.r2 is None


def test_no_intercept_keeps_every_level_of_the_first_factor_only():
    """As R's model.matrix(~ f + g - 1): the first factor gets one column per level, later ones treatment coding."""
    mods = pd.DataFrame({"f": ["a", "b", "a", "c", "b", "c"], "g": ["x", "y", "y", "x", "x", "y"]})
    X, names = design_matrix(mods, 6, intercept=False)
    assert names == ("f[a]", "f[b]", "f[c]", "g[y]")
    np.testing.assert_array_equal(X[:, :3].sum(axis=1), np.ones(6))
    np.testing.assert_array_equal(X[:, 3], [0, 1, 1, 0, 0, 1])
    X1, names1 = design_matrix(mods, 6, intercept=True)
    assert names1 == ("intercept", "f[b]", "f[c]", "g[y]")
