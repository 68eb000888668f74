"""Pooling single proportions with the model the analysis chooses, GLMM first.

Three models (Schwarzer, Chemaitelly, Abu-Raddad & Ruecker, Research Synthesis Methods 10:476-483,
2019; Stijnen, Hamza & Ozdemir, Statistics in Medicine 29:3046-3067, 2010; Lin & Xu, Journal of Clinical
Epidemiology 121:92-100, 2020):

* ``"glmm"`` (default): the random-intercept logistic model with the exact binomial likelihood
  (:func:`netevidence.pooling.glmm_proportion`, as metafor's ``rma.glmm(measure = "PLO")``). No continuity
  correction is needed for 0% or 100% studies. When it cannot be fitted (every study at 0% or every study
  at 100%, or the optimiser does not converge), the logit model is used instead and the result says so
  (``fallback``).
* ``"logit"``: inverse-variance random-effects pooling of the logits (``escalc(measure = "PLO")`` + ``rma``),
  0.5 added to the cells of 0% or 100% studies; back-transformed with the inverse logit.
* ``"ft"``: the Freeman-Tukey double arcsine (``PFT``), back-transformed with the inversion of Miller
  (The American Statistician 32:138, 1978) at the harmonic mean of the sample sizes. Caveat: that
  back-transform can be far off and even non-monotone when the sample sizes differ (Schwarzer et al.
  2019); the result carries the caveat.

Single-study intervals are exact Clopper-Pearson intervals (Clopper & Pearson, Biometrika 26:404-413,
1934; ``study_ci="exact"``, default) or those of the chosen model's scale (``study_ci="model"``: Wald on the
logit or double-arcsine scale, back-transformed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..summary import Summary, summary_of
from .._arrays import readonly
from ..effects.proportions import proportion_effects
from ..effects.transforms import back_transform
from ..effects.validation import as_float_arrays, check_counts, check_level
from .core import pool
from .glmm import glmm_proportion

__all__ = ["ProportionPoolResult", "clopper_pearson", "pool_proportions"]

MODELS = ("glmm", "logit", "ft")
FT_CAVEAT = ("Freeman-Tukey back-transform at the harmonic mean sample size (Miller 1978): can be "
             "misleading when sample sizes differ (Schwarzer et al. 2019)")


def clopper_pearson(events, n, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) confidence limits of ``events / n`` from the beta quantiles."""
    x, m = as_float_arrays(("events", "n"), {"events": events, "n": n})
    check_counts(x, m, None)
    alpha = 1.0 - check_level(level)
    with np.errstate(invalid="ignore"):
        lo = np.where(x > 0, stats.beta.ppf(alpha / 2, x, m - x + 1), 0.0)
        hi = np.where(x < m, stats.beta.ppf(1 - alpha / 2, x + 1, m - x), 1.0)
    return lo, hi


@dataclass(frozen=True)
class ProportionPoolResult:
    """Pooled proportion (``estimate``, ``ci_*``, ``pi_*`` as proportions) with the model used and why."""

    model: str
    model_requested: str
    fallback: str | None
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    k: int
    level: float
    study_ci: str
    caveats: tuple[str, ...]
    events: np.ndarray = field(repr=False)
    n: np.ndarray = field(repr=False)
    study_low: np.ndarray = field(repr=False)
    study_high: np.ndarray = field(repr=False)
    labels: tuple = field(repr=False, default=())

    def to_frame(self) -> pd.DataFrame:
        """One row per study (proportion and its interval), then the pooled row."""
        studies = pd.DataFrame({
            "study": list(self.labels) if self.labels else list(range(self.k)),
            "events": self.events, "n": self.n, "proportion": self.events / self.n,
            "ci_low": self.study_low, "ci_high": self.study_high,
        })
        pooled = pd.DataFrame({"study": [f"pooled ({self.model})"], "events": [self.events.sum()],
                               "n": [self.n.sum()], "proportion": [self.estimate], "ci_low": [self.ci_low],
                               "ci_high": [self.ci_high]})
        return pd.concat([studies, pooled], ignore_index=True)

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text())

    def summary_text(self) -> str:
        lines = [f"Pooled proportion, {self.model} model (k = {self.k}): {self.estimate:.4f} "
                 f"({100 * self.level:g}% CI {self.ci_low:.4f} to {self.ci_high:.4f}; "
                 f"prediction interval {self.pi_low:.4f} to {self.pi_high:.4f}), tau^2 = {self.tau2:.4g}"]
        if self.fallback:
            lines.append(f"requested {self.model_requested}: {self.fallback}")
        lines += [f"caveat: {c}" for c in self.caveats]
        return "\n".join(lines)


