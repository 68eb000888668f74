"""Model-based survival curves through reported landmarks and a median.

When a study reports only landmark survival (e.g. 1-, 3-, 5-year) and a median, an exponential or Weibull
curve is fitted through those points on the complementary log-log scale, where both models are linear:

    log(-log S(t)) = log(lambda) + gamma * log(t)     (exponential: gamma = 1),

by least squares over the reported points (the median enters as S = 0.5). Two or more points are needed for
the Weibull, one for the exponential. The result is a model, not data: every output carries
``basis = "model-based"`` (Collett, Modelling Survival Data in Medical Research, 3rd ed., 2015, ch. 5, on
the log-cumulative-hazard plot).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..summary import Summary, scalar_frame, summary_of
from .summary_curve import StudyIntervals

__all__ = ["ParametricCurve", "fit_parametric"]

BASIS = "model-based"


@dataclass(frozen=True)
class ParametricCurve:
    """S(t) = exp(-lambda * t ** gamma); ``basis`` is always ``"model-based"``."""

    model: str
    rate: float  # lambda
    shape: float  # gamma
    n_points: int
    rms_cloglog: float  # root-mean-square residual on the log(-log) scale
    basis: str = BASIS
    label: str = ""

    def survival(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return np.exp(-self.rate * np.power(t, self.shape))

    def quantile(self, p: float = 0.5) -> float:
        return float((-np.log(p) / self.rate) ** (1.0 / self.shape))

    @property
    def median(self) -> float:
        return self.quantile(0.5)

    def to_frame(self, times) -> pd.DataFrame:
        times = np.asarray(times, dtype=float)
        return pd.DataFrame({"time": times, "survival": self.survival(times), "model": self.model,
                             "basis": self.basis})

    def study_intervals(self, grid, n: int) -> StudyIntervals:
        """Input for :func:`summary_curve`: survival at the grid and an expected number at risk n * S(t)
        at each interval's start (no censoring assumed), labelled model-based."""
        grid = np.asarray(grid, dtype=float)
        starts = np.concatenate(([0.0], grid[:-1]))
        return StudyIntervals(label=self.label or self.model, survival=self.survival(grid),
                              n_at_risk=n * self.survival(starts), basis=BASIS)

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text(), scalar_frame(self))

    def summary_text(self) -> str:
        return (f"{self.model} curve (model-based) through {self.n_points} reported point(s): "
                f"lambda {self.rate:.4g}, gamma {self.shape:.4g}, median {self.median:.4g}")


def fit_parametric(*, landmarks=None, median: float | None = None, model: str = "weibull",
                   label: str = "") -> ParametricCurve:
    """Fit an exponential or Weibull curve through reported landmark survival and/or a median.

    ``landmarks``: mapping or pairs (time, survival as a fraction); ``median``: reported median time.
    """
    if model not in ("exponential", "weibull"):
        raise ValueError(f"{label or 'curve'}: model must be 'exponential' or 'weibull', got {model!r}")
    pts = []
    if landmarks is not None:
        items = landmarks.items() if isinstance(landmarks, dict) else landmarks
        for t, s in items:
            pts.append((float(t), float(s)))
    if median is not None:
        pts.append((float(median), 0.5))
    for t, s in pts:
        if not (np.isfinite(t) and t > 0):
            raise ValueError(f"{label or 'curve'}: landmark time {t!r} must be positive")
        if not (0 < s < 1):
            raise ValueError(f"{label or 'curve'}: survival {s!r} at time {t:g} must be strictly between 0 and 1")
    if not pts:
        raise ValueError(f"{label or 'curve'}: need at least one landmark or a median")
    t = np.array([p[0] for p in pts])
    s = np.array([p[1] for p in pts])
    y = np.log(-np.log(s))
    x = np.log(t)
    if model == "weibull":
        if len(np.unique(t)) < 2:
            raise ValueError(f"{label or 'curve'}: a Weibull curve needs points at two or more different times")
        gamma, loglam = np.polyfit(x, y, 1)
        if gamma <= 0:
            raise ValueError(f"{label or 'curve'}: the reported points do not decrease with time")
    else:
        gamma = 1.0
        loglam = float(np.mean(y - x))
    resid = y - (loglam + gamma * x)
    return ParametricCurve(model=model, rate=float(np.exp(loglam)), shape=float(gamma), n_points=len(pts),
                           rms_cloglog=float(np.sqrt(np.mean(resid ** 2))), label=label)
