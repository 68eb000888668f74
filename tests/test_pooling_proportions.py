"""Single proportions: GLMM first with a reported fallback to logit, Freeman-Tukey with its caveat,
Clopper-Pearson study intervals; against metafor / lme4 / binom.test (tests/reference/proportions.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from netevidence.pooling import clopper_pearson, pool_proportions
from netevidence.pooling.proportions import FT_CAVEAT

REF = json.loads((Path(__file__).parent / "reference" / "proportions.json").read_text())
SETS = [k for k in REF if k != "meta"]


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("model, rtol", [("glmm", 2e-4), ("logit", 1e-7), ("ft", 1e-7)])
def test_models_match_metafor(name, model, rtol):
    ref = REF[name]
    res = pool_proportions(ref["events"], ref["n"], model=model)
    R = ref[model]
    assert res.model == model and res.fallback is None
    np.testing.assert_allclose([res.estimate, res.ci_low, res.ci_high, res.pi_low, res.pi_high],
                               [R["pred"], R["ci_low"], R["ci_high"], R["pi_low"], R["pi_high"]],
                               rtol=rtol, atol=1e-8)
    assert (FT_CAVEAT in res.caveats) == (model == "ft")


@pytest.mark.parametrize("name", SETS)
def test_clopper_pearson_matches_binom_test(name):
    ref = REF[name]
    lo, hi = clopper_pearson(ref["events"], ref["n"])
    np.testing.assert_allclose(lo, ref["clopper_pearson"]["low"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(hi, ref["clopper_pearson"]["high"], rtol=1e-10, atol=1e-14)
    res = pool_proportions(ref["events"], ref["n"])
    np.testing.assert_array_equal(res.study_low, lo)
    assert res.study_ci == "exact"


def test_glmm_falls_back_to_logit_and_says_why():
    res = pool_proportions([0, 0, 0], [12, 20, 9])
    assert res.model_requested == "glmm" and res.model == "logit"
    assert "the GLMM cannot be fitted" in res.fallback and "logit model is used instead" in res.fallback
    assert "requested glmm" in res.summary()
    logit = pool_proportions([0, 0, 0], [12, 20, 9], model="logit")
    assert res.estimate == logit.estimate


def test_model_based_study_intervals():
    res = pool_proportions([4, 9, 2], [21, 30, 17], model="logit", study_ci="model")
    p, n = np.array([4, 9, 2]) / np.array([21, 30, 17]), np.array([21, 30, 17])
    logit, se = np.log(p / (1 - p)), np.sqrt(1 / (n * p * (1 - p)))
    expit = lambda x: 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(res.study_low, expit(logit - 1.959963984540054 * se), rtol=1e-12)
    assert res.study_ci == "model"
    frame = res.to_frame()
    assert list(frame["study"])[-1] == "pooled (logit)"


def test_bad_options():
    with pytest.raises(ValueError, match="model must be one of"):
        pool_proportions([1], [10], model="probit")
    with pytest.raises(ValueError, match="study_ci must be"):
        pool_proportions([1], [10], study_ci="wilson")
    with pytest.raises(ValueError, match="events"):
        pool_proportions([11], [10])
