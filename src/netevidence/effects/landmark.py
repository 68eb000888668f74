"""The variance of a landmark survival estimate when the study reports no confidence interval.

Landmark survival ``S(t)`` is analysed on the complementary log-log scale ``y = log(-log S)`` (see
:mod:`netevidence.effects.survival`). Its variance comes from the first of these sources ("rungs") that
the data and the analysis allow; every derived row says which one (``derivation``):

===  =====================  ==================================================================================
rung derivation             variance of ``log(-log S)``
===  =====================  ==================================================================================
a    ``ci``                 from the reported confidence interval (delta method;
                            :func:`netevidence.effects.survival.survival_from_ci`)
b    ``greenwood``          Greenwood's variance from patient data reconstructed from the study's digitised
                            curve (Greenwood, 1926; reconstruction by Guyot et al., BMC Medical Research
                            Methodology, 2012): ``var(log S_km) / (log S_km)^2``, ``var(log S_km) =
                            sum_{t_j <= t} d_j / (n_j (n_j - d_j))``
c    ``n_at_risk``          Peto's approximation from the number at risk ``n(t)`` (Peto et al., British
                            Journal of Cancer, 1977): ``var(S) = S^2 (1 - S) / n(t)``, hence
                            ``(1 - S) / (n(t) (log S)^2)``
d    ``n_no_censoring``     from the study's size ``n`` assuming no censoring before ``t``: the number of
                            survivors is binomial, ``var(S) = S (1 - S) / n``, hence
                            ``(1 - S) / (n S (log S)^2)``. Censoring before ``t`` makes this too small; an
                            effective sample size can replace ``n`` (below). Used only when the analysis
                            allows it explicitly.
d'   ``n_effective``        rung (d) with Peto's effective sample size (``model.survival_n: effective``):
                            ``n_eff = n G(t)``, ``G(t)`` the share of patients whose follow-up reaches ``t``,
                            so ``var(S) = S (1 - S) / n_eff``, hence ``(1 - S) / (n G(t) S (log S)^2)``
===  =====================  ==================================================================================

The effective sample size. Peto et al. (1977) write the variance of ``S(t)`` as ``S^2 (1 - S) / n(t)``; the
expected number at risk of ``n`` patients followed independently of their survival is
``n(t) = n S(t) G(t)``, with ``G(t)`` the probability that a patient's follow-up (time he could be
observed) reaches ``t``, so ``var(S) = S (1 - S) / (n G(t))``: the binomial variance with the effective
sample size ``n_eff = n G(t)`` (the number of uncensored patients that would give the same precision).
Without censoring before ``t``, ``G(t) = 1`` and this is rung (d). ``G(t)`` comes from the follow-up the
study reports (:func:`followed_share`), assuming the reported follow-up is the potential follow-up of every
patient and is piecewise uniform: ``G`` falls linearly from 1 at the shortest follow-up to 1/2 at the median
and to 0 at the longest; with only the median ``F`` reported, the follow-up is taken as uniform on
``[0, 2F]`` (uniform accrual with administrative censoring), ``G(t) = 1 - t / (2F)``.

Rungs (a)-(c) are estimates of the sampling variance from the study's own data; rung (d) rests on an
assumption the data cannot check, which is why an analysis must list it (``survival_variance`` in the
specification) and why its sensitivity analyses repeat the pool without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .result import EffectSizes, build
from .survival import survival_from_ci, survival_from_n_at_risk
from .validation import require, require_finite

RUNGS = ("ci", "greenwood", "n_at_risk", "n")
"""The variance sources in order of preference; ``n`` is rung (d) and must be allowed explicitly."""
DEFAULT_RUNGS = ("ci", "greenwood", "n_at_risk")
DERIVATIONS = {"ci": "ci", "greenwood": "greenwood", "n_at_risk": "n_at_risk", "n": "n_no_censoring"}
EFFECTIVE_N = "n_effective"
"""The derivation of rung (d) with the effective sample size ``n G(t)`` (:func:`survival_from_effective_n`)."""
RUNG_LETTERS = {"ci": "a", "greenwood": "b", "n_at_risk": "c", "n": "d"}
RUNG_LABELS = {
    "ci": "reported CI",
    "greenwood": "Greenwood, reconstructed patient data",
    "n_at_risk": "Peto, number at risk",
    "n": "study size, no censoring assumed",
}
EFFECTIVE_N_LABEL = ("effective sample size n G(t), G the share followed to t, piecewise uniform through the "
                     "reported follow-up")


def _check_surv(surv: np.ndarray, ids: Sequence[Any] | None) -> None:
    require_finite("surv", surv, ids)
    require((surv <= 0) | (surv >= 1), ids, "surv = {} must lie strictly between 0 and 1", surv)


def survival_from_greenwood(surv: np.ndarray, surv_km: np.ndarray, se_log_km: np.ndarray, *,
                            ids: Sequence[Any] | None = None) -> EffectSizes:
    """Landmark survival ``surv`` on the log(-log) scale with Greenwood's variance of a Kaplan-Meier curve.

    ``surv_km`` and ``se_log_km`` are the Kaplan-Meier estimate at the landmark and Greenwood's standard
    error of ``log S_km`` there (``KaplanMeierResult.std_err``); the variance of ``log(-log S)`` is
    ``se_log_km^2 / (log S_km)^2`` (delta method).
    """
    _check_surv(surv, ids)
    _check_surv(surv_km, ids)
    require_finite("se_log_km", se_log_km, ids)
    require(se_log_km <= 0, ids, "se_log_km = {} is not positive (no event before the landmark?)", se_log_km)
    return build("SURV", np.log(-np.log(surv)), (se_log_km / np.log(surv_km)) ** 2, 0.0, "greenwood")


def survival_from_n(surv: np.ndarray, n: np.ndarray, *, ids: Sequence[Any] | None = None) -> EffectSizes:
    """Landmark survival on the log(-log) scale, binomial variance from ``n`` assuming no censoring before t."""
    _check_surv(surv, ids)
    require_finite("n", n, ids)
    require(n <= 0, ids, "n = {} is not positive (the number of patients must be > 0)", n)
    log_s = np.log(surv)
    return build("SURV", np.log(-log_s), (1.0 - surv) / (n * surv * log_s ** 2), 0.0, "n_no_censoring")


def followed_share(t: float, median: float, low: float | None = None, high: float | None = None) -> float:
    """``G(t)``, the share of patients whose follow-up reaches ``t``, from the follow-up a study reports.

    Piecewise linear through ``(low, 1)``, ``(median, 1/2)`` and ``(high, 0)`` (1 before ``low``, 0 after
    ``high``); ``low`` defaults to 0 and ``high`` to ``2 median - low``, so that with the median alone the
    follow-up is uniform on ``[0, 2 median]``. All times in one unit.
    """
    lo = 0.0 if low is None or not np.isfinite(low) else float(low)
    hi = 2.0 * median - lo if high is None or not np.isfinite(high) else float(high)
    if not lo <= median <= hi or not median > 0 or hi == lo:
        raise ValueError(f"follow-up (shortest {lo:g}, median {median:g}, longest {hi:g}) must satisfy "
                         "shortest <= median <= longest with a positive median")
    return float(np.interp(t, [lo, median, hi], [1.0, 0.5, 0.0]))


def survival_from_effective_n(surv: np.ndarray, n: np.ndarray, share: np.ndarray, *,
                              ids: Sequence[Any] | None = None) -> EffectSizes:
    """Landmark survival on the log(-log) scale, binomial variance with Peto's effective sample size.

    ``var(S) = S (1 - S) / (n G)`` with ``share = G(t)`` (:func:`followed_share`), the share of the ``n``
    patients whose follow-up reaches the landmark (Peto et al., British Journal of Cancer, 1977); the
    variance of ``log(-log S)`` is ``(1 - S) / (n G S (log S)^2)``.
    """
    _check_surv(surv, ids)
    require_finite("n", n, ids)
    require(n <= 0, ids, "n = {} is not positive (the number of patients must be > 0)", n)
    require_finite("share", share, ids)
    require((share <= 0) | (share > 1), ids,
            "share followed to the landmark = {} must lie in (0, 1] (the landmark is beyond the follow-up?)", share)
    log_s = np.log(surv)
    return build("SURV", np.log(-log_s), (1.0 - surv) / (n * share * surv * log_s ** 2), 0.0, EFFECTIVE_N)


def check_rungs(rungs: Sequence[str]) -> tuple[str, ...]:
    """Validate a list of allowed variance sources, returned in the ladder's order."""
    unknown = [r for r in rungs if r not in RUNGS]
    if unknown:
        raise ValueError(f"unknown survival variance source(s) {unknown}; choose from {list(RUNGS)}")
    if not rungs:
        raise ValueError("at least one survival variance source is needed (e.g. ['ci'])")
    return tuple(r for r in RUNGS if r in rungs)


