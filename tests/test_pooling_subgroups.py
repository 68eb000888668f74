"""Subgroup analysis against metafor (tests/reference/sensitivity.R)."""

from __future__ import annotations

import numpy as np
import pytest

from netevidence.pooling.subgroups import subgroup_analysis
from sensitivity_reference import DATA, ATOL, results, arr, close


def run(ref, tau2):
    ds = DATA[ref["dataset"]]
    args = ref["args"]
    return subgroup_analysis(ds["yi"], ds["vi"], ds[args["group"]], tau2=tau2, method=args["method"],
                             ci=args["ci"])


@pytest.mark.parametrize("ref", results("subgroup_separate"), ids=lambda r: r["id"])
def test_separate_tau2(ref):
    res = run(ref, "separate")
    R = ref["result"]
    assert list(res.levels) == list(np.atleast_1d(R["levels"]))
    groups = [R["groups"][lev] for lev in res.levels]
    for ours, theirs in [("estimate", "beta"), ("se", "se"), ("statistic", "zval"), ("pval", "pval"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("tau2", "tau2"), ("q", "QE"),
                         ("q_pval", "QEp"), ("i2", "I2")]:
        # I^2 is in percent: where tau^2 sits on the boundary metafor stops at ~1e-10 %, ours at 0
        close(getattr(res, ours), [g[theirs] for g in groups], atol=1e-8 if ours == "i2" else ATOL)
    assert list(res.k) == [g["k"] for g in groups]
    close(res.q_between, R["between"]["QM"])
    close(res.q_between_pval, R["between"]["QMp"])
    assert res.q_between_df == len(res.levels) - 1
    assert res.q_between_df2 is None
    assert res.to_frame().shape == (len(res.levels), 11)


@pytest.mark.parametrize("ref", results("subgroup_common"), ids=lambda r: r["id"])
def test_common_tau2_between_test(ref):
    res = run(ref, "common")
    R = ref["result"]
    close(res.q_between, R["QM"])
    close(res.q_between_pval, R["QMp"])
    close(res.tau2, np.full(len(res.levels), R["tau2"]))
    close(res.qe, R["QE"])
    close(res.qe_pval, R["QEp"])
    assert res.q_between_df == arr(R["QMdf"])[0]
    if ref["args"]["ci"] == "z":
        assert res.q_between_df2 is None
    else:
        assert res.q_between_df2 == arr(R["QMdf"])[1]


@pytest.mark.parametrize("ref", results("subgroup_common_cell"), ids=lambda r: r["id"])
def test_common_tau2_group_estimates(ref):
    res = run(ref, "common")
    R = ref["result"]
    for ours, theirs in [("estimate", "beta"), ("se", "se"), ("statistic", "zval"), ("pval", "pval"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub")]:
        close(getattr(res, ours), R[theirs])
    assert "Test for subgroup differences" in res.summary()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(groups=["a", "a", "a"]), "at least 2 groups"),
        (dict(groups=["a", None, "b"]), "study 1: subgroup label must not be missing"),
        (dict(groups=["a", "b"]), "one label per study"),
        (dict(groups=["a", "b", "b"], tau2="pooled"), "tau2 must be"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        subgroup_analysis([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], method="DL", **kwargs)
