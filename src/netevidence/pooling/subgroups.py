"""Subgroup analysis: pooled estimates per group and a test of differences between groups.

Two models are offered (Borenstein, Hedges, Higgins & Rothstein, Introduction
to Meta-Analysis, 2009, chapter 19; Viechtbauer, Journal of Statistical
Software, 2010):

* ``tau2="separate"`` (default): each group is pooled on its own with
  :func:`pool`, so each has its own tau^2. The between-group test is Cochran's
  Q across the group estimates with weights ``1 / se_g^2`` on ``G - 1`` df
  (equivalently the omnibus test of a common-effect meta-regression of the
  group estimates on the group factor).
* ``tau2="common"``: a single meta-regression on the group dummies with one
  tau^2 for all groups (:func:`meta_regression`). Group estimates come from the
  cell-means parametrisation; the between-group test is the omnibus ``QM`` test
  of the group contrasts (chi-square on ``G - 1`` df, or ``F(G - 1, k - G)``
  with ``ci="knha"``), and ``QE`` tests residual heterogeneity within groups.

Groups are ordered by their sorted labels (R's ``factor()`` default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from ..summary import Summary, summary_of
from .._arrays import readonly as _ro
from .core import pool
from .regression import check_yi_vi, meta_regression

__all__ = ["SubgroupResult", "subgroup_analysis"]


@dataclass(frozen=True)
class SubgroupResult:
    """Per-group pooled estimates and the test for subgroup differences.

    Per-group arrays follow ``levels``. ``q_between`` is a chi-square statistic
    on ``q_between_df`` df, or an F statistic on (``q_between_df``,
    ``q_between_df2``) df when ``tau2="common"`` with ``knha``/``adhoc`` inference.
    ``q``/``q_pval``/``i2`` are the within-group heterogeneity statistics
    (separate tau^2); with a common tau^2, ``qe``/``qe_pval`` give the pooled
    test of residual heterogeneity instead.
    """

    levels: tuple
    k: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    tau2: np.ndarray
    q: np.ndarray
    q_pval: np.ndarray
    i2: np.ndarray
    q_between: float
    q_between_df: int
    q_between_df2: int | None
    q_between_pval: float
    qe: float | None
    qe_pval: float | None
    tau2_model: str
    method: str
    ci: str
    level: float
    fits: tuple = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "k": self.k,
                "estimate": self.estimate,
                "se": self.se,
                "statistic": self.statistic,
                "pval": self.pval,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "tau2": self.tau2,
                "q": self.q,
                "q_pval": self.q_pval,
                "i2": self.i2,
            },
            index=pd.Index(self.levels, name="group"),
        )

    def summary(self) -> Summary:
        """Plain text with its table (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, self.summary_text())

    def summary_text(self) -> str:
        if self.q_between_df2 is None:
            test = f"Q_between(df = {self.q_between_df}) = {self.q_between:.4f}"
        else:
            test = f"F({self.q_between_df}, {self.q_between_df2}) = {self.q_between:.4f}"
        return "\n".join(
            [
                f"Subgroup analysis ({self.tau2_model} tau^2, estimator {self.method}, {self.ci} inference)",
                self.to_frame().to_string(float_format=lambda x: f"{x:.4f}"),
                f"Test for subgroup differences: {test}, p = {self.q_between_pval:.4g}",
            ]
        )


def subgroup_analysis(
    yi,
    vi,
    groups,
    *,
    tau2: str = "separate",
    method: str = "REML",
    ci: str = "z",
    level: float = 0.95,
    labels: Sequence | None = None,
    **pool_options,
) -> SubgroupResult:
    """Pool within each group and test whether the groups differ (see the module docstring)."""
    y, v = check_yi_vi(yi, vi, labels=labels)
    k = y.size
    g = pd.Series(list(groups) if not isinstance(groups, pd.Series) else groups.to_list())
    if len(g) != k:
        raise ValueError(f"groups must have one label per study (got {len(g)} for k = {k})")
    missing = np.flatnonzero(g.isna().to_numpy())
    if missing.size:
        i = int(missing[0])
        who = f"study {labels[i]!r} (index {i})" if labels is not None else f"study {i}"
        raise ValueError(f"{who}: subgroup label must not be missing")
    if tau2 not in ("separate", "common"):
        raise ValueError(f"tau2 must be 'separate' or 'common' (got {tau2!r})")
    codes = g.astype(str).to_numpy()
    levels = tuple(sorted(set(codes)))
    if len(levels) < 2:
        raise ValueError(f"subgroup analysis needs at least 2 groups (got {len(levels)}: {levels})")
    sizes = np.array([int(np.sum(codes == lev)) for lev in levels])

    if tau2 == "separate":
        fits = tuple(
            pool(y[codes == lev], v[codes == lev], method=method, ci=ci, level=level, **pool_options)
            for lev in levels
        )
        col = lambda f: _ro([getattr(fit, f) for fit in fits])  # noqa: E731
        est, se = col("estimate"), col("se")
        between = pool(est, se**2, method="EE")
        return SubgroupResult(
            levels=levels,
            k=sizes,
            estimate=est,
            se=se,
            statistic=col("statistic"),
            pval=col("pval"),
            ci_low=col("ci_low"),
            ci_high=col("ci_high"),
            tau2=col("tau2"),
            q=col("q"),
            q_pval=col("q_pval"),
            i2=col("i2"),
            q_between=float(between.q),
            q_between_df=len(levels) - 1,
            q_between_df2=None,
            q_between_pval=float(between.q_pval),
            qe=None,
            qe_pval=None,
            tau2_model=tau2,
            method=method,
            ci=ci,
            level=level,
            fits=fits,
        )

    dummies = np.column_stack([(codes == lev).astype(float) for lev in levels])
    names = [f"group[{lev}]" for lev in levels]
    cells = meta_regression(y, v, dummies, intercept=False, names=names, method=method, ci=ci, level=level)
    contrasts = meta_regression(
        y, v, dummies[:, 1:], intercept=True, names=names[1:], method=method, ci=ci, level=level
    )
    nan = _ro(np.full(len(levels), np.nan))
    return SubgroupResult(
        levels=levels,
        k=sizes,
        estimate=_ro(cells.coef),
        se=_ro(cells.se),
        statistic=_ro(cells.statistic),
        pval=_ro(cells.pval),
        ci_low=_ro(cells.ci_low),
        ci_high=_ro(cells.ci_high),
        tau2=_ro(np.full(len(levels), cells.tau2)),
        q=nan,
        q_pval=nan,
        i2=nan,
        q_between=contrasts.qm,
        q_between_df=contrasts.qm_df,
        q_between_df2=contrasts.df,
        q_between_pval=contrasts.qm_pval,
        qe=contrasts.qe,
        qe_pval=contrasts.qe_pval,
        tau2_model=tau2,
        method=method,
        ci=ci,
        level=level,
        fits=(cells, contrasts),
    )
