"""The Bayesian pool in analyses: method bayes, and beside the frequentist pool when k < bayes_below."""

from __future__ import annotations

import numpy as np
import pytest

from netevidence import load_evidence
from netevidence.pooling import TauPrior, bayes_pool, pool, turner_prior
from netevidence.specs import run_spec
from netevidence.specs.schema import AnalysisSpec

PRIMARY = """\
id: {id}
name: {name}
design: retrospective_cohort
modality: [tace, tae]
citation: {id}
sources:
  {id}: {{title: Study {name}, year: 2015}}
arms:
  - {{id: tace, label: TACE, modality: tace}}
  - {{id: tae, label: TAE, modality: tae}}
outcomes:
  - endpoint: pfs
    arm: tace
    comparator: tae
    statistic: {{kind: hazard_ratio, estimate: {hr}, ci_low: {lo}, ci_high: {hi}}}
    provenance: {{source: {id}, location: table 2, kind: primary, verified: true}}
"""


@pytest.fixture(scope="module")
def three_trials(tmp_path_factory):
    d = tmp_path_factory.mktemp("bayes")
    for sid, hr, lo, hi in (("p1", 0.8, 0.5, 1.28), ("p2", 0.55, 0.35, 0.86), ("p3", 1.1, 0.7, 1.73)):
        (d / f"{sid}.yaml").write_text(PRIMARY.format(id=sid, name=sid.upper(), hr=hr, lo=lo, hi=hi))
    return load_evidence(d)


def _spec(**model):
    return AnalysisSpec.model_validate({"id": "x", "title": "x", "select": {"endpoints": ["pfs"]},
                                        "model": model})


def _pooled(st):
    rows = st.rows[st.rows["role"] == "study"]
    return rows["yi"].to_numpy(float), rows["vi"].to_numpy(float)


def test_few_studies_show_the_bayesian_pool_beside_the_frequentist_one(three_trials):
    (st,) = run_spec(three_trials, _spec()).strata
    yi, vi = _pooled(st)
    ref = bayes_pool(yi, vi, tau_prior="half_normal", tau_scale=0.5)
    assert st.fit.k == 3 and st.bayes is not None and not st.bayes.headline
    assert st.bayes.estimate == pytest.approx(np.exp(ref.estimate), rel=1e-12)
    assert (st.bayes.ci_low, st.bayes.ci_high) == pytest.approx((np.exp(ref.ci_low), np.exp(ref.ci_high)),
                                                                rel=1e-12)
    summary = st.summary()
    assert summary["bayes_estimate"] == st.bayes.estimate and summary["estimate"] == st.prediction.pred
    assert "half-normal(scale = 0.5)" in summary["bayes_prior"]
    assert any("k = 3 < 5" in n for n in st.notes)


def test_method_bayes_with_a_turner_prior(three_trials):
    spec = _spec(method="bayes", prior={"tau": "turner", "outcome": "all-cause mortality",
                                        "comparison": "non-pharmacological vs placebo/control"})
    (st,) = run_spec(three_trials, spec).strata
    yi, vi = _pooled(st)
    ref = bayes_pool(yi, vi, tau_prior=turner_prior("all-cause mortality", "non-pharmacological vs placebo/control"))
    assert st.bayes.headline and st.bayes.result.estimate == pytest.approx(ref.estimate, rel=1e-12)
    # the frequentist fit beside it is REML
    assert st.fit.estimate == pytest.approx(pool(yi, vi, method="REML").estimate, rel=1e-12)


def test_bayes_below_zero_switches_it_off_and_half_cauchy_scale(three_trials):
    (st,) = run_spec(three_trials, _spec(bayes_below=0)).strata
    assert st.bayes is None and "bayes_estimate" not in st.summary()
    (st,) = run_spec(three_trials, _spec(prior={"tau": "half_cauchy", "scale": 1.0})).strata
    yi, vi = _pooled(st)
    ref = bayes_pool(yi, vi, tau_prior=TauPrior.half_cauchy(1.0))
    assert st.bayes.result.tau_median == pytest.approx(ref.tau_median, rel=1e-12)


def test_bad_priors_are_refused():
    with pytest.raises(ValueError, match="no Turner et al"):
        _spec(prior={"tau": "turner", "outcome": "pain"})
    with pytest.raises(ValueError, match="greater than 0"):
        _spec(prior={"tau": "half_normal", "scale": 0})
