"""summary() returns one kind of thing on every result: a Summary (the text, a str) with to_frame();
PoolResult and PoolManyResult share their field names and table columns."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest

from netevidence import pooling as P
from netevidence.pooling import PoolManyResult, PoolResult, pool, pool_many
from netevidence.summary import Summary

Y = np.array([0.1, 0.3, -0.2, 0.5, 0.4, 0.05, 0.22])
V = np.array([0.02, 0.05, 0.03, 0.08, 0.04, 0.01, 0.06])


def results():
    res = pool(Y, V)
    groups = ["a", "a", "b", "b", "a", "b", "a"]
    return {
        "pool": res,
        "pool_many": pool_many(np.vstack([Y, Y[::-1]]), np.vstack([V, V])),
        "leave_one_out": P.leave_one_out(res),
        "cumulative": P.cumulative(res),
        "influence": P.influence(res),
        "gosh": P.gosh(res),
        "permutation_test": P.permutation_test(res, n_iter=20, seed=1),
        "funnel_data": P.funnel_data(res),
        "egger_test": P.egger_test(res),
        "begg_test": P.begg_test(res),
        "trim_and_fill": P.trim_and_fill(res),
        "subgroup_analysis": P.subgroup_analysis(Y, V, groups),
        "meta_regression": P.meta_regression(Y, V, np.arange(7.0)),
        "pool_proportions": P.pool_proportions([3, 5, 7, 2], [20, 25, 30, 15], model="logit"),
        "glmm_proportion": P.glmm_proportion([3, 5, 7, 2], [20, 25, 30, 15]),
        "median_of_medians": P.median_of_medians([10.0, 12.0, 15.0, 9.0, 20.0, 11.0]),
    }


NAMES = ["pool", "pool_many", "leave_one_out", "cumulative", "influence", "gosh", "permutation_test", "funnel_data",
         "egger_test", "begg_test", "trim_and_fill", "subgroup_analysis", "meta_regression", "pool_proportions",
         "glmm_proportion", "median_of_medians"]


@pytest.fixture(scope="module")
def all_results():
    return results()


@pytest.mark.parametrize("name", NAMES)
def test_summary_is_text_with_its_table(all_results, name):
    res = all_results[name]
    s = res.summary()
    assert type(s) is Summary and isinstance(s, str)
    assert s.text == str(s) and len(s.text.splitlines()) >= 1
    pd.testing.assert_frame_equal(s.to_frame(), res.to_frame())
    changed = s.to_frame()
    changed.insert(0, "added", 1)  # a copy: the summary's table cannot be changed through it
    pd.testing.assert_frame_equal(s.to_frame(), res.to_frame())
    with pytest.raises(AttributeError, match="immutable"):
        s.extra = 1
    back = pickle.loads(pickle.dumps(s))
    assert back == s and type(back) is Summary
    pd.testing.assert_frame_equal(back.to_frame(), res.to_frame())


def test_summary_text_keeps_the_printed_layout():
    s = pool(Y, V, method="DL").summary()
    assert s.startswith("Random-effects model (DL), k = 7\ntau^2 = ")
    assert "Test of moderators" in P.meta_regression(Y, V, np.arange(7.0)).summary()
    tf = P.trim_and_fill(pool(Y, V))
    assert tf.summary().splitlines()[0] == (f"Trim-and-fill (L0): {tf.k0} studies filled on the {tf.side}; estimate "
                                            f"{tf.pooled.estimate:.4f} [{tf.pooled.ci_low:.4f}, {tf.pooled.ci_high:.4f}]")


def test_pool_and_pool_many_share_names():
    one = {f.name for f in dataclasses.fields(PoolResult)}
    many = {f.name for f in dataclasses.fields(PoolManyResult) if not f.name.startswith("_")}
    many |= {n for n, v in vars(PoolManyResult).items() if isinstance(v, property)}
    assert one <= many, sorted(one - many)
    fit = pool_many(np.vstack([Y, Y[::-1]]), np.vstack([V, V]), method="PM", tau2=None)
    frame = fit.to_frame()
    for i, y in enumerate((Y, Y[::-1])):
        single = pool(y, V, method="PM").to_frame()
        assert list(frame.columns) == list(single.columns)
        pd.testing.assert_frame_equal(frame.iloc[[i]].reset_index(drop=True), single, check_dtype=False)
    np.testing.assert_array_equal(fit.yi[1], Y[::-1])
    assert not fit.tau2_fixed and pool_many(Y[None], V[None], tau2=0.1).tau2_fixed
