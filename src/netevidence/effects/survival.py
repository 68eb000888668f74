"""Time-to-event summaries that are not hazard ratios: MEDIAN, ROM_SURV, SURV.

* ``MEDIAN``: log median survival time. Its standard error comes from the confidence interval on the
  log scale, ``(log(ci_high) - log(ci_low)) / (2 z)``, the scale of the Brookmeyer-Crowley interval
  (Brookmeyer and Crowley, Biometrics, 1982). When the upper limit was not reached the interval is
  open-ended; the standard error then comes from the lower half alone,
  ``(log(median) - log(ci_low)) / z`` (derivation ``ci_lower_only``, flag ``ci_high_not_reached``).
  This assumes symmetry on the log scale; as the upper half of such intervals is usually the longer one,
  it tends to understate the standard error, hence the flag (exclude flagged rows in a sensitivity
  analysis). A median that was itself not reached has no value to analyse.
* ``ROM_SURV``: log ratio of two medians, ``log(median1 / median2)``, variance the sum of the two
  log-median variances above (Michiels et al., International Journal of Technology Assessment in
  Health Care, 2005).
* ``SURV``: landmark survival probability ``S`` on the complementary log-log scale
  ``log(-log S)`` (back-transform ``exp(-exp(x))``), where the normal approximation holds better near
  0 and 1 (Kalbfleisch and Prentice, The Statistical Analysis of Failure Time Data, 1980). Its variance
  comes from

  - the confidence interval by the delta method: ``se(S) = (ci_high - ci_low) / (2 z)`` and
    ``var = se(S)^2 / (S log S)^2`` (``ci_scale="plain"``, the default); or, for an interval that was
    computed on the log(-log) scale, directly ``(log(-log ci_low) - log(-log ci_high)) / (2 z)``
    (``ci_scale="loglog"``);
  - the number at risk ``n`` at the landmark by Peto's approximation ``var(S) = S^2 (1 - S) / n``
    (Peto et al., British Journal of Cancer, 1977), hence ``var = (1 - S) / (n (log S)^2)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .reported import z_quantile
from .result import EffectSizes, build
from .validation import require, require_finite

CI_SCALES = ("plain", "loglog")


def _log_median_var(median: np.ndarray, ci_low: np.ndarray, ci_high: np.ndarray,
                    not_reached: np.ndarray, level: float, ids: Sequence[Any] | None,
                    suffix: str = "") -> tuple[np.ndarray, np.ndarray]:
    med, lo, hi = f"median{suffix}", f"ci_low{suffix}", f"ci_high{suffix}"
    require_finite(med, median, ids)
    require(median <= 0, ids, f"{med} = {{}} is not positive (a median time must be > 0)", median)
    require_finite(lo, ci_low, ids)
    require(ci_low <= 0, ids, f"{lo} = {{}} is not positive (CI limits of a median time must be > 0)", ci_low)
    open_ended = not_reached | np.isposinf(ci_high)
    require(~open_ended & ~np.isfinite(ci_high), ids,
            f"{hi} is {{}} (values must be finite numbers; pass ci_high_not_reached{suffix}=True when the "
            "upper limit was not reached)", ci_high)
    hi_used = np.where(open_ended, np.inf, ci_high)
    require(~open_ended & (hi_used <= 0), ids,
            f"{hi} = {{}} is not positive (CI limits of a median time must be > 0)", hi_used)
    require(ci_low > median, ids, f"{med} = {{}} lies below {lo} = {{}} (the median must lie within its CI)",
            median, ci_low)
    require(~open_ended & (hi_used < median), ids,
            f"{med} = {{}} lies above {hi} = {{}} (the median must lie within its CI)", median, hi_used)
    require(open_ended & (ci_low >= median), ids,
            f"{lo} = {{}} equals the median with an open upper limit (no width left to give a standard error)",
            ci_low)
    require(~open_ended & (ci_low >= hi_used), ids,
            f"{lo} = {{}} is not below {hi} = {{}} (the CI must have ci_low < ci_high)", ci_low, hi_used)
    z = z_quantile(level)
    with np.errstate(invalid="ignore"):
        se_two = (np.log(hi_used) - np.log(ci_low)) / (2.0 * z)
    se_low = (np.log(median) - np.log(ci_low)) / z
    se = np.where(open_ended, se_low, se_two)
    return np.log(median), se ** 2, open_ended


def median_effects(median: np.ndarray, ci_low: np.ndarray, ci_high: np.ndarray, *,
                   ci_high_not_reached: np.ndarray | None = None, level: float = 0.95,
                   ids: Sequence[Any] | None = None) -> EffectSizes:
    """Log median survival time and its variance from the confidence interval."""
    nr = np.zeros(median.size, bool) if ci_high_not_reached is None else ci_high_not_reached
    yi, vi, open_ended = _log_median_var(median, ci_low, ci_high, nr, level, ids)
    deriv = ["ci_lower_only" if o else "ci" for o in open_ended]
    flags = ["ci_high_not_reached" if o else None for o in open_ended]
    return build("MEDIAN", yi, vi, 0.0, deriv, flags)


def ratio_of_medians(median1: np.ndarray, ci_low1: np.ndarray, ci_high1: np.ndarray,
                     median2: np.ndarray, ci_low2: np.ndarray, ci_high2: np.ndarray, *,
                     ci_high_not_reached1: np.ndarray | None = None,
                     ci_high_not_reached2: np.ndarray | None = None, level: float = 0.95,
                     ids: Sequence[Any] | None = None) -> EffectSizes:
    """Log ratio of the median survival times of two arms (arm 1 over arm 2)."""
    k = median1.size
    nr1 = np.zeros(k, bool) if ci_high_not_reached1 is None else ci_high_not_reached1
    nr2 = np.zeros(k, bool) if ci_high_not_reached2 is None else ci_high_not_reached2
    y1, v1, o1 = _log_median_var(median1, ci_low1, ci_high1, nr1, level, ids, "1")
    y2, v2, o2 = _log_median_var(median2, ci_low2, ci_high2, nr2, level, ids, "2")
    open_any = o1 | o2
    deriv = ["ci_lower_only" if o else "ci" for o in open_any]
    flags = ["ci_high_not_reached" if o else None for o in open_any]
    return build("ROM_SURV", y1 - y2, v1 + v2, 0.0, deriv, flags)


def _check_surv(surv: np.ndarray, ids: Sequence[Any] | None) -> None:
    require_finite("surv", surv, ids)
    require((surv < 0) | (surv > 1), ids, "surv = {} lies outside [0, 1] (a survival probability)", surv)
    require((surv == 0) | (surv == 1), ids,
            "surv = {} has no finite log(-log) value (SURV needs 0 < surv < 1)", surv)


def survival_from_ci(surv: np.ndarray, ci_low: np.ndarray, ci_high: np.ndarray, *, level: float = 0.95,
                     ci_scale: str = "plain", ids: Sequence[Any] | None = None) -> EffectSizes:
    """Landmark survival on the log(-log) scale, variance from the confidence interval."""
    if ci_scale not in CI_SCALES:
        raise ValueError(f"ci_scale = {ci_scale!r} must be one of {', '.join(CI_SCALES)}")
    _check_surv(surv, ids)
    for name, arr in (("ci_low", ci_low), ("ci_high", ci_high)):
        require_finite(name, arr, ids)
        require((arr < 0) | (arr > 1), ids, f"{name} = {{}} lies outside [0, 1] (a survival probability)", arr)
    require(ci_low >= ci_high, ids, "ci_low = {} is not below ci_high = {} (the CI must have ci_low < ci_high)",
            ci_low, ci_high)
    require((surv < ci_low) | (surv > ci_high), ids,
            "surv = {} lies outside its CI [{}, {}] (the estimate must lie within its CI)", surv, ci_low, ci_high)
    z = z_quantile(level)
    log_s = np.log(surv)
    if ci_scale == "plain":
        se_s = (ci_high - ci_low) / (2.0 * z)
        vi = (se_s / (surv * np.abs(log_s))) ** 2
    else:
        require((ci_low == 0) | (ci_high == 1), ids,
                "a CI limit of {} or {} has no finite log(-log) value (ci_scale='loglog' needs limits in (0, 1))",
                ci_low, ci_high)
        vi = ((np.log(-np.log(ci_low)) - np.log(-np.log(ci_high))) / (2.0 * z)) ** 2
    return build("SURV", np.log(-log_s), vi, 0.0, "ci" if ci_scale == "plain" else "ci_loglog")


def survival_from_n_at_risk(surv: np.ndarray, n_at_risk: np.ndarray, *,
                            ids: Sequence[Any] | None = None) -> EffectSizes:
    """Landmark survival on the log(-log) scale, variance by Peto's approximation."""
    _check_surv(surv, ids)
    require_finite("n_at_risk", n_at_risk, ids)
    require(n_at_risk <= 0, ids, "n_at_risk = {} is not positive (the number at risk must be > 0)", n_at_risk)
    log_s = np.log(surv)
    return build("SURV", np.log(-log_s), (1.0 - surv) / (n_at_risk * log_s ** 2), 0.0, "n_at_risk")
