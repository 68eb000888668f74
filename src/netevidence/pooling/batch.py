"""pool_many(): the same fits as pool() for many meta-analyses at once.

``Y`` and ``V`` are (m, K) arrays, one meta-analysis per row, padded with NaN (in both arrays) where a
row has fewer than K studies. Rows are grouped by their number of studies, packed without padding and
fitted together by the same row-wise kernel that pool() uses, so every row's numbers are bit-for-bit
those of ``pool(Y[i][keep], V[i][keep], ...)``. The Q-profile intervals (``tau2_ci_*``, ``i2_ci_*``,
``h2_ci_*``) need a root search per row and are computed on first access only.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np

from . import _kernel
from ..summary import Summary, summary_of
from .core import FRAME_COLUMNS, INTERVAL_FIELDS, SCALAR_FIELDS
from .heterogeneity import interval_rows
from ._validate import batch_arrays, check_options

__all__ = ["pool_many", "PoolManyResult", "BatchPrediction"]

CHUNK = 4096
ARRAY_COLUMNS = set(SCALAR_FIELDS) | set(INTERVAL_FIELDS) | {"q_df", "k", "converged"}


def _workers() -> int:
    """Threads available to this process (the compiled loops and numpy's ufuncs release the GIL)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return os.cpu_count() or 1


def _blocks(mask: np.ndarray, Y: np.ndarray, V: np.ndarray):
    """(row indices, Y block, V block) of at most CHUNK rows of equal k, packed without padding."""
    for idx_all, Y_all, V_all in _groups(mask, Y, V):
        for start in range(0, Y_all.shape[0], CHUNK):
            stop = start + CHUNK
            idx = slice(start, min(stop, Y_all.shape[0])) if idx_all is None else idx_all[start:stop]
            yield idx, Y_all[start:stop], V_all[start:stop]


def _run(job: Callable, blocks: list) -> None:
    """Call ``job`` on every block, on as many threads as there are cores (rows are independent)."""
    n = min(_workers(), len(blocks))
    if n <= 1:
        for b in blocks:
            job(*b)
        return
    with ThreadPoolExecutor(max_workers=n) as ex:
        for _ in ex.map(lambda b: job(*b), blocks):
            pass


def _ro(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class BatchPrediction:
    """Arrays of predictions (one per meta-analysis), optionally back-transformed."""

    pred: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray


def _vectorised(transf: Callable, x: np.ndarray) -> np.ndarray:
    try:
        out = np.asarray(transf(x), dtype=float)
        if out.shape == x.shape:
            return out
    except (TypeError, ValueError):
        pass
    return np.array([float(transf(float(t))) for t in x], dtype=float)


@dataclass(frozen=True)
class PoolManyResult:
    """Per-row results of :func:`pool_many`, under the field names of :class:`PoolResult` (arrays of length m;
    ``yi``/``vi`` are the (m, K) NaN-padded inputs and ``weights`` (m, K))."""

    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    statistic: np.ndarray
    pval: np.ndarray
    df: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    tau2: np.ndarray
    tau2_se: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    q: np.ndarray
    q_df: np.ndarray
    q_pval: np.ndarray
    weights: np.ndarray = field(repr=False)
    k: np.ndarray
    converged: np.ndarray
    method: str
    ci: str
    level: float
    pi_method: str
    i2_method: str
    tau2_fixed: bool
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    _vt: np.ndarray = field(repr=False, compare=False)
    _tol: float = field(repr=False, compare=False)
    _max_iter: int = field(repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.estimate.shape[0])

    @cached_property
    def _intervals(self) -> dict[str, np.ndarray]:
        m = len(self)
        out = {f: np.empty(m) for f in INTERVAL_FIELDS}

        def job(idx, Yg, Vg):
            iv = interval_rows(Yg, Vg, self.q[idx], self._vt[idx], level=self.level, tol=self._tol,
                               max_iter=self._max_iter)
            for f in INTERVAL_FIELDS:
                out[f][idx] = iv[f]

        _run(job, list(_blocks(~np.isnan(self.yi), self.yi, self.vi)))
        return {f: _ro(a) for f, a in out.items()}

    tau2_ci_low = property(lambda self: self._intervals["tau2_ci_low"], doc="Q-profile lower bound of tau^2")
    tau2_ci_high = property(lambda self: self._intervals["tau2_ci_high"], doc="Q-profile upper bound of tau^2")
    i2_ci_low = property(lambda self: self._intervals["i2_ci_low"], doc="lower bound of I^2 (percent)")
    i2_ci_high = property(lambda self: self._intervals["i2_ci_high"], doc="upper bound of I^2 (percent)")
    h2_ci_low = property(lambda self: self._intervals["h2_ci_low"], doc="lower bound of H^2")
    h2_ci_high = property(lambda self: self._intervals["h2_ci_high"], doc="upper bound of H^2")

    def predict(self, transf: Callable | None = None) -> BatchPrediction:
        """Estimates, CIs and PIs of every row, passed through ``transf`` when given."""
        vals = [self.estimate, self.ci_low, self.ci_high, self.pi_low, self.pi_high]
        if transf is not None:
            vals = [_vectorised(transf, v) for v in vals]
            for a, b in ((1, 2), (3, 4)):
                lo, hi = np.fmin(vals[a], vals[b]), np.fmax(vals[a], vals[b])
                nan = np.isnan(vals[a]) | np.isnan(vals[b])
                vals[a], vals[b] = np.where(nan, vals[a], lo), np.where(nan, vals[b], hi)
        return BatchPrediction(*vals)

    def to_frame(self):
        """One row per meta-analysis, with the columns of :meth:`PoolResult.to_frame` in the same order
        (weights and data left out)."""
        import pandas as pd

        m = len(self)
        return pd.DataFrame({c: (getattr(self, c) if c in ARRAY_COLUMNS else np.repeat(getattr(self, c), m))
                             for c in FRAME_COLUMNS})

    def summary(self) -> Summary:
        """Model line over the table of :meth:`to_frame` (:class:`netevidence.summary.Summary`)."""
        return summary_of(self, title=f"pool_many: {len(self)} meta-analyses, {self.method} model, {self.ci} CI "
                                      f"at {100 * self.level:g}%")


def _groups(mask: np.ndarray, Y: np.ndarray, V: np.ndarray):
    """Yield (row indices, packed Y, packed V) for each number of studies present (``mask``: real studies).

    Without padding the whole arrays come back at once, with ``None`` for "all rows".
    """
    if mask.all():
        yield None, Y, V
        return
    kk = mask.sum(axis=1)
    order = np.argsort(~mask, axis=1, kind="stable")
    Yp = np.take_along_axis(Y, order, axis=1)
    Vp = np.take_along_axis(V, order, axis=1)
    for k in np.unique(kk):
        idx = np.flatnonzero(kk == k)
        yield idx, np.ascontiguousarray(Yp[idx, :k]), np.ascontiguousarray(Vp[idx, :k])


def pool_many(
    Y,
    V,
    *,
    method: str = "REML",
    ci: str = "z",
    level: float = 0.95,
    pi: str = "default",
    i2: str = "tau2",
    tau2: float | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> PoolManyResult:
    """Fit :func:`~netevidence.pooling.pool` to every row of (m, K) arrays ``Y`` and ``V`` (NaN-padded)."""
    check_options(method, ci, level, pi, i2, tau2, max_iter, tol)
    if tau2 is not None and method == "EE":
        raise ValueError("tau2 cannot be fixed with method='EE' (the equal-effects model has tau^2 = 0)")
    Ya, Va, mask = batch_arrays(Y, V)
    m, K = Ya.shape
    res = {f: np.empty(m) for f in SCALAR_FIELDS}
    res["vt"] = np.empty(m)
    q_df = np.empty(m, dtype=np.int64)
    conv = np.empty(m, dtype=bool)
    full = bool(mask.all())
    packed_w = np.empty((m, K)) if full else np.full((m, K), np.nan)

    def job(idx, Yg, Vg):
        out = _kernel.fit_rows(Yg, Vg, method=method, ci=ci, level=float(level), pi=pi, i2=i2,
                               tau2_fixed=tau2, tol=tol, max_iter=int(max_iter))
        for f in SCALAR_FIELDS:
            res[f][idx] = out[f]
        res["vt"][idx] = out["vt"]
        q_df[idx] = out["q_df"]
        conv[idx] = out["converged"]
        packed_w[idx, : Yg.shape[1]] = out["weights"]

    # Blocks of rows keep the temporaries small enough to stay in cache; rows are independent.
    _run(job, list(_blocks(mask, Ya, Va)))
    if full:
        W = packed_w
    else:
        W = np.full((m, K), np.nan)
        order = np.argsort(~mask, axis=1, kind="stable")
        np.put_along_axis(W, order, packed_w, axis=1)
    vt = res.pop("vt")
    return PoolManyResult(
        **{f: _ro(a) for f, a in res.items()},
        q_df=_ro(q_df),
        weights=_ro(W),
        k=_ro(np.full(m, K, dtype=np.intp) if full else mask.sum(axis=1)),
        converged=_ro(conv),
        method=method,
        ci=ci,
        level=float(level),
        pi_method=pi,
        i2_method=i2,
        tau2_fixed=tau2 is not None,
        yi=_ro(Ya),
        vi=_ro(Va),
        _vt=_ro(vt),
        _tol=float(tol),
        _max_iter=int(max_iter),
    )
