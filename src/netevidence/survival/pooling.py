"""Pooling survival summaries across studies with the package's pooling engine.

* Landmark survival (1-, 3-, 5-year survival and the like) on the complementary log-log scale
  log(-log S) (Kalbfleisch & Prentice, 1980), effect sizes from ``effects.effect_size("SURV", ...)``.
* Median survival times on the log scale, standard error from the confidence interval
  (``effects.effect_size("MEDIAN", ...)``; Brookmeyer & Crowley, Biometrics 1982).
* Ratios of medians, log(median1 / median2) (``effects.effect_size("ROM_SURV", ...)``; Michiels et al.,
  Int J Technol Assess Health Care 2005).

Pooling is ``pooling.pool`` (random effects, REML by default, as metafor's ``rma``); the pooled value and
its intervals are back-transformed with ``effects.back_transform`` through ``PoolResult.predict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..summary import Summary, summary_of
from ..effects import back_transform, effect_size
from ..pooling import pool

__all__ = ["PooledSurvival", "pool_landmark_survival", "pool_medians", "pool_median_ratios"]


@dataclass(frozen=True)
class PooledSurvival:
    """A pooled survival summary on its natural scale (survival fraction, months, ratio), with the
    underlying ``PoolResult`` (``.pooled``, on the analysis scale) and the per-study effect sizes."""

    measure: str
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    pooled: Any
    effects: pd.DataFrame

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text())

    def summary_text(self) -> str:
        pct = int(round(self.pooled.level * 100))
        return (f"{self.measure}: {self.estimate:.4g} ({pct}% CI {self.ci_low:.4g} to {self.ci_high:.4g}), "
                f"k={self.pooled.k}, tau^2 {self.pooled.tau2:.4g}, I^2 {self.pooled.i2:.1f}%")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"measure": self.measure, "estimate": self.estimate, "ci_low": self.ci_low,
                              "ci_high": self.ci_high, "pi_low": self.pi_low, "pi_high": self.pi_high,
                              "k": self.pooled.k}])


def _pool(measure: str, es: pd.DataFrame, pool_kwargs: dict) -> PooledSurvival:
    res = pool(es["yi"].to_numpy(dtype=float), es["vi"].to_numpy(dtype=float), **pool_kwargs)
    pr = res.predict(transf=back_transform(measure))
    lo, hi = sorted((pr.ci_low, pr.ci_high))  # exp(-exp(x)) reverses the order
    plo, phi = sorted((pr.pi_low, pr.pi_high))
    return PooledSurvival(measure=measure, estimate=float(pr.pred), ci_low=float(lo), ci_high=float(hi),
                          pi_low=float(plo), pi_high=float(phi), pooled=res, effects=es)


def pool_landmark_survival(surv, *, ci_low=None, ci_high=None, n_at_risk=None, ci_scale: str = "plain",
                           ids=None, level: float = 0.95, **pool_kwargs) -> PooledSurvival:
    """Pool survival at one landmark time across studies on the log(-log) scale. Give each study's
    interval (``ci_low``, ``ci_high``; ``ci_scale`` ``"plain"`` or ``"loglog"``) or its number at risk
    at the landmark (``n_at_risk``)."""
    data: dict[str, Any] = {"surv": surv}
    if n_at_risk is not None:
        data["n_at_risk"] = n_at_risk
    else:
        data.update(ci_low=ci_low, ci_high=ci_high)
    es = effect_size("SURV", ids=ids, level=level, ci_scale=ci_scale, **data)
    return _pool("SURV", es, {"level": level, **pool_kwargs})


def pool_medians(median, ci_low, ci_high, *, ci_high_not_reached=None, ids=None, level: float = 0.95,
                 **pool_kwargs) -> PooledSurvival:
    """Pool median survival times on the log scale (standard error from each study's interval)."""
    data: dict[str, Any] = {"median": median, "ci_low": ci_low, "ci_high": ci_high}
    if ci_high_not_reached is not None:
        data["ci_high_not_reached"] = ci_high_not_reached
    es = effect_size("MEDIAN", ids=ids, level=level, **data)
    return _pool("MEDIAN", es, {"level": level, **pool_kwargs})


def pool_median_ratios(median1, ci_low1, ci_high1, median2, ci_low2, ci_high2, *, ids=None,
                       level: float = 0.95, **pool_kwargs) -> PooledSurvival:
    """Pool ratios of medians (arm 1 over arm 2) on the log scale."""
    es = effect_size("ROM_SURV", ids=ids, level=level, median1=median1, ci_low1=ci_low1, ci_high1=ci_high1,
                     median2=median2, ci_low2=ci_low2, ci_high2=ci_high2)
    return _pool("ROM_SURV", es, {"level": level, **pool_kwargs})
