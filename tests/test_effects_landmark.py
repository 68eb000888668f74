"""Variance ladder for landmark survival without a reported CI (netevidence.effects.landmark).

Greenwood's variance is checked against R's survival package (tests/reference/landmark.R): the log-log
interval built from (yi, vi) must equal survfit's ``conf.type = "log-log"`` interval.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from netevidence.effects.landmark import (
    check_rungs, followed_share, landmark_effect, survival_from_effective_n, survival_from_greenwood, survival_from_n,
)
from netevidence.survival import kaplan_meier

REF = json.loads((Path(__file__).parent / "reference" / "landmark.json").read_text())["results"]
Z = norm.isf(0.025)


def _km_at(km, t):
    i = int(np.searchsorted(km.time, t, side="right") - 1)
    return float(km.survival[i]), float(km.std_err[i])


@pytest.mark.parametrize("ref", REF, ids=lambda r: r["name"])
def test_greenwood_rung_matches_r_survival(ref):
    km = kaplan_meier(np.array(ref["time"]), np.array(ref["status"], dtype=int))
    for j, t in enumerate(ref["times"]):
        s_km, se_log = _km_at(km, t)
        assert s_km == pytest.approx(ref["surv"][j], rel=1e-12)
        # survfit's summary std.err is the standard error of S = S * se(log S)
        assert s_km * se_log == pytest.approx(ref["std_err"][j], rel=1e-10)
        eff = survival_from_greenwood(np.array([s_km]), np.array([s_km]), np.array([se_log]))
        yi, se = eff.yi[0], np.sqrt(eff.vi[0])
        lower, upper = np.exp(-np.exp(yi + Z * se)), np.exp(-np.exp(yi - Z * se))
        assert lower == pytest.approx(ref["lower"][j], rel=1e-10)
        assert upper == pytest.approx(ref["upper"][j], rel=1e-10)
        assert eff.derivation == ("greenwood",)


def test_peto_and_no_censoring_closed_forms():
    s = 0.6
    peto = landmark_effect(s, n_at_risk=25, rungs=["n_at_risk"])
    assert peto.derivation == ("n_at_risk",)
    # var(S) = S^2 (1 - S) / n(t); delta method to log(-log S): / (S log S)^2
    assert peto.vi[0] == pytest.approx(s ** 2 * (1 - s) / 25 / (s * np.log(s)) ** 2, rel=1e-14)
    binom = survival_from_n(np.array([s]), np.array([40.0]))
    assert binom.derivation == ("n_no_censoring",)
    assert binom.vi[0] == pytest.approx(s * (1 - s) / 40 / (s * np.log(s)) ** 2, rel=1e-14)
    assert binom.yi[0] == pytest.approx(np.log(-np.log(s)), rel=1e-14)


def test_without_censoring_greenwood_equals_the_binomial_rung():
    # no censoring before t: Greenwood's variance of S is S (1 - S) / n exactly
    time = np.array([1.0, 2, 2, 3, 5, 6, 7, 8, 9, 10])
    km = kaplan_meier(time, np.ones(10, dtype=int))
    s_km, se_log = _km_at(km, 5.5)
    g = survival_from_greenwood(np.array([s_km]), np.array([s_km]), np.array([se_log]))
    b = survival_from_n(np.array([s_km]), np.array([10.0]))
    assert g.vi[0] == pytest.approx(b.vi[0], rel=1e-12)


def test_ladder_takes_the_first_allowed_rung_the_data_give():
    kw = dict(ci_low=0.5, ci_high=0.8, surv_km=0.64, se_log_km=0.1, n_at_risk=20, n=50)
    assert landmark_effect(0.65, **kw).derivation == ("ci",)
    assert landmark_effect(0.65, **{**kw, "ci_low": None}).derivation == ("greenwood",)
    assert landmark_effect(0.65, **{**kw, "ci_low": None, "se_log_km": None}).derivation == ("n_at_risk",)
    # rung (d) only when allowed
    only_n = dict(n=50)
    assert landmark_effect(0.65, **only_n) is None
    assert landmark_effect(0.65, **only_n, rungs=["ci", "n"]).derivation == ("n_no_censoring",)
    # a stricter list skips the rungs it does not allow
    assert landmark_effect(0.65, **kw, rungs=["n_at_risk", "n"]).derivation == ("n_at_risk",)


def test_rungs_are_validated_and_ordered():
    assert check_rungs(["n", "ci"]) == ("ci", "n")
    with pytest.raises(ValueError, match="unknown survival variance source"):
        check_rungs(["bootstrap"])
    with pytest.raises(ValueError, match="at least one"):
        check_rungs([])
    with pytest.raises(ValueError, match="n = 0 is not positive"):
        survival_from_n(np.array([0.5]), np.array([0.0]))
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        survival_from_n(np.array([1.0]), np.array([10.0]))


def test_followed_share_is_piecewise_linear_through_the_reported_follow_up():
    # median only: uniform follow-up on [0, 2F], G(t) = 1 - t / (2F)
    assert followed_share(12.0, 24.0) == pytest.approx(1 - 12 / 48, rel=1e-15)
    assert followed_share(60.0, 24.0) == 0.0
    # shortest 6, median 24, longest 60: 1 -> 1/2 on [6, 24], 1/2 -> 0 on [24, 60]
    assert followed_share(3.0, 24.0, 6.0, 60.0) == 1.0
    assert followed_share(12.0, 24.0, 6.0, 60.0) == pytest.approx(1 - 0.5 * 6 / 18, rel=1e-15)
    assert followed_share(36.0, 24.0, 6.0, 60.0) == pytest.approx(0.5 - 0.5 * 12 / 36, rel=1e-15)
    assert followed_share(61.0, 24.0, 6.0, 60.0) == 0.0
    with pytest.raises(ValueError, match="shortest <= median <= longest"):
        followed_share(12.0, 24.0, 30.0, 60.0)


def test_effective_sample_size_rung_is_petos_variance_with_n_times_g():
    s, n, g = 0.7, 80.0, 0.6
    eff = survival_from_effective_n(np.array([s]), np.array([n]), np.array([g]))
    assert eff.derivation == ("n_effective",)
    # closed form: var(S) = S (1 - S) / (n G), delta method to log(-log S)
    assert eff.vi[0] == pytest.approx(s * (1 - s) / (n * g) / (s * np.log(s)) ** 2, rel=1e-13)
    # the same as Peto's rung (c) with the expected number at risk n(t) = n S G
    peto = landmark_effect(s, n_at_risk=n * s * g, rungs=["n_at_risk"])
    assert eff.vi[0] == pytest.approx(peto.vi[0], rel=1e-13)
    # G = 1 (nobody censored before t) is rung (d) without censoring
    assert survival_from_effective_n(np.array([s]), np.array([n]), np.array([1.0])).vi[0] == pytest.approx(
        survival_from_n(np.array([s]), np.array([n])).vi[0], rel=1e-14)
    # the ladder uses it for rung (d) only when given a share
    assert landmark_effect(s, n=n, share=g, rungs=["ci", "n"]).derivation == ("n_effective",)
    assert landmark_effect(s, n=n, rungs=["ci", "n"]).derivation == ("n_no_censoring",)
    with pytest.raises(ValueError, match="beyond the follow-up"):
        survival_from_effective_n(np.array([s]), np.array([n]), np.array([0.0]))
