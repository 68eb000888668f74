"""Sensitivity and influence analyses for random-effects models.

* :func:`leave_one_out` refits the model k times, each time omitting one study.
* :func:`cumulative` adds the studies one at a time in a given order
  (Lau, Antman, Jimenez-Silva et al., New England Journal of Medicine, 1992).
* :func:`influence` gives the case-deletion diagnostics of Viechtbauer & Cheung
  (Research Synthesis Methods, 2010): studentized deleted residuals, DFFITS,
  Cook's distance, covariance ratio, leave-one-out tau^2 and QE, hat values,
  weights and DFBETAS, plus the internally standardized residuals.
* :func:`gosh` fits the model to all (or a seeded random sample of) subsets of
  studies (Olkin, Dahabreh & Trikalinos, Research Synthesis Methods, 2012).
* :func:`permutation_test` gives permutation p-values for the model
  coefficients (Follmann & Proschan, Biometrics, 1999; Higgins & Thompson,
  Statistics in Medicine, 2004).

All functions follow the definitions of R's metafor (``leave1out()``,
``cumul()``, ``influence()``, ``rstandard()``, ``gosh()``, ``permutest()``).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._arrays import readonly as _ro
from ..summary import Summary, summary_of
from .fitted import accepts_fit
from .core import pool
from .batch import pool_many
from .regression import (
    check_yi_vi,
    design_matrix,
    meta_regression,
)

__all__ = [
    "LeaveOneOutResult",
    "CumulativeResult",
    "InfluenceResult",
    "GoshResult",
    "PermutationTestResult",
    "leave_one_out",
    "cumulative",
    "influence",
    "gosh",
    "permutation_test",
]

_COMPTOL = float(np.sqrt(np.finfo(float).eps))


def _labels(labels, k: int) -> tuple:
    if labels is None:
        return tuple(range(k))
    labels = tuple(labels)
    if len(labels) != k:
        raise ValueError(f"labels must have one entry per study (got {len(labels)} for k = {k})")
    return labels


# --------------------------------------------------------------------------- leave-one-out


@dataclass(frozen=True)
class LeaveOneOutResult:
    """Pooled results with each study omitted in turn (row i omits study i)."""

    study: tuple
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    q: np.ndarray
    q_pval: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    method: str
    ci: str
    level: float

    def summary(self) -> Summary:
        """Model line over the table of :meth:`to_frame` (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, title=f"Leave-one-out: {self.method} model, {self.ci} CI at {100 * self.level:g}%, k = {len(self.study)}")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "estimate": self.estimate,
                "se": self.se,
                "statistic": self.statistic,
                "pval": self.pval,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "q": self.q,
                "q_pval": self.q_pval,
                "tau2": self.tau2,
                "i2": self.i2,
                "h2": self.h2,
            },
            index=pd.Index(self.study, name="omitted"),
        )


_POOL_FIELDS = ("estimate", "se", "statistic", "pval", "ci_low", "ci_high", "q", "q_pval", "tau2", "i2", "h2")


def _collect(fits) -> dict[str, np.ndarray]:
    return {f: _ro([getattr(r, f) for r in fits]) for f in _POOL_FIELDS}


@accepts_fit
def leave_one_out(
    yi,
    vi,
    *,
    method: str = "REML",
    ci: str = "z",
    level: float = 0.95,
    tau2: float | None = None,
    labels: Sequence | None = None,
    **pool_options,
) -> LeaveOneOutResult:
    """Refit the pooled model k times, omitting one study each time (metafor's ``leave1out()``).

    Requires k >= 2. Remaining keyword arguments go to :func:`pool`.
    """
    y, v = check_yi_vi(yi, vi, labels=labels)
    k = y.size
    if k < 2:
        raise ValueError(f"leave-one-out needs at least 2 studies (got k = {k})")
    names = _labels(labels, k)
    fits = []
    for i in range(k):
        keep = np.arange(k) != i
        fits.append(pool(y[keep], v[keep], method=method, ci=ci, level=level, tau2=tau2, **pool_options))
    return LeaveOneOutResult(study=names, method=method, ci=ci, level=level, **_collect(fits))


# --------------------------------------------------------------------------- cumulative


