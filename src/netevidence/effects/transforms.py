"""Back-transformations from the analysis scale to the reporting scale, one per measure.

``back_transform(measure, **info)`` returns the single callable passed as ``transf`` to
``PoolResult.predict()`` (and used alike by forest plots and cumulative results):

=============================================  ======================================================
measure                                        back-transform
=============================================  ======================================================
PR, RD                                         identity
PLN, RR, OR, HR, MEDIAN, ROM_SURV              ``exp``
PLO                                            inverse logit ``1 / (1 + exp(-x))``
PAS                                            ``sin(x)^2``, 0 below 0 and 1 above pi/2
PFT                                            inverse of Freeman-Tukey (Miller, The American
                                               Statistician, 1978) at the harmonic mean of ``n``
                                               (metafor's ``transf.ipft.hm``); requires ``n=``
SURV                                           ``exp(-exp(x))``
=============================================  ======================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
from scipy.special import expit

Transform = Callable[[np.ndarray], np.ndarray]


def identity(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=float) * 1.0


def exp(x: np.ndarray) -> np.ndarray:
    return np.exp(np.asarray(x, dtype=float))


def inv_logit(x: np.ndarray) -> np.ndarray:
    return expit(np.asarray(x, dtype=float))


def inv_arcsine(x: np.ndarray) -> np.ndarray:
    """Inverse of ``asin(sqrt(p))``, clipped to [0, 1] outside [0, pi/2]."""
    x = np.asarray(x, dtype=float)
    return np.where(x < 0, 0.0, np.where(x > np.pi / 2, 1.0, np.sin(x) ** 2))


def inv_cloglog_surv(x: np.ndarray) -> np.ndarray:
    """Survival probability from ``log(-log S)``."""
    return np.exp(-np.exp(np.asarray(x, dtype=float)))


def freeman_tukey(p: np.ndarray | float, n: float) -> np.ndarray:
    """The Freeman-Tukey double arcsine of proportion ``p`` with sample size ``n``."""
    p = np.asarray(p, dtype=float)
    return 0.5 * (np.arcsin(np.sqrt(p * n / (n + 1.0))) + np.arcsin(np.sqrt((p * n + 1.0) / (n + 1.0))))


def inv_freeman_tukey(x: np.ndarray, n: float) -> np.ndarray:
    """Miller's (1978) inverse of the Freeman-Tukey double arcsine for sample size ``n``.

    Values beyond the transform of 0 or 1 map to 0 or 1; values for which the inverse is undefined
    (inside that range, which only happens for tiny ``n``) give NaN.
    """
    x = np.asarray(x, dtype=float)
    s = np.sin(2.0 * x)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = 1.0 - (s + (s - 1.0 / s) / n) ** 2
        p = 0.5 * (1.0 - np.sign(np.cos(2.0 * x)) * np.sqrt(inner))
    p = np.where(x > freeman_tukey(1.0, n), 1.0, p)
    p = np.where(x < freeman_tukey(0.0, n), 0.0, p)
    return p


def harmonic_mean(n: Sequence[float] | np.ndarray | float) -> float:
    arr = np.atleast_1d(np.asarray(n, dtype=float))
    arr = arr[~np.isnan(arr)]
    if arr.size == 0 or np.any(arr <= 0):
        raise ValueError("n: the PFT back-transform needs positive sample sizes")
    return float(1.0 / np.mean(1.0 / arr))


_FIXED: dict[str, Transform] = {
    "PR": identity, "RD": identity,
    "PLN": exp, "RR": exp, "OR": exp, "HR": exp, "MEDIAN": exp, "ROM_SURV": exp,
    "PLO": inv_logit, "PAS": inv_arcsine, "SURV": inv_cloglog_surv,
}


def back_transform(measure: str, **info: object) -> Transform:
    """The back-transform of ``measure``; ``PFT`` needs ``n=`` (the studies' sample sizes)."""
    if measure == "PFT":
        if "n" not in info:
            raise ValueError("PFT back-transform needs n= (the studies' sample sizes, for their harmonic mean)")
        unknown = set(info) - {"n"}
        if unknown:
            raise ValueError(f"unknown arguments for the PFT back-transform: {sorted(unknown)}")
        return partial(inv_freeman_tukey, n=harmonic_mean(info["n"]))  # type: ignore[arg-type]
    if measure not in _FIXED:
        known = sorted([*_FIXED, "PFT"])
        raise ValueError(f"measure {measure!r} has no back-transform (known: {', '.join(known)})")
    if info:
        raise ValueError(f"the {measure} back-transform takes no arguments, got {sorted(info)}")
    return _FIXED[measure]
