"""pool_many(): row-for-row identical to pool(), and against metafor through the same references."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netevidence.pooling import pool, pool_many

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "pooling_reference.json").read_text())
CONV = json.loads((REF_DIR / "pooling_convergence.json").read_text())
METHODS = ["EE", "DL", "HE", "HS", "SJ", "ML", "REML", "PM", "EB"]
FIELDS = ["estimate", "se", "ci_low", "ci_high", "statistic", "pval", "df", "pi_low", "pi_high", "tau2", "tau2_se",
          "tau2_ci_low", "tau2_ci_high", "i2", "i2_ci_low", "i2_ci_high", "h2", "h2_ci_low", "h2_ci_high",
          "q", "q_df", "q_pval", "converged"]


def padded(datasets):
    K = max(len(y) for y, _ in datasets)
    Y = np.full((len(datasets), K), np.nan)
    V = np.full((len(datasets), K), np.nan)
    for i, (y, v) in enumerate(datasets):
        Y[i, : len(y)] = y
        V[i, : len(v)] = v
    return Y, V


def assert_rows_equal_pool(Y, V, **kw):
    res = pool_many(Y, V, **kw)
    assert len(res) == Y.shape[0]
    for i in range(Y.shape[0]):
        keep = ~np.isnan(Y[i])
        one = pool(Y[i][keep], V[i][keep], **kw)
        for name in FIELDS:
            a, b = getattr(one, name), getattr(res, name)[i]
            assert (a == b) or (np.isnan(a) and np.isnan(b)), f"row {i} {name}: pool {a!r} != pool_many {b!r} ({kw})"
        np.testing.assert_array_equal(res.weights[i][keep], one.weights)
        assert np.isnan(res.weights[i][~keep]).all()
        assert res.k[i] == one.k
    return res


def random_padded(rng, m, K, kmin=1):
    V = rng.exponential(size=(m, K)) * 0.1
    Y = rng.normal(0.0, np.sqrt(V + rng.exponential(0.05, size=(m, 1))))
    ks = rng.integers(kmin, K + 1, size=m)
    for i, k in enumerate(ks):
        drop = rng.choice(K, size=K - k, replace=False)  # padding anywhere in the row
        Y[i, drop] = np.nan
        V[i, drop] = np.nan
    return Y, V


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("ci", ["z", "knha", "adhoc"])
def test_rows_identical_to_pool(method, ci):
    rng = np.random.default_rng(10 * METHODS.index(method) + ["z", "knha", "adhoc"].index(ci))
    Y, V = random_padded(rng, 25, 9)
    assert_rows_equal_pool(Y, V, method=method, ci=ci)


@pytest.mark.parametrize("kw", [dict(pi="hts"), dict(i2="q"), dict(level=0.9), dict(tau2=0.02),
                                dict(method="PM", ci="knha", pi="hts", i2="q", level=0.8)])
def test_rows_identical_to_pool_options(kw):
    rng = np.random.default_rng(7)
    Y, V = random_padded(rng, 20, 7)
    assert_rows_equal_pool(Y, V, **kw)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 10), st.sampled_from(METHODS))
def test_rows_identical_to_pool_property(seed, m, K, method):
    Y, V = random_padded(np.random.default_rng(seed), m, K)
    assert_rows_equal_pool(Y, V, method=method)


def test_reference_data_sets_through_pool_many():
    """All reference fits at level 0.95 without fixed tau^2, one pool_many call per method x test."""
    data = {d["name"]: (d["yi"], d["vi"]) for d in REF["datasets"]}
    names = list(data)
    Y, V = padded([data[n] for n in names])
    fits = {(f["dataset"], f["method"], f["test"]): f for f in REF["fits"]
            if f["level"] == 0.95 and f["tau2_fixed"] is None}
    for method in METHODS:
        for ci in ("z", "knha", "adhoc"):
            res = pool_many(Y, V, method=method, ci=ci)
            for i, n in enumerate(names):
                f = fits[(n, method, ci)]
                for name in ["estimate", "se", "ci_low", "ci_high", "statistic", "tau2", "i2", "q", "pi_low"]:
                    if f[name] is None:
                        continue
                    np.testing.assert_allclose(getattr(res, name)[i], f[name], rtol=1e-6, atol=1e-12,
                                               err_msg=f"{name} of {f['call']} on {n}")
                if "confint_call" in f:
                    np.testing.assert_allclose([res.tau2_ci_low[i], res.tau2_ci_high[i]],
                                               [f["tau2_ci_low"], f["tau2_ci_high"]], rtol=1e-6, atol=1e-12)


def test_convergence_sets_vectorised():
    sets = CONV["failures"]
    Y = np.array([f["yi"] for f in sets])
    V = np.array([f["vi"] for f in sets])
    res = pool_many(Y, V, method="REML")
    assert res.converged.all()
    np.testing.assert_allclose(res.tau2, [f["stepadj_tau2"] for f in sets], rtol=1e-6)


def test_predict_and_frame():
    rng = np.random.default_rng(3)
    Y, V = random_padded(rng, 6, 5)
    res = pool_many(Y, V)
    p = res.predict(transf=lambda x: -x)
    for i in range(6):
        keep = ~np.isnan(Y[i])
        one = pool(Y[i][keep], V[i][keep]).predict(transf=lambda x: -x)
        assert (p.pred[i], p.ci_low[i], p.ci_high[i], p.pi_low[i], p.pi_high[i]) == (
            one.pred, one.ci_low, one.ci_high, one.pi_low, one.pi_high)
    frame = res.to_frame()
    assert frame.shape[0] == 6 and (frame["tau2"].to_numpy() == res.tau2).all()
    assert (frame["tau2_ci_high"].to_numpy() == res.tau2_ci_high).all()
    with pytest.raises(ValueError):
        res.estimate[0] = 1.0


@pytest.mark.parametrize(
    "Y, V, match",
    [
        ([[0.1, 0.2]], [[0.1, 0.2, 0.3]], "same shape"),
        ([[0.1, np.nan]], [[0.1, 0.2]], r"row 0, study 1: padding must be NaN in both Y and V"),
        ([[0.1, 0.2], [np.nan, np.nan]], [[0.1, 0.2], [np.nan, np.nan]], "row 1: k = 0"),
        ([[0.1, 0.2], [0.3, np.inf]], [[0.1, 0.2], [0.1, 0.2]], r"row 1, study 1: yi must be finite"),
        ([[0.1, 0.2], [0.3, 0.4]], [[0.1, 0.2], [0.1, -0.2]], r"row 1, study 1: vi must be finite and > 0"),
        (np.zeros((2, 2, 2)), np.ones((2, 2, 2)), "two-dimensional"),
        ([[0.1, 0.2], [0.3, 2e50]], [[0.1, 0.2], [0.1, 0.2]], r"row 1, study 1: \|yi\| = 2e\+50 exceeds"),
        ([[0.1, 0.2], [0.3, 0.4]], [[0.1, 0.2], [1e-60, 0.2]], r"row 1, study 0: vi = 1e-60 lies outside"),
        ([[0.1, 0.2], [0.3, 0.4]], [[0.1, 0.2], [0.1, 2e50]], r"row 1, study 1: vi = 2e\+50 lies outside"),
        ([[0.1, 0.2], [0.3, 0.4]], [[0.1, np.nan], [0.1, 0.2]], r"row 0, study 1: padding must be NaN in both"),
    ],
)
def test_bad_input(Y, V, match):
    with pytest.raises(ValueError, match=match):
        pool_many(Y, V)


def test_inputs_are_copied_whatever_their_layout():
    """The one-pass check and copy of full arrays: results equal for C order, Fortran order, a strided view
    and integer input, and the result keeps its own copy of the data the caller may change afterwards."""
    rng = np.random.default_rng(5)
    V = rng.uniform(0.01, 0.3, (40, 6))
    Y = rng.normal(0.2, np.sqrt(V + 0.04))
    ref = pool_many(Y, V)
    for Yx, Vx in [(np.asfortranarray(Y), np.asfortranarray(V)),
                   (np.repeat(Y, 2, axis=1)[:, ::2], np.repeat(V, 2, axis=1)[:, ::2])]:
        got = pool_many(Yx, Vx)
        np.testing.assert_array_equal(got.estimate, ref.estimate)
        np.testing.assert_array_equal(got.tau2, ref.tau2)
    ints = pool_many(np.arange(12).reshape(3, 4) % 5, np.ones((3, 4), dtype=int))
    np.testing.assert_array_equal(ints.yi, (np.arange(12).reshape(3, 4) % 5).astype(float))
    assert ints.k.tolist() == [4, 4, 4] and ints.k.dtype == pool_many([[0.1, 0.2, np.nan]], [[0.1, 0.1, np.nan]]).k.dtype
    Ym, Vm = Y.copy(), V.copy()
    res = pool_many(Ym, Vm)
    Ym[:] = 0.0
    Vm[:] = 1.0
    np.testing.assert_array_equal(res.yi, Y)
    np.testing.assert_array_equal(res.vi, V)


def test_bad_option():
    with pytest.raises(ValueError, match="method must be one of"):
        pool_many([[0.1, 0.2]], [[0.1, 0.1]], method="GENQ")


def test_blocks_of_rows_do_not_change_results():
    """More rows than one internal block: every row equals its own fit."""
    rng = np.random.default_rng(11)
    Y, V = random_padded(rng, 4100, 6, kmin=2)
    res = pool_many(Y, V, method="REML")
    picks = [0, 1, 4095, 4096, 4097, 4099]
    part = pool_many(Y[picks], V[picks], method="REML")
    for name in ["estimate", "tau2", "se", "pi_low", "q", "i2", "tau2_ci_high"]:
        np.testing.assert_array_equal(getattr(res, name)[picks], getattr(part, name))
    keep = ~np.isnan(Y[4097])
    assert pool(Y[4097][keep], V[4097][keep]).tau2 == res.tau2[4097]


@pytest.mark.parametrize("method", ["REML", "PM"])
def test_many_blocks_on_threads_identical_to_pool(method):
    """Enough rows for several blocks (shared among threads): every row is still its own pool() fit."""
    rng = np.random.default_rng(11)
    Y, V = random_padded(rng, 3 * 4096 + 17, 8, kmin=2)
    res = pool_many(Y, V, method=method)
    some = rng.choice(Y.shape[0], size=40, replace=False)
    for i in some:
        keep = ~np.isnan(Y[i])
        one = pool(Y[i][keep], V[i][keep], method=method)
        for name in ["estimate", "se", "tau2", "tau2_se", "q", "converged", "tau2_ci_low", "tau2_ci_high"]:
            assert getattr(one, name) == getattr(res, name)[i], (i, name)
    assert res.converged.all()


def test_chi_square_tail_of_whole_degrees_of_freedom_equals_scipy():
    """The finite sums behind Cochran's Q p-value (Abramowitz and Stegun 26.4.4-5) agree with scipy's
    incomplete gamma function to 1e-12 relative, from Q = 0 to the underflow region, for df 1 to 150."""
    from scipy import special

    from netevidence.pooling._kernel import chi2_sf

    x = np.concatenate(([0.0, 1e-300, 1e-12, 2000.0, np.nan], np.logspace(-8, np.log10(1500), 400)))
    for df in (1, 2, 3, 4, 7, 8, 19, 20, 63, 100, 101, 150):
        got = chi2_sf(df, x)
        ref = special.chdtrc(df, x)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)
    assert chi2_sf(3, np.array([-1.0]))[0] == 1.0
