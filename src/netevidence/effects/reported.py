"""Log ratios (hazard ratios, odds ratios) from the estimate a study reports.

Three routes, each with the source of its formula:

* estimate with a confidence interval: ``yi = log(ratio)``,
  ``se = (log(ci_high) - log(ci_low)) / (2 z)``, ``z`` the standard-normal quantile for ``level``
  (Parmar, Torri and Stewart, Statistics in Medicine, 1998; the Wald conversion of metafor's
  ``conv.wald()``);
* estimate with a two-sided p-value: ``se = |log(ratio)| / z_{1 - p/2}`` (Parmar et al., 1998;
  Altman and Bland, BMJ, 2011);
* observed minus expected events and the log-rank variance: ``yi = (O - E) / V``, ``vi = 1 / V``
  (Peto's one-step estimator; Yusuf, Peto, Lewis, Collins and Sleight, Progress in Cardiovascular
  Diseases, 1985).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import norm

from .result import EffectSizes, build
from .validation import check_level, require, require_finite


def z_quantile(level: float) -> float:
    """Two-sided standard-normal critical value for a ``level`` confidence interval."""
    return float(norm.isf((1.0 - check_level(level)) / 2.0))


def log_se_from_ci(estimate: np.ndarray, ci_low: np.ndarray, ci_high: np.ndarray, level: float,
                   ids: Sequence[Any] | None, what: str = "ratio") -> np.ndarray:
    """Standard error on the log scale from a confidence interval of a positive quantity."""
    for name, arr in (("ci_low", ci_low), ("ci_high", ci_high)):
        require_finite(name, arr, ids)
        require(arr <= 0, ids, f"{name} = {{}} is not positive (CI limits of a {what} must be > 0)", arr)
    require(ci_low >= ci_high, ids, "ci_low = {} is not below ci_high = {} (the CI must have ci_low < ci_high)",
            ci_low, ci_high)
    require((estimate < ci_low) | (estimate > ci_high), ids,
            "estimate = {} lies outside its CI [{}, {}] (the estimate must lie within its CI)",
            estimate, ci_low, ci_high)
    return (np.log(ci_high) - np.log(ci_low)) / (2.0 * z_quantile(level))


def _check_estimate(name: str, estimate: np.ndarray, ids: Sequence[Any] | None) -> None:
    require_finite(name, estimate, ids)
    require(estimate <= 0, ids, f"{name} = {{}} is not positive (a ratio must be > 0)", estimate)


def ratio_from_ci(measure: str, estimate: np.ndarray, ci_low: np.ndarray, ci_high: np.ndarray, *,
                  level: float = 0.95, ids: Sequence[Any] | None = None, name: str = "hr") -> EffectSizes:
    """Log ratio and its variance from the point estimate and its confidence interval."""
    _check_estimate(name, estimate, ids)
    se = log_se_from_ci(estimate, ci_low, ci_high, level, ids)
    return build(measure, np.log(estimate), se ** 2, 0.0, "ci")


def ratio_from_p(measure: str, estimate: np.ndarray, p: np.ndarray, *, ids: Sequence[Any] | None = None,
                 name: str = "hr") -> EffectSizes:
    """Log ratio and its variance from the point estimate and a two-sided p-value (Wald test)."""
    _check_estimate(name, estimate, ids)
    require_finite("p", p, ids)
    require((p <= 0) | (p >= 1), ids, "p = {} must lie strictly between 0 and 1 to give a standard error", p)
    require(estimate == 1, ids, f"{name} = 1 gives log ratio 0, from which a p-value cannot give a standard error")
    yi = np.log(estimate)
    se = np.abs(yi) / norm.isf(p / 2.0)
    return build(measure, yi, se ** 2, 0.0, "p")


def ratio_from_peto(measure: str, o_minus_e: np.ndarray, v: np.ndarray, *,
                    ids: Sequence[Any] | None = None) -> EffectSizes:
    """Peto's log ratio ``(O - E) / V`` with variance ``1 / V``."""
    require_finite("o_minus_e", o_minus_e, ids)
    require_finite("v", v, ids)
    require(v <= 0, ids, "v = {} is not positive (the log-rank variance must be > 0)", v)
    return build(measure, o_minus_e / v, 1.0 / v, 0.0, "peto")