def landmark_effect(surv: float, *, ci_low: float | None = None, ci_high: float | None = None,
                    level: float = 0.95, surv_km: float | None = None, se_log_km: float | None = None,
                    n_at_risk: float | None = None, n: float | None = None, share: float | None = None,
                    rungs: Sequence[str] = DEFAULT_RUNGS, ids: Sequence[Any] | None = None) -> EffectSizes | None:
    """One landmark survival estimate (proportion) with the variance of the first allowed rung the data give.

    Returns ``None`` when no allowed rung applies. ``surv``, ``ci_low``, ``ci_high`` and ``surv_km`` are
    proportions in (0, 1). ``share`` (``G(t)``, :func:`followed_share`) makes rung (d) use the effective
    sample size ``n G(t)``; without it rung (d) assumes no censoring before ``t``.
    """
    one = lambda x: np.array([float(x)])
    for rung in check_rungs(rungs):
        if rung == "ci" and ci_low is not None and ci_high is not None:
            return survival_from_ci(one(surv), one(ci_low), one(ci_high), level=level, ids=ids)
        if rung == "greenwood" and surv_km is not None and se_log_km is not None:
            return survival_from_greenwood(one(surv), one(surv_km), one(se_log_km), ids=ids)
        if rung == "n_at_risk" and n_at_risk is not None:
            return survival_from_n_at_risk(one(surv), one(n_at_risk), ids=ids)
        if rung == "n" and n is not None:
            if share is not None:
                return survival_from_effective_n(one(surv), one(n), one(share), ids=ids)
            return survival_from_n(one(surv), one(n), ids=ids)
    return None
