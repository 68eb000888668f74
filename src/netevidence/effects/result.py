"""The immutable container returned by every effect-size computation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._arrays import readonly as _frozen


@dataclass(frozen=True)
class EffectSizes:
    """Per-study effect sizes on the analysis scale.

    ``yi``/``vi`` are the effect and its sampling variance; ``correction`` is the amount added to each cell
    of the study's table (0 when none); ``derivation`` says where the variance comes from (``counts``,
    ``ci``, ``ci_lower_only``, ``ci_loglog``, ``p``, ``peto``, ``n_at_risk``); ``flags`` marks studies
    that need attention (``None`` otherwise), e.g. ``double_zero_dropped`` or ``ci_high_not_reached``.
    """

    measure: str
    yi: np.ndarray
    vi: np.ndarray
    correction: np.ndarray
    derivation: tuple[str, ...]
    flags: tuple[str | None, ...]

    def __post_init__(self) -> None:
        for name in ("yi", "vi", "correction"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @property
    def k(self) -> int:
        return int(self.yi.size)

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``yi, vi, measure, correction, derivation, flags``."""
        return pd.DataFrame({
            "yi": self.yi.copy(),
            "vi": self.vi.copy(),
            "measure": [self.measure] * self.k,
            "correction": self.correction.copy(),
            "derivation": list(self.derivation),
            "flags": pd.array(list(self.flags), dtype="object"),
        })


def build(measure: str, yi: np.ndarray, vi: np.ndarray, correction: np.ndarray | float,
          derivation: str | list[str], flags: list[str | None] | None = None) -> EffectSizes:
    k = np.asarray(yi).size
    corr = np.broadcast_to(np.asarray(correction, dtype=float), (k,))
    deriv = tuple([derivation] * k) if isinstance(derivation, str) else tuple(derivation)
    flag_tuple = tuple(flags) if flags is not None else (None,) * k
    return EffectSizes(measure, np.asarray(yi, float), np.asarray(vi, float), corr, deriv, flag_tuple)
