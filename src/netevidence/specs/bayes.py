"""The Bayesian random-effects pool of a forest plot's rows, shown beside the frequentist one.

With few studies (fewer than ``model.bayes_below``, default 5) or when ``model.method`` is ``bayes``, each
stratum also gets :func:`netevidence.pooling.bayes_pool` on its pooled rows with the specification's prior
on tau (half-normal with scale 0.5 unless stated; Roever, Journal of Statistical Software, 2020), its
posterior median, shortest credible interval and predictive interval back-transformed to the reporting
scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..pooling.bayes import BayesPoolResult, TauPrior, bayes_pool, turner_prior
from .schema import AnalysisSpec


@dataclass(frozen=True)
class BayesFit:
    """A stratum's Bayesian pool and its values on the reporting scale."""

    result: BayesPoolResult
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    headline: bool

    def summary(self) -> dict[str, Any]:
        r = self.result
        return {"bayes_estimate": self.estimate, "bayes_ci_low": self.ci_low, "bayes_ci_high": self.ci_high,
                "bayes_pi_low": self.pi_low, "bayes_pi_high": self.pi_high, "bayes_tau_median": r.tau_median,
                "bayes_tau_ci_low": r.tau_ci_low, "bayes_tau_ci_high": r.tau_ci_high, "bayes_prior": r.tau_prior}


def spec_prior(spec: AnalysisSpec) -> TauPrior:
    p = spec.model.prior
    if p.tau == "half_normal":
        return TauPrior.half_normal(p.scale)
    if p.tau == "half_cauchy":
        return TauPrior.half_cauchy(p.scale)
    return turner_prior(p.outcome, p.comparison)


def wants_bayes(spec: AnalysisSpec, k: int) -> bool:
    """Whether a stratum with ``k`` pooled studies gets the Bayesian pool."""
    m = spec.model
    return m.pool and k >= m.min_studies and (m.method == "bayes" or k < m.bayes_below)


def bayes_fit(spec: AnalysisSpec, yi, vi, transf: Callable | None, labels=None) -> BayesFit:
    """The Bayesian pool of the stratum's rows, back-transformed with ``transf``."""
    res = bayes_pool(np.asarray(yi, float), np.asarray(vi, float), tau_prior=spec_prior(spec),
                     level=spec.model.level, labels=labels)
    f = transf if transf is not None else (lambda x: x)

    def interval(lo: float, hi: float) -> tuple[float, float]:
        a, b = float(f(lo)), float(f(hi))
        return min(a, b), max(a, b)

    ci = interval(res.ci_low, res.ci_high)
    pi = interval(res.pi_low, res.pi_high)
    return BayesFit(result=res, estimate=float(f(res.estimate)), ci_low=ci[0], ci_high=ci[1], pi_low=pi[0],
                    pi_high=pi[1], headline=spec.model.method == "bayes")
