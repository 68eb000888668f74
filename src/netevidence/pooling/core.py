"""pool(): inverse-variance pooling of one meta-analysis under the common- or random-effects model.

For tau^2 (estimated by ``method``, see :mod:`netevidence.pooling.estimators`, or fixed by ``tau2=``)
the pooled estimate is mu = sum w_i y_i / sum w_i with w_i = 1/(v_i + tau^2) and SE 1/sqrt(sum w_i)
(DerSimonian and Laird, Controlled Clinical Trials, 1986). Confidence intervals (``ci``):

- ``z``      Wald interval with the normal quantile;
- ``knha``   Hartung and Knapp (Statistics in Medicine, 2001) / Sidik and Jonkman (Statistics in Medicine,
             2002): SE multiplied by sqrt(sum w_i (y_i - mu)^2 / (k - 1)), t quantile with k - 1 df;
- ``adhoc``  as ``knha`` but the multiplier is never below 1 (Knapp and Hartung, Statistics in Medicine,
             2003; Roever et al., BMC Medical Research Methodology, 2015), so never narrower than ``z``.

Prediction interval (``pi``): ``default`` is metafor's predict(), mu +- c sqrt(SE^2 + tau^2) with c the
quantile of the confidence interval (normal under ``z``, t with k - 1 df under ``knha``/``adhoc``);
``hts`` uses the t distribution with k - 2 df (Higgins, Thompson and Spiegelhalter, JRSS A, 2009; k - 1
when tau^2 is not estimated; at least 1), as metafor's predict(pi.type="riley").

Heterogeneity: Cochran's Q with k - 1 df; I^2 (``i2="tau2"``, metafor's default) = 100 tau^2/(vt + tau^2)
and H^2 = 1 + tau^2/vt with the typical within-study variance vt = (k - 1)/tr(P); ``i2="q"`` gives the
Q-based I^2 = max(0, 100 (Q - (k-1))/Q) and H^2 = Q/(k-1) (Higgins and Thompson, Statistics in Medicine,
2002), which metafor also reports for EE fits. Q-profile intervals: :mod:`netevidence.pooling.heterogeneity`.

k = 1: tau^2 = 0 (or the fixed value), the estimate is the study's own, Q = 0 with p = 1, I^2 = 0, H^2 = 1,
intervals use the normal quantile whatever ``ci`` asks (the result reports ``ci="z"``), the tau^2 interval
is [0, inf). k = 2: all estimators are defined; ``knha`` uses t with 1 df and ``hts`` t with 1 df.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Callable

import numpy as np

from ..summary import Summary, summary_of
from .._arrays import readonly as _readonly
from . import _kernel
from .heterogeneity import interval_rows
from ._validate import check_options, study_arrays

__all__ = ["pool", "PoolResult", "Prediction"]


def _apply(transf: Callable | None, lo: float, hi: float) -> tuple[float, float]:
    if transf is None:
        return lo, hi
    a, b = float(transf(lo)), float(transf(hi))
    if math.isnan(a) or math.isnan(b):
        return a, b
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True)
class Prediction:
    """Pooled estimate with its confidence and prediction intervals, optionally back-transformed.

    With a decreasing ``transf`` the bounds are swapped so that ``*_low <= *_high``.
    """

    pred: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([{f.name: getattr(self, f.name) for f in fields(self)}])


def make_prediction(pred, ci_low, ci_high, pi_low, pi_high, transf: Callable | None) -> Prediction:
    cl, ch = _apply(transf, ci_low, ci_high)
    pl, ph = _apply(transf, pi_low, pi_high)
    p = pred if transf is None else float(transf(pred))
    return Prediction(float(p), cl, ch, pl, ph)


@dataclass(frozen=True)
class PoolResult:
    """Result of :func:`pool` (all intervals at ``level``; ``weights`` in percent, summing to 100)."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    pval: float
    df: float
    pi_low: float
    pi_high: float
    tau2: float
    tau2_se: float
    tau2_ci_low: float
    tau2_ci_high: float
    i2: float
    i2_ci_low: float
    i2_ci_high: float
    h2: float
    h2_ci_low: float
    h2_ci_high: float
    q: float
    q_df: int
    q_pval: float
    weights: np.ndarray = field(repr=False, compare=False)
    k: int
    method: str
    ci: str
    level: float
    pi_method: str
    i2_method: str
    tau2_fixed: bool
    converged: bool
    yi: np.ndarray = field(repr=False, compare=False)
    vi: np.ndarray = field(repr=False, compare=False)

    def predict(self, transf: Callable[[float], float] | None = None) -> Prediction:
        """Pooled estimate, CI and PI, passed through ``transf`` when given (e.g. ``np.exp`` for log RR)."""
        return make_prediction(self.estimate, self.ci_low, self.ci_high, self.pi_low, self.pi_high, transf)

    def to_frame(self):
        """One-row DataFrame of the scalar results."""
        import pandas as pd

        return pd.DataFrame([{c: getattr(self, c) for c in FRAME_COLUMNS}])

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text())

    def summary_text(self) -> str:
        """Plain-text summary in the layout of metafor's print.rma()."""
        pct = f"{100 * self.level:g}%"
        model = "Equal-effects model" if self.method == "EE" else f"Random-effects model ({self.method})"
        test = {"z": "z", "knha": "t (Knapp-Hartung)", "adhoc": "t (Knapp-Hartung, ad hoc)"}[self.ci]
        lines = [
            f"{model}, k = {self.k}",
            f"tau^2 = {self.tau2:.4f}"
            + ("" if math.isnan(self.tau2_se) else f" (SE = {self.tau2_se:.4f})")
            + f", {pct} CI [{self.tau2_ci_low:.4f}, {self.tau2_ci_high:.4f}]",
            f"I^2 = {self.i2:.2f}% [{self.i2_ci_low:.2f}, {self.i2_ci_high:.2f}], H^2 = {self.h2:.2f}",
            f"Q({self.q_df}) = {self.q:.4f}, p = {self.q_pval:.4g}",
            f"estimate = {self.estimate:.4f}, SE = {self.se:.4f}, {test} = {self.statistic:.4f}, p = {self.pval:.4g}",
            f"{pct} CI [{self.ci_low:.4f}, {self.ci_high:.4f}], {pct} PI [{self.pi_low:.4f}, {self.pi_high:.4f}]",
        ]
        if not self.converged:
            lines.append("warning: the tau^2 iteration did not converge")
        return "\n".join(lines)


