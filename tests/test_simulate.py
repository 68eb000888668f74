"""Simulation studies: reproducible on any Dask scheduler, and right where the answer is known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netevidence.pooling import pool_many
from netevidence.simulate import (
    SUMS,
    Method,
    Scenario,
    SimulationSpec,
    chunk_seed,
    generate,
    scenarios_grid,
    simulate,
    spec_from_dict,
)

SMALL = SimulationSpec(
    scenarios_grid(k=[3, 6], tau2=[0.0, 0.05], within=[("uniform", 0.01, 0.2)])
    + (Scenario(4, 0.02, ("uniform", 10, 40), "MD"), Scenario(4, 0.02, ("equal", 30), "logOR")),
    (Method("DL", "z"), Method("REML", "knha")),
    replicates=300, seed=7, chunk=100,
)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        with distributed.Client(cl) as client:
            yield cl, client


def test_local_cluster_matches_threads_bit_for_bit(cluster):
    cl, client = cluster
    local = simulate(SMALL)
    remote = simulate(SMALL, scheduler=client)
    by_address = simulate(SMALL, scheduler=cl.scheduler_address)
    assert np.array_equal(local.sums, remote.sums)
    assert np.array_equal(local.sums, by_address.sums)
    assert np.array_equal(local.sums, simulate(SMALL, scheduler="sync").sums)


def test_gosh_and_permutation_tests_on_the_cluster(cluster):
    """GOSH (sampled subsets) and permutation tests give the local results when their tasks run on Dask."""
    from netevidence.pooling import gosh, permutation_test

    _, client = cluster
    rng = np.random.default_rng(4)
    v = rng.uniform(0.01, 0.2, 14)
    y = rng.normal(0.2, np.sqrt(v + 0.05))
    local = gosh(y, v, method="REML", max_subsets=3000, seed=9, chunk_size=500)
    remote = gosh(y, v, method="REML", max_subsets=3000, seed=9, chunk_size=500, scheduler=client)
    assert not local.exact and local.n_subsets == 3000
    for f in ("estimate", "q", "i2", "h2", "tau2"):
        assert np.array_equal(getattr(local, f), getattr(remote, f)), f
    assert np.array_equal(local.incl, remote.incl)
    p_local = permutation_test(y, v, n_iter=70_000, seed=3, exact=False)
    p_remote = permutation_test(y, v, n_iter=70_000, seed=3, exact=False, scheduler=client)
    assert p_local.n_permutations == p_remote.n_permutations == 70_000
    assert np.array_equal(p_local.pval, p_remote.pval) and p_local.qm_pval == p_remote.qm_pval
    x = np.arange(14.0)
    r_local = permutation_test(y, v, x, n_iter=300, seed=1, exact=False, method="DL")
    r_remote = permutation_test(y, v, x, n_iter=300, seed=1, exact=False, method="DL", scheduler="sync")
    assert np.array_equal(r_local.pval, r_remote.pval) and r_local.qm_pval == r_remote.qm_pval


def test_seed_and_chunks_define_the_streams():
    other = SimulationSpec(SMALL.scenarios, SMALL.methods, replicates=300, seed=8, chunk=100)
    assert not np.array_equal(simulate(SMALL, scheduler="sync").sums, simulate(other, scheduler="sync").sums)
    a = np.random.default_rng(chunk_seed(7, 1, 2)).standard_normal(3)
    b = np.random.default_rng(chunk_seed(7, 2, 1)).standard_normal(3)
    assert not np.array_equal(a, b)


def test_measures_against_replicates():
    """Bias, RMSE, coverage, width and their Monte-Carlo SEs from the sums equal the direct computation."""
    sc = Scenario(k=5, tau2=0.04, within=("uniform", 20, 60), measure="logOR", mu=0.3)
    spec = SimulationSpec((sc,), (Method("PM", "knha"),), replicates=250, seed=3, chunk=250)
    res = simulate(spec, scheduler="sync")
    Y, V = generate(sc, 250, np.random.default_rng(chunk_seed(3, 0, 0)))
    fit = pool_many(Y, V, method="PM", ci="knha")
    e = fit.estimate - 0.3
    cov = (fit.ci_low <= 0.3) & (0.3 <= fit.ci_high)
    w = fit.ci_high - fit.ci_low
    R = 250
    np.testing.assert_allclose(res.bias[0, 0], e.mean(), rtol=1e-12)
    np.testing.assert_allclose(res.bias_mcse[0, 0], e.std(ddof=1) / math.sqrt(R), rtol=1e-9)
    np.testing.assert_allclose(res.rmse[0, 0], math.sqrt((e * e).mean()), rtol=1e-12)
    mse = (e * e).mean()
    np.testing.assert_allclose(res.rmse_mcse[0, 0], math.sqrt((e * e).var(ddof=1) / (4 * mse * R)), rtol=1e-9)
    assert res.coverage[0, 0] == cov.mean()
    np.testing.assert_allclose(res.coverage_mcse[0, 0], math.sqrt(cov.mean() * (1 - cov.mean()) / R), rtol=1e-12)
    np.testing.assert_allclose(res.width[0, 0], w.mean(), rtol=1e-12)
    np.testing.assert_allclose(res.width_mcse[0, 0], w.std(ddof=1) / math.sqrt(R), rtol=1e-9)
    frame = res.to_frame()
    assert list(frame.columns[:7]) == ["k", "tau2", "measure", "within", "mu", "method", "ci"]
    assert frame["replicates"].tolist() == [250]


def _within(res, i, j, target, z=3.5):
    se = math.sqrt(target * (1 - target) / res.n[i, j])
    return abs(res.coverage[i, j] - target) <= z * se


def test_coverage_where_it_is_exact():
    """Exact results: (1) with tau^2 = 0 and known variances the common-effect z interval has coverage
    exactly 1 - alpha; (2) with equal within-study variances the Hartung-Knapp-Sidik-Jonkman interval is an
    exact t interval (the weights are equal whatever tau^2 is estimated), so its coverage is 1 - alpha
    for every tau^2. (3) The Wald interval with DerSimonian-Laird tau^2 undercovers badly with few studies
    and much heterogeneity (IntHout, Ioannidis and Borm, BMC Med Res Methodol 2014)."""
    spec = SimulationSpec(
        (Scenario(4, 0.0, ("uniform", 0.01, 0.5)), Scenario(3, 0.1, ("equal", 0.01)), Scenario(5, 0.3, ("equal", 0.1))),
        (Method("EE", "z"), Method("DL", "knha"), Method("REML", "knha"), Method("DL", "z")),
        replicates=4000, seed=2014, chunk=2000,
    )
    res = simulate(spec)
    assert _within(res, 0, 0, 0.95)
    for i in (1, 2):
        assert _within(res, i, 1, 0.95) and _within(res, i, 2, 0.95)
    assert res.coverage[1, 3] < 0.90 and res.coverage[2, 3] < 0.93
    assert (res.converged == 1).all()


@pytest.mark.parametrize("change, match", [
    ({"scenarios": {"k": [1], "tau2": 0, "within": {"equal": 0.1}}}, r"scenarios.k must be whole numbers >= 2"),
    ({"scenarios": {"k": 3, "tau2": -1, "within": {"equal": 0.1}}}, r"scenarios.tau2 must be numbers >= 0"),
    ({"scenarios": {"k": 3, "tau2": 0, "within": {"gamma": 1}}}, r"within\[0\]: unknown distribution 'gamma'"),
    ({"scenarios": {"k": 3, "tau2": 0, "within": {"uniform": [2, 1]}}}, r"uniform bounds must be \[low, high\]"),
    ({"scenarios": {"k": 3, "tau2": 0}}, r"scenarios need within"),
    ({"methods": ["REML/t"]}, r"methods\[0\] = REML/t: ci must be one of"),
    ({"methods": [{"method": "XX"}]}, r"methods\[0\] = XX/z: method must be one of"),
    ({"replicates": 0}, r"replicates must be a whole number >= 1"),
    ({"bogus": 1}, r"unknown key\(s\) bogus"),
    ({"scenarios": {"k": 3, "tau2": 0, "within": {"equal": 0.1}, "measure": "MD"}}, r"patients per arm \(>= 2\)"),
])
def test_spec_errors(change, match):
    base = {"scenarios": {"k": 3, "tau2": 0.1, "within": {"equal": 0.1}}, "methods": ["REML/z"], "replicates": 10}
    base.update(change)
    with pytest.raises(ValueError, match=match):
        spec_from_dict(base, where="spec.yaml")


def test_spec_grid_from_dict():
    spec = spec_from_dict({"scenarios": {"k": [3, 5], "tau2": [0, 0.1], "within": [{"equal": 10}, "uniform:5:50"],
                                         "measure": ["generic", "logOR"]},
                           "methods": ["DL/z", {"method": "REML", "ci": "knha"}], "seed": 1, "replicates": 20})
    assert len(spec.scenarios) == 16 and [m.label for m in spec.methods] == ["DL/z", "REML/knha"]
    assert spec.scenarios[1] == Scenario(3, 0.0, ("equal", 10.0), "logOR")
    assert len(SUMS) == simulate(spec, scheduler="sync").sums.shape[2]


def test_cli_simulate(tmp_path, capsys):
    from netevidence.cli import main

    spec = tmp_path / "spec.yaml"
    spec.write_text("seed: 5\nreplicates: 200\nchunk: 100\nmethods: [DL/z, REML/knha]\n"
                    "scenarios:\n  k: [3, 5]\n  tau2: 0.05\n  within: {uniform: [0.01, 0.2]}\n")
    out = tmp_path / "res.csv"
    assert main(["simulate", str(spec), "--out", str(out), "--quiet"]) == 0
    import pandas as pd

    frame = pd.read_csv(out)
    assert frame.shape[0] == 4 and set(frame["method"]) == {"DL", "REML"}
    direct = simulate(spec_from_dict({"seed": 5, "replicates": 200, "chunk": 100, "methods": ["DL/z", "REML/knha"],
                                      "scenarios": {"k": [3, 5], "tau2": 0.05, "within": {"uniform": [0.01, 0.2]}}}))
    np.testing.assert_array_equal(frame["coverage"].to_numpy(), direct.coverage.ravel())
    bad = tmp_path / "bad.yaml"
    bad.write_text("methods: [REML/z]\nscenarios: {k: 1, tau2: 0, within: {equal: 0.1}}\n")
    assert main(["simulate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml: scenarios.k must be whole numbers >= 2" in err and "Traceback" not in err


def test_cli_unreachable_scheduler(tmp_path, capsys):
    import dask

    from netevidence.cli import main

    spec = tmp_path / "spec.yaml"
    spec.write_text("methods: [DL/z]\nreplicates: 10\nscenarios: {k: 3, tau2: 0, within: {equal: 0.1}}\n")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main(["simulate", str(spec), "--scheduler", "tcp://127.0.0.1:9", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "could not reach the Dask scheduler at tcp://127.0.0.1:9" in err and "Traceback" not in err