def _glmm(x, m, level):
    try:
        fit = glmm_proportion(x, m, level=level)
    except ValueError as exc:
        return None, f"the GLMM cannot be fitted ({exc}); the logit model is used instead"
    if not fit.converged:
        return None, "the GLMM did not converge; the logit model is used instead"
    return fit, None


def pool_proportions(events, n, *, model: str = "glmm", study_ci: str = "exact", level: float = 0.95,
                     method: str = "REML", ci: str = "z", labels=None) -> ProportionPoolResult:
    """Pool single proportions with ``model`` (``"glmm"``, ``"logit"`` or ``"ft"``; see the module docstring).

    ``method`` and ``ci`` are passed to :func:`netevidence.pooling.pool` for the logit and Freeman-Tukey
    models; ``study_ci`` is ``"exact"`` (Clopper-Pearson) or ``"model"``.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS} (got {model!r})")
    if study_ci not in ("exact", "model"):
        raise ValueError(f"study_ci must be 'exact' or 'model' (got {study_ci!r})")
    x, m = as_float_arrays(("events", "n"), {"events": events, "n": n})
    check_counts(x, m, labels)
    level = check_level(level)
    used, fallback, caveats = model, None, []
    fit = None
    if model == "glmm":
        fit, fallback = _glmm(x, m, level)
        if fit is None:
            used = "logit"
    z = stats.norm.isf((1 - level) / 2)
    if used == "glmm":
        est, lo, hi = fit.proportion, fit.proportion_ci_low, fit.proportion_ci_high
        plo, phi, tau2 = fit.proportion_pi_low, fit.proportion_pi_high, fit.tau2
        es = proportion_effects("PLO", x, m)
        transf = back_transform("PLO")
    else:
        measure = "PLO" if used == "logit" else "PFT"
        es = proportion_effects(measure, x, m)
        res = pool(es.yi, es.vi, method=method, ci=ci, level=level)
        transf = back_transform(measure) if measure == "PLO" else back_transform("PFT", n=m)
        p = res.predict(transf)
        est, lo, hi, plo, phi, tau2 = p.pred, p.ci_low, p.ci_high, p.pi_low, p.pi_high, res.tau2
        if measure == "PFT":
            caveats.append(FT_CAVEAT)
    if study_ci == "exact":
        s_lo, s_hi = clopper_pearson(x, m, level=level)
    else:
        se = np.sqrt(es.vi)
        if used == "ft":
            t_lo = [float(back_transform("PFT", n=[ni])(v)) for ni, v in zip(m, es.yi - z * se)]
            t_hi = [float(back_transform("PFT", n=[ni])(v)) for ni, v in zip(m, es.yi + z * se)]
        else:
            t_lo, t_hi = transf(es.yi - z * se), transf(es.yi + z * se)
        s_lo, s_hi = np.minimum(t_lo, t_hi), np.maximum(t_lo, t_hi)
    return ProportionPoolResult(
        model=used, model_requested=model, fallback=fallback, estimate=float(est), ci_low=float(lo),
        ci_high=float(hi), pi_low=float(plo), pi_high=float(phi), tau2=float(tau2), k=int(x.size),
        level=level, study_ci=study_ci, caveats=tuple(caveats), events=readonly(x), n=readonly(m),
        study_low=readonly(s_lo), study_high=readonly(s_hi),
        labels=tuple(labels) if labels is not None else (),
    )