SCALAR_FIELDS = (
    "estimate", "se", "ci_low", "ci_high", "statistic", "pval", "df", "pi_low", "pi_high",
    "tau2", "tau2_se", "i2", "h2", "q", "q_pval",
)
INTERVAL_FIELDS = ("tau2_ci_low", "tau2_ci_high", "i2_ci_low", "i2_ci_high", "h2_ci_low", "h2_ci_high")
# the columns of PoolResult.to_frame() and PoolManyResult.to_frame(), in order: every field but the arrays
FRAME_COLUMNS = tuple(f.name for f in fields(PoolResult) if f.name not in ("weights", "yi", "vi"))


def pool(
    yi,
    vi,
    *,
    method: str = "REML",
    ci: str = "z",
    level: float = 0.95,
    pi: str = "default",
    i2: str = "tau2",
    tau2: float | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> PoolResult:
    """Pool effect sizes ``yi`` with sampling variances ``vi``.

    ``method``: EE, DL, HE, HS, SJ, ML, REML (default), PM, EB; ``ci``: z, knha, adhoc; ``pi``: default,
    hts; ``i2``: tau2, q; ``tau2``: fix tau^2 instead of estimating it. ``tol`` and ``max_iter`` control
    the iterative estimators (ML, REML, PM, EB) and the Q-profile intervals: an iteration stops when its
    step is below ``tol * (tau^2 + mean(vi))``.
    """
    check_options(method, ci, level, pi, i2, tau2, max_iter, tol)
    if tau2 is not None and method == "EE":
        raise ValueError("tau2 cannot be fixed with method='EE' (the equal-effects model has tau^2 = 0)")
    y, v = study_arrays(yi, vi)
    Y, V = y[None, :], v[None, :]
    out = _kernel.fit_rows(Y, V, method=method, ci=ci, level=float(level), pi=pi, i2=i2, tau2_fixed=tau2,
                           tol=tol, max_iter=int(max_iter))
    if ci == "knha" and y.size > 1 and out["se"][0] == 0.0:
        raise ValueError("ci='knha' is undefined here: the studies' estimates agree to within rounding (weighted "
                         "residual sum of squares 0), so the Knapp-Hartung scale factor is 0 and the interval would have width 0; use ci='adhoc' (scale factor "
                         "at least 1) or ci='z'")
    iv = interval_rows(Y, V, out["q"], out["vt"], level=float(level), tol=tol, max_iter=int(max_iter))
    vals = {f: float(out[f][0]) for f in SCALAR_FIELDS}
    vals.update({f: float(iv[f][0]) for f in INTERVAL_FIELDS})
    return PoolResult(
        **vals,
        q_df=int(out["q_df"][0]),
        weights=_readonly(out["weights"][0]),
        k=int(y.size),
        method=method,
        ci=out["ci_used"],
        level=float(level),
        pi_method=pi,
        i2_method=i2,
        tau2_fixed=tau2 is not None,
        converged=bool(out["converged"][0]),
        yi=_readonly(y),
        vi=_readonly(v),
    )