@dataclass(frozen=True)
class CumulativeResult:
    """Pooled results as studies are added one at a time (row j pools the first j+1 studies).

    ``estimate``, ``ci_low``, ``ci_high``, ``pi_low`` and ``pi_high`` are on the
    scale given by ``transf`` (the same hook as ``PoolResult.predict``); when a
    transform was applied ``se`` is NaN, as it has no meaning on that scale.
    """

    study: tuple
    order: np.ndarray
    k: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    q: np.ndarray
    q_pval: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    transformed: bool
    method: str
    ci: str
    level: float

    def summary(self) -> Summary:
        """Model line over the table of :meth:`to_frame` (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, title=f"Cumulative meta-analysis: {self.method} model, {self.ci} CI at {100 * self.level:g}%")

    def to_frame(self) -> pd.DataFrame:
        cols = ("k", "estimate", "se", "statistic", "pval", "ci_low", "ci_high", "pi_low", "pi_high",
                "q", "q_pval", "tau2", "i2", "h2")
        return pd.DataFrame({c: getattr(self, c) for c in cols}, index=pd.Index(self.study, name="added"))


@accepts_fit
def cumulative(
    yi,
    vi,
    *,
    order=None,
    decreasing: bool = False,
    method: str = "REML",
    ci: str = "z",
    level: float = 0.95,
    tau2: float | None = None,
    transf: Callable | None = None,
    labels: Sequence | None = None,
    **pool_options,
) -> CumulativeResult:
    """Cumulative meta-analysis (metafor's ``cumul()``).

    ``order`` is a sort key per study (e.g. publication year); ties keep the
    input order. ``transf`` back-transforms the estimate and the confidence and
    prediction limits through ``PoolResult.predict(transf)``.
    """
    y, v = check_yi_vi(yi, vi, labels=labels)
    k = y.size
    names = _labels(labels, k)
    if order is None:
        idx = np.arange(k)
    else:
        key = np.asarray(order)
        if key.shape != (k,):
            raise ValueError(f"order must have one entry per study (got shape {key.shape} for k = {k})")
        if key.dtype.kind in "fc":
            bad = np.flatnonzero(~np.isfinite(key))
            if bad.size:
                i = int(bad[0])
                who = f"study {names[i]!r} (index {i})" if labels is not None else f"study {i}"
                raise ValueError(f"{who}: order key must be finite (got {key[i]})")
        idx = _stable_decreasing(key) if decreasing else np.argsort(key, kind="stable")
    ys, vs = y[idx], v[idx]
    rows = []
    for j in range(1, k + 1):
        fit = pool(ys[:j], vs[:j], method=method, ci=ci, level=level, tau2=tau2, **pool_options)
        pred = fit.predict(transf=transf)
        rows.append((fit, pred))
    get = lambda f: _ro([getattr(r[0], f) for r in rows])  # noqa: E731
    getp = lambda f: _ro([getattr(r[1], f) for r in rows])  # noqa: E731
    return CumulativeResult(
        study=tuple(names[i] for i in idx),
        order=np.asarray(idx),
        k=np.arange(1, k + 1),
        estimate=getp("pred"),
        se=get("se") if transf is None else _ro(np.full(k, np.nan)),
        statistic=get("statistic"),
        pval=get("pval"),
        ci_low=getp("ci_low"),
        ci_high=getp("ci_high"),
        pi_low=getp("pi_low"),
        pi_high=getp("pi_high"),
        q=get("q"),
        q_pval=get("q_pval"),
        tau2=get("tau2"),
        i2=get("i2"),
        h2=get("h2"),
        transformed=transf is not None,
        method=method,
        ci=ci,
        level=level,
    )


def _stable_decreasing(key: np.ndarray) -> np.ndarray:
    """Indices sorting ``key`` in decreasing order, ties in input order (R's order(decreasing=TRUE))."""
    _, codes = np.unique(key, return_inverse=True)
    return np.argsort(-codes.ravel(), kind="stable")


# --------------------------------------------------------------------------- influence


@dataclass(frozen=True)
class InfluenceResult:
    """Case-deletion diagnostics, one row per study (Viechtbauer & Cheung, 2010)."""

    study: tuple
    resid: np.ndarray
    rstandard: np.ndarray
    resid_deleted: np.ndarray
    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    qe_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    influential: np.ndarray
    coef_names: tuple[str, ...]
    method: str
    ci: str

    def summary(self) -> Summary:
        """Model line over the table of :meth:`to_frame` (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, title=f"Influence diagnostics: {self.method} model, {int(np.sum(self.influential))} of {len(self.study)} studies flagged")

    def to_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(
            {
                "resid": self.resid,
                "rstandard": self.rstandard,
                "resid_deleted": self.resid_deleted,
                "rstudent": self.rstudent,
                "dffits": self.dffits,
                "cook_d": self.cook_d,
                "cov_r": self.cov_r,
                "tau2_del": self.tau2_del,
                "qe_del": self.qe_del,
                "hat": self.hat,
                "weight": self.weight,
                "influential": self.influential,
            },
            index=pd.Index(self.study, name="study"),
        )
        for j, name in enumerate(self.coef_names):
            df[f"dfbetas[{name}]"] = self.dfbetas[:, j]
        return df


@accepts_fit
def influence(
    yi,
    vi,
    mods=None,
    *,
    intercept: bool = True,
    method: str = "REML",
    ci: str = "z",
    level: float = 0.95,
    tau2: float | None = None,
    labels: Sequence | None = None,
) -> InfluenceResult:
    """Influence diagnostics of a random-effects model or meta-regression (metafor's ``influence()``).

    For study i with the model refitted without it (``_(-i)``):

    * studentized deleted residual ``(y_i - x_i b_(-i)) / sqrt(s_(-i) (v_i + tau2_(-i)) + x_i V_(-i) x_i')``;
    * DFFITS ``(x_i b - x_i b_(-i)) / sqrt(s_(-i) h_i (tau2_(-i) + v_i))``;
    * Cook's distance ``(b - b_(-i))' V^-1 (b - b_(-i))``;
    * covariance ratio ``det V_(-i) / det V``;
    * DFBETAS ``(b - b_(-i)) / sqrt(s_(-i) diag((X' W_(-i) X)^-1))`` with all k studies weighted at tau2_(-i);

    ``s`` is the Knapp-Hartung scale (1 under ``ci="z"``), ``h_i`` the hat value.
    A study is flagged influential as in metafor: |DFFITS| > 3 sqrt(p / (k - p)),
    Cook's distance above the chi-square(p) median, hat > 3p/k or any |DFBETAS| > 1.
    ``resid`` are the marginal residuals ``e = y - X b`` and ``rstandard`` the internally standardized
    residuals ``e_i / sqrt(((I-H) M (I-H)')_ii)`` with ``M = diag(v_i + tau^2)`` (metafor's
    ``rstandard()``); ``resid_deleted`` is the deleted residual ``y_i - x_i b_(-i)``.
    """
    y, v = check_yi_vi(yi, vi, labels=labels)
    k = y.size
    if k < 2:
        raise ValueError(f"influence diagnostics need at least 2 studies (got k = {k})")
    names = _labels(labels, k)
    full = meta_regression(y, v, mods, intercept=intercept, method=method, ci=ci, level=level, tau2=tau2)
    X, beta, vb = np.asarray(full.X), full.coef, full.vcov
    p = X.shape[1]
    t2 = full.tau2
    w = 1.0 / (v + t2)
    XtW = X.T * w
    A = np.linalg.inv(XtW @ X)
    H = X @ A @ XtW
    hat = np.minimum(np.diag(H).copy(), 1.0)
    hat[hat > 1 - 10 * np.finfo(float).eps] = 1.0
    weight = 100.0 * w / w.sum()

    # internally standardized (marginal) residuals
    e = y - X @ beta
    e[np.abs(e) < 100 * np.finfo(float).eps] = 0.0
    ImH = np.eye(k) - H
    se_e = np.sqrt(np.einsum("ij,j,ij->i", ImH, v + t2, ImH))
    rstandard = e / se_e

    svb_inv = np.linalg.inv(vb)
    det_vb = np.linalg.det(vb)
    pred_full = X @ beta
    out = {n: np.full(k, np.nan) for n in ("tau2_del", "qe_del", "delpred", "vdelpred", "s2w", "dffits",
                                           "cook_d", "cov_r")}
    dfbs = np.full((k, p), np.nan)
    for i in range(k):
        keep = np.arange(k) != i
        Xi = X[keep]
        if np.linalg.matrix_rank(Xi) < p:
            continue
        fit = meta_regression(y[keep], v[keep], Xi, intercept=False, method=method, ci=ci, level=level, tau2=tau2)
        t2d = fit.tau2
        out["tau2_del"][i] = t2d
        out["qe_del"][i] = fit.qe
        out["delpred"][i] = X[i] @ fit.coef
        out["vdelpred"][i] = X[i] @ fit.vcov @ X[i]
        out["s2w"][i] = fit.s2w
        out["dffits"][i] = (pred_full[i] - out["delpred"][i]) / np.sqrt(fit.s2w * hat[i] * (t2d + v[i]))
        wd = 1.0 / (v + t2d)
        vb_del = np.linalg.inv((X.T * wd) @ X)
        dfb = beta - fit.coef
        dfbs[i] = dfb / np.sqrt(fit.s2w * np.diag(vb_del))
        out["cook_d"][i] = dfb @ svb_inv @ dfb
        out["cov_r"][i] = np.linalg.det(fit.vcov) / det_vb
    resid_del = y - out["delpred"]
    resid_del[np.abs(resid_del) < 100 * np.finfo(float).eps] = 0.0
    se_del = np.sqrt(v * out["s2w"] + out["vdelpred"] + out["tau2_del"] * out["s2w"])
    rstudent = resid_del / se_del
    with np.errstate(invalid="ignore"):
        infl = (
            (np.abs(out["dffits"]) > 3 * np.sqrt(p / (k - p)) if k > p else np.zeros(k, bool))
            | (stats.chi2.cdf(out["cook_d"], p) > 0.5)
            | (hat > 3 * p / k)
            | np.any(np.abs(dfbs) > 1, axis=1)
        )
    dfbs.setflags(write=False)
    infl.setflags(write=False)
    return InfluenceResult(
        study=names,
        resid=_ro(e),
        rstandard=_ro(rstandard),
        resid_deleted=_ro(resid_del),
        rstudent=_ro(rstudent),
        dffits=_ro(out["dffits"]),
        cook_d=_ro(out["cook_d"]),
        cov_r=_ro(out["cov_r"]),
        tau2_del=_ro(out["tau2_del"]),
        qe_del=_ro(out["qe_del"]),
        hat=_ro(hat),
        weight=_ro(weight),
        dfbetas=dfbs,
        influential=infl,
        coef_names=full.names,
        method=method,
        ci=ci,
    )


# --------------------------------------------------------------------------- GOSH


@dataclass(frozen=True)
class GoshResult:
    """Model fits to subsets of studies: ``incl[r, i]`` tells whether study i is in subset r.

    Rows are ordered by subset size; within a size, exhaustive enumerations are
    ordered by the subset's bit mask (study i contributes ``2**i``), as metafor orders them.
    """

    incl: np.ndarray
    k: np.ndarray
    estimate: np.ndarray
    q: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    tau2: np.ndarray
    exact: bool
    method: str
    study: tuple

    @property
    def n_subsets(self) -> int:
        return int(self.incl.shape[0])

    @property
    def mask(self) -> np.ndarray:
        """Integer bit mask per subset (study i -> bit i); valid for up to 62 studies."""
        return self.incl.astype(np.int64) @ (np.int64(1) << np.arange(self.incl.shape[1], dtype=np.int64))

    def summary(self) -> Summary:
        """Model line over the table of :meth:`to_frame` (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, title=f"GOSH: {self.n_subsets} subsets ({'all' if self.exact else 'random sample'}), {self.method} model")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"k": self.k, "q": self.q, "i2": self.i2, "h2": self.h2, "tau2": self.tau2, "estimate": self.estimate}
        )


def _all_subsets(k: int) -> np.ndarray:
    """All non-empty subsets as boolean rows, ordered by size then by bit mask (study i -> bit i)."""
    masks = np.arange(1, 2**k, dtype=np.uint32)
    order = np.argsort(np.bitwise_count(masks), kind="stable")
    bits = np.unpackbits(masks[order].astype("<u4").view(np.uint8).reshape(-1, 4), axis=1, bitorder="little")
    return bits[:, :k].astype(bool)


def _random_subsets(k: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n random non-empty subsets (boolean rows): each study kept with probability 1/2, empty sets redrawn."""
    incl = rng.random((n, k)) < 0.5
    empty = ~incl.any(axis=1)
    while empty.any():
        incl[empty] = rng.random((int(empty.sum()), k)) < 0.5
        empty = ~incl.any(axis=1)
    order = np.argsort(incl.sum(axis=1), kind="stable")
    return incl[order]


@accepts_fit
def gosh(
    yi,
    vi,
    *,
    method: str = "DL",
    max_subsets: int = 2**20 - 1,
    seed: int | None = None,
    chunk_size: int = 1 << 14,
    workers: int | None = None,
    labels: Sequence | None = None,
    scheduler=None,
    **pool_options,
) -> GoshResult:
    """GOSH plot data: the model fitted to every non-empty subset of studies.

    All ``2**k - 1`` subsets are fitted when that number is at most
    ``max_subsets`` (by default every data set with k <= 20); otherwise
    ``max_subsets`` random subsets are drawn with generator ``seed`` (each
    study included with probability 1/2, as metafor samples them). Subsets of
    equal size are fitted together by the vectorised :func:`pool_many` (in
    chunks of at most ``chunk_size`` subsets), so every row equals
    :func:`pool` on that subset. For DL and EE, ``i2`` and ``h2`` are the
    Q-based ``(Q - df) / Q`` and ``Q / df`` (``pool(i2="q")``), as metafor's
    ``gosh()`` reports them (they differ from the tau^2-based values only in
    ``h2`` when Q < df); pass ``i2="tau2"`` for the other definition. Chunks run on ``workers`` threads (default:
    the number of CPUs, at most 4); the numbers do not depend on it. With ``scheduler`` (a
    ``dask.distributed`` address or client, or a local Dask scheduler name) the chunks are Dask tasks
    instead (:func:`netevidence.tasks.run_tasks`); the subsets are drawn before, so the result is the
    same as the local run.
    """
    y, v = check_yi_vi(yi, vi, labels=labels)
    k = y.size
    names = _labels(labels, k)
    if max_subsets < 1:
        raise ValueError(f"max_subsets must be at least 1 (got {max_subsets})")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1 (got {chunk_size})")
    exact = 2**k - 1 <= max_subsets
    if exact and k > 30:
        raise ValueError(f"fitting all 2**{k} - 1 subsets is not feasible; lower max_subsets to sample")
    if exact:
        incl = _all_subsets(k)
    else:
        incl = _random_subsets(k, int(max_subsets), np.random.default_rng(seed))
    sizes = incl.sum(axis=1)
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers})")
    if method in ("DL", "EE"):
        # metafor's gosh() reports the Q-based I^2 and H^2 for these models
        pool_options.setdefault("i2", "q")
    fields = _gosh_fit(y, v, incl, sizes, method=method, chunk_size=chunk_size, workers=workers,
                       scheduler=scheduler, **pool_options)
    incl.setflags(write=False)
    sizes.setflags(write=False)
    return GoshResult(incl=incl, k=sizes, exact=exact, method=method, study=names, **fields)


GOSH_FIELDS = ("estimate", "q", "i2", "h2", "tau2")


def gosh_chunk(y, v, incl, method, pool_options) -> list[np.ndarray]:
    """GOSH fields of subsets of equal size (rows of ``incl``), one pool_many call."""
    j = int(incl[0].sum())
    cols = np.nonzero(incl)[1].reshape(incl.shape[0], j)
    out = pool_many(y[cols], v[cols], method=method, **pool_options)
    return [np.asarray(getattr(out, f)) for f in GOSH_FIELDS]


def _gosh_fit(y, v, incl, sizes, *, method, chunk_size, workers, scheduler=None,
              **pool_options) -> dict[str, np.ndarray]:
    """Fit every subset; ``incl`` rows must be sorted by size.

    Rows of one size are packed without padding and handed to pool_many in
    chunks; chunks are independent, so they may run on several threads (numpy
    releases the GIL) without changing any number.
    """
    n = incl.shape[0]
    res = {f: np.empty(n) for f in ("estimate", "q", "i2", "h2", "tau2")}
    bounds = np.flatnonzero(np.diff(sizes)) + 1
    tasks = []
    for a, b in zip(np.r_[0, bounds], np.r_[bounds, n]):
        for lo in range(int(a), int(b), chunk_size):
            tasks.append((lo, min(int(b), lo + chunk_size), int(sizes[a])))

    if scheduler is not None:
        from ..tasks import run_tasks

        parts = run_tasks(gosh_chunk, [(y, v, incl[lo:hi], method, pool_options) for lo, hi, _ in tasks],
                          scheduler=scheduler)
        for (lo, hi, _), part in zip(tasks, parts):
            for f, a in zip(GOSH_FIELDS, part):
                res[f][lo:hi] = a
        return {f: _ro(a) for f, a in res.items()}

    def run(task):
        lo, hi, j = task
        # rows of one size: the column indices of the included studies, in order, packed j wide
        cols = np.nonzero(incl[lo:hi])[1].reshape(hi - lo, j)
        out = pool_many(y[cols], v[cols], method=method, **pool_options)
        for f in res:
            res[f][lo:hi] = getattr(out, f)

    if workers > 1 and len(tasks) > 1:
        with ThreadPoolExecutor(max_workers=workers) as executor:
            list(executor.map(run, tasks))
    else:
        for task in tasks:
            run(task)
    return {f: _ro(a) for f, a in res.items()}


# --------------------------------------------------------------------------- permutation test


@dataclass(frozen=True)
class PermutationTestResult:
    """Permutation p-values for the model coefficients and the omnibus test."""

    names: tuple[str, ...]
    coef: np.ndarray
    statistic: np.ndarray
    pval: np.ndarray
    qm: float
    qm_pval: float
    n_permutations: int
    exact: bool
    method: str
    ci: str

    def summary(self) -> Summary:
        """Omnibus test over the table of :meth:`to_frame` (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, title=f"Permutation test: {self.n_permutations} permutations ({'exact' if self.exact else 'random'}), QM = {self.qm:.4f}, p = {self.qm_pval:.4g}")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"estimate": self.coef, "statistic": self.statistic, "perm_pval": self.pval},
            index=pd.Index(self.names, name="coefficient"),
        )


@accepts_fit
def permutation_test(
    yi,
    vi,
    mods=None,
    *,
    intercept: bool = True,
    method: str = "REML",
    ci: str = "z",
    level: float = 0.95,
    tau2: float | None = None,
    exact: bool | None = None,
    n_iter: int = 1000,
    seed: int | None = None,
    labels: Sequence | None = None,
    scheduler=None,
) -> PermutationTestResult:
    """Permutation test of the coefficients (metafor's ``permutest()``).

    Intercept-only models: the signs of the ``yi`` are flipped (all ``2**k``
    sign patterns when exact). Meta-regressions: the rows of the design matrix
    are permuted (all distinct permutations when exact). The p-value is the
    share of permuted test statistics at least as extreme in absolute value as
    the observed one (with tolerance sqrt(machine epsilon)); ``qm_pval`` is
    the same for the omnibus statistic. ``exact=None`` chooses the exact test
    when it needs no more than ``n_iter`` fits; otherwise ``n_iter`` random
    permutations from generator ``seed`` are used, the first being the
    observed data. With ``scheduler`` (a ``dask.distributed`` address or client, or a local Dask
    scheduler name) blocks of permutations are Dask tasks (:func:`netevidence.tasks.run_tasks`); the
    permutations are drawn before, so the p-values equal those of the local run.
    """
    y, v = check_yi_vi(yi, vi, labels=labels)
    k = y.size
    X, colnames = design_matrix(mods, k, intercept=intercept)
    int_only = X.shape[1] == 1 and intercept
    p = X.shape[1]
    btt = tuple(range(1, p)) if (intercept and p > 1) else tuple(range(p))
    obs = meta_regression(y, v, X, intercept=False, names=colnames, method=method, ci=ci, level=level, tau2=tau2,
                          btt=btt)
    if n_iter < 2:
        raise ValueError(f"n_iter must be at least 2 (got {n_iter})")
    rng = np.random.default_rng(seed)

    if int_only:
        n_exact = 2**k
        use_exact = exact if exact is not None else n_exact <= n_iter
        if use_exact and k > 30:
            raise ValueError(f"an exact sign-flip test needs 2**{k} fits; use exact=False")
        blocks = []
        n_rows = n_exact if use_exact else n_iter
        for lo in range(0, n_rows, 1 << 16):
            hi = min(n_rows, lo + (1 << 16))
            if use_exact:
                codes = np.arange(lo, hi, dtype=np.int64)
                signs = 1.0 - 2.0 * ((codes[:, None] >> np.arange(k)) & 1)
            else:
                signs = rng.choice(np.array([-1.0, 1.0]), size=(hi - lo, k))
                if lo == 0:
                    signs[0] = 1.0  # the observed data
            blocks.append((y, v, signs, method, ci, level, tau2))
        if scheduler is None:
            zs = [signflip_stats(*b) for b in blocks]
        else:
            from ..tasks import run_tasks

            zs = run_tasks(signflip_stats, blocks, scheduler=scheduler)
        zperm = np.concatenate(zs)[:, None]
        # QM of an intercept-only model is the squared z (or t) statistic; under knha it is F(1, k - 1).
        qmperm = zperm[:, 0] ** 2
    else:
        perms, n_exact = _row_permutations(X, exact, n_iter)
        use_exact = perms is not None and exact is not False and (exact or n_exact <= n_iter)
        if not use_exact:
            perms = np.array([rng.permutation(k) for _ in range(n_iter)])
            perms[0] = np.arange(k)
        blocks = [(y, v, X, perms[lo:lo + 1000], method, ci, level, tau2, obs.btt)
                  for lo in range(0, len(perms), 1000)]
        if scheduler is None:
            parts = [permuted_regression_stats(*b) for b in blocks]
        else:
            from ..tasks import run_tasks

            parts = run_tasks(permuted_regression_stats, blocks, scheduler=scheduler)
        zperm = np.concatenate([z for z, _ in parts])
        qmperm = np.concatenate([q for _, q in parts])
    pval = np.mean(np.abs(zperm) >= np.abs(obs.statistic) - _COMPTOL, axis=0)
    pval = np.minimum(pval, 1.0)
    qm_pval = float(np.mean(qmperm >= obs.qm - _COMPTOL))
    return PermutationTestResult(
        names=colnames,
        coef=_ro(obs.coef),
        statistic=_ro(obs.statistic),
        pval=_ro(pval),
        qm=obs.qm,
        qm_pval=qm_pval,
        n_permutations=int(zperm.shape[0]),
        exact=bool(use_exact),
        method=method,
        ci=ci,
    )


def permuted_regression_stats(y, v, X, perms, method, ci, level, tau2, btt) -> tuple[np.ndarray, np.ndarray]:
    """Coefficient statistics and QM of the meta-regression with the rows of X permuted by each of ``perms``."""
    zperm = np.empty((len(perms), X.shape[1]))
    qmperm = np.empty(len(perms))
    for r, perm in enumerate(perms):
        fit = meta_regression(y, v, X[perm], intercept=False, method=method, ci=ci, level=level, tau2=tau2, btt=btt)
        zperm[r] = fit.statistic
        qmperm[r] = fit.qm
    return zperm, qmperm


def signflip_stats(y, v, signs, method, ci, level, tau2) -> np.ndarray:
    """Test statistic of the intercept-only model for each sign pattern, through pool_many."""
    Y = signs * y
    V = np.broadcast_to(v, Y.shape).copy()
    return np.asarray(pool_many(Y, V, method=method, ci=ci, level=level, tau2=tau2).statistic, dtype=float)


def _row_permutations(X: np.ndarray, exact: bool | None, n_iter: int) -> tuple[np.ndarray | None, int]:
    """Distinct permutations of the rows of X (as index arrays) when their number is small enough."""
    k = X.shape[0]
    _, codes = np.unique(X, axis=0, return_inverse=True)
    codes = codes.ravel()
    counts = np.bincount(codes)
    n_distinct = math.factorial(k)
    for c in counts:
        n_distinct //= math.factorial(int(c))
    if exact is False or (exact is None and n_distinct > n_iter):
        return None, n_distinct
    if n_distinct > 5_000_000:
        raise ValueError(f"an exact permutation test needs {n_distinct} fits; use exact=False")
    rows_of = [list(np.flatnonzero(codes == c)) for c in range(counts.size)]
    perms = []
    for seq in _multiset_permutations(list(counts)):
        taken = [0] * counts.size
        perm = []
        for c in seq:
            perm.append(rows_of[c][taken[c]])
            taken[c] += 1
        perms.append(perm)
    return np.array(perms, dtype=int), n_distinct


def _multiset_permutations(counts: list[int]):
    """Yield every distinct arrangement of a multiset given as symbol counts."""
    total = sum(counts)
    seq: list[int] = []

    def rec():
        if len(seq) == total:
            yield tuple(seq)
            return
        for c, left in enumerate(counts):
            if left:
                counts[c] -= 1
                seq.append(c)
                yield from rec()
                seq.pop()
                counts[c] += 1

    yield from rec()
