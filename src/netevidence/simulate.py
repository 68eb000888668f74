"""Simulation studies of tau^2 estimators and confidence-interval methods, run on Dask.

A study is a grid of scenarios (number of studies ``k``, between-study variance ``tau2``, distribution
of the within-study variances or sample sizes, effect measure) crossed with a list of methods (a tau^2
estimator with a CI method). Each scenario's replicates are cut into chunks of ``chunk`` meta-analyses;
a chunk is one task: it draws its data from its own random stream, fits them with
:func:`~netevidence.pooling.pool_many` for every method and returns sums (of errors, squared errors,
covered replicates, ...). The sums are added up in chunk order, so the result depends on the seed and
the chunk size only, never on the scheduler or the number of workers.

Random streams: chunk ``c`` of scenario ``s`` uses ``numpy.random.SeedSequence(seed, spawn_key=(s, c))``
(O'Neill's PCG seeding; the same key always gives the same stream).

Data-generating model (Hardy and Thompson, Statistics in Medicine, 1996): study i has true effect
theta_i ~ N(mu, tau^2);

- ``generic``: y_i ~ N(theta_i, v_i) with v_i known (drawn from ``within``);
- ``MD``: mean difference of two arms of n_i patients each (n_i from ``within``), unit SD in both arms;
  y_i is the difference of the sample means, v_i = (s_1^2 + s_2^2) / n_i with the sample variances;
- ``logOR``: log odds ratio of two arms of n_i patients, control risk ``p0`` and log odds ratio theta_i;
  0.5 is added to every cell of a study with a zero cell (Haldane's correction), v_i = sum 1/cell.

Performance measures and their Monte-Carlo standard errors follow Morris, White and Crowther
(Statistics in Medicine, 2019, Table 6): bias = mean(mu_hat - mu), SE sd/sqrt(R); RMSE, SE by the delta
method sqrt(var(e^2) / (4 MSE R)); coverage p, SE sqrt(p (1 - p) / R); mean CI width, SE sd/sqrt(R).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from .tasks import run_tasks

__all__ = ["Method", "Scenario", "SimulationResult", "SimulationSpec", "generate", "load_spec",
           "scenarios_grid", "simulate", "spec_from_dict"]

MEASURES = ("generic", "MD", "logOR")
DISTRIBUTIONS = ("equal", "uniform", "fixed")
# Sums kept per method and chunk, in this order.
SUMS = ("n", "e", "e2", "e4", "covered", "width", "width2", "tau2_e", "tau2_e2", "converged")


@dataclass(frozen=True)
class Method:
    """A tau^2 estimator (``pool`` method) with a confidence-interval method (``z``, ``knha``, ``adhoc``)."""

    method: str
    ci: str = "z"

    @property
    def label(self) -> str:
        return f"{self.method}/{self.ci}"


@dataclass(frozen=True)
class Scenario:
    """One data-generating scenario.

    ``within`` gives the within-study variances (``generic``) or the per-arm sample sizes (``MD``,
    ``logOR``): ``("equal", a)``, ``("uniform", a, b)`` (sizes rounded to whole patients) or
    ``("fixed", x_1, ..., x_k)`` (recycled when shorter than k).
    """

    k: int
    tau2: float
    within: tuple
    measure: str = "generic"
    mu: float = 0.0
    p0: float = 0.3

    def label(self) -> str:
        return f"k={self.k} tau2={self.tau2:g} {self.measure} {':'.join(str(x) for x in self.within)}"


@dataclass(frozen=True)
class SimulationSpec:
    """Scenarios x methods, with the number of replicates per scenario and the random seed."""

    scenarios: tuple[Scenario, ...]
    methods: tuple[Method, ...]
    replicates: int = 1000
    seed: int = 0
    chunk: int = 1000
    level: float = 0.95


@dataclass(frozen=True)
class SimulationResult:
    """Performance of every method in every scenario (arrays indexed [scenario, method])."""

    spec: SimulationSpec
    sums: np.ndarray = field(repr=False)  # (scenarios, methods, len(SUMS))

    def _s(self, name: str) -> np.ndarray:
        return self.sums[..., SUMS.index(name)]

    @property
    def n(self) -> np.ndarray:
        return self._s("n")

    @property
    def bias(self) -> np.ndarray:
        return self._s("e") / self.n

    @property
    def bias_mcse(self) -> np.ndarray:
        return np.sqrt(_variance(self._s("e"), self._s("e2"), self.n) / self.n)

    @property
    def rmse(self) -> np.ndarray:
        return np.sqrt(self._s("e2") / self.n)

    @property
    def rmse_mcse(self) -> np.ndarray:
        mse = self._s("e2") / self.n
        var_e2 = _variance(self._s("e2"), self._s("e4"), self.n)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(var_e2 / (4.0 * mse * self.n))

    @property
    def coverage(self) -> np.ndarray:
        return self._s("covered") / self.n

    @property
    def coverage_mcse(self) -> np.ndarray:
        p = self.coverage
        return np.sqrt(p * (1.0 - p) / self.n)

    @property
    def width(self) -> np.ndarray:
        return self._s("width") / self.n

    @property
    def width_mcse(self) -> np.ndarray:
        return np.sqrt(_variance(self._s("width"), self._s("width2"), self.n) / self.n)

    @property
    def tau2_bias(self) -> np.ndarray:
        return self._s("tau2_e") / self.n

    @property
    def tau2_rmse(self) -> np.ndarray:
        return np.sqrt(self._s("tau2_e2") / self.n)

    @property
    def converged(self) -> np.ndarray:
        return self._s("converged") / self.n

    def to_frame(self):
        """One row per scenario and method."""
        import pandas as pd

        rows = []
        for i, sc in enumerate(self.spec.scenarios):
            for j, me in enumerate(self.spec.methods):
                rows.append({
                    "k": sc.k, "tau2": sc.tau2, "measure": sc.measure, "within": ":".join(map(str, sc.within)),
                    "mu": sc.mu, "method": me.method, "ci": me.ci, "replicates": int(self.n[i, j]),
                    "bias": self.bias[i, j], "bias_mcse": self.bias_mcse[i, j],
                    "rmse": self.rmse[i, j], "rmse_mcse": self.rmse_mcse[i, j],
                    "coverage": self.coverage[i, j], "coverage_mcse": self.coverage_mcse[i, j],
                    "width": self.width[i, j], "width_mcse": self.width_mcse[i, j],
                    "tau2_bias": self.tau2_bias[i, j], "tau2_rmse": self.tau2_rmse[i, j],
                    "converged": self.converged[i, j],
                })
        return pd.DataFrame(rows)


def _variance(s1: np.ndarray, s2: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Sample variance (divisor n - 1) from the sum and the sum of squares."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.maximum(0.0, (s2 - s1 * s1 / n) / (n - 1))


# --------------------------------------------------------------------------- data generation


def _within_values(within: tuple, k: int, size: int, rng: np.random.Generator, integer: bool) -> np.ndarray:
    kind = within[0]
    if kind == "equal":
        out = np.full((size, k), float(within[1]))
    elif kind == "uniform":
        lo, hi = float(within[1]), float(within[2])
        if integer:
            out = rng.integers(int(round(lo)), int(round(hi)) + 1, size=(size, k)).astype(float)
        else:
            out = rng.uniform(lo, hi, size=(size, k))
    else:
        vals = np.array([float(x) for x in within[1:]])
        out = np.broadcast_to(np.resize(vals, k), (size, k)).copy()
    return out


def generate(sc: Scenario, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(Y, V) of ``size`` meta-analyses of scenario ``sc`` drawn from ``rng``."""
    k = sc.k
    theta = sc.mu + math.sqrt(sc.tau2) * rng.standard_normal((size, k))
    if sc.measure == "generic":
        V = _within_values(sc.within, k, size, rng, integer=False)
        Y = theta + np.sqrt(V) * rng.standard_normal((size, k))
        return Y, V
    n = _within_values(sc.within, k, size, rng, integer=True)
    if (n < 2).any():
        raise ValueError(f"scenario {sc.label()}: for {sc.measure} 'within' gives the patients per arm, "
                         f"which must be at least 2; got {sc.within[1:]}")
    if sc.measure == "MD":
        m1 = rng.standard_normal((size, k)) / np.sqrt(n)
        m2 = theta + rng.standard_normal((size, k)) / np.sqrt(n)
        s1 = rng.chisquare(n - 1) / (n - 1)
        s2 = rng.chisquare(n - 1) / (n - 1)
        return m2 - m1, (s1 + s2) / n
    # logOR
    odds0 = sc.p0 / (1.0 - sc.p0)
    p1 = odds0 * np.exp(theta) / (1.0 + odds0 * np.exp(theta))
    a = rng.binomial(n.astype(np.int64), p1).astype(float)
    c = rng.binomial(n.astype(np.int64), sc.p0).astype(float)
    b, d = n - a, n - c
    zero = ((a == 0) | (b == 0) | (c == 0) | (d == 0))
    add = np.where(zero, 0.5, 0.0)
    a, b, c, d = a + add, b + add, c + add, d + add
    return np.log(a * d / (b * c)), 1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d


def chunk_seed(seed: int, scenario: int, chunk: int) -> np.random.SeedSequence:
    """The random stream of one chunk: keyed by scenario and chunk index, whatever runs it."""
    return np.random.SeedSequence(int(seed), spawn_key=(int(scenario), int(chunk)))


def run_chunk(spec: SimulationSpec, scenario: int, chunk: int, size: int) -> np.ndarray:
    """Sums of one chunk, shape (methods, len(SUMS))."""
    from .pooling import pool_many

    sc = spec.scenarios[scenario]
    rng = np.random.default_rng(chunk_seed(spec.seed, scenario, chunk))
    Y, V = generate(sc, size, rng)
    out = np.zeros((len(spec.methods), len(SUMS)))
    fits: dict[str, Any] = {}
    for j, me in enumerate(spec.methods):
        key = (me.method, me.ci)
        res = fits.get(key) or pool_many(Y, V, method=me.method, ci=me.ci, level=spec.level)
        fits[key] = res
        e = res.estimate - sc.mu
        width = res.ci_high - res.ci_low
        covered = (res.ci_low <= sc.mu) & (sc.mu <= res.ci_high)
        te = res.tau2 - sc.tau2
        e2 = e * e
        out[j] = [size, e.sum(), e2.sum(), (e2 * e2).sum(), covered.sum(), width.sum(), (width * width).sum(),
                  te.sum(), (te * te).sum(), res.converged.sum()]
    return out


def _tasks(spec: SimulationSpec) -> list[tuple[int, int, int]]:
    tasks = []
    for s in range(len(spec.scenarios)):
        for c, start in enumerate(range(0, spec.replicates, spec.chunk)):
            tasks.append((s, c, min(spec.chunk, spec.replicates - start)))
    return tasks


def _collect(spec: SimulationSpec, tasks, parts: Sequence[np.ndarray]) -> SimulationResult:
    sums = np.zeros((len(spec.scenarios), len(spec.methods), len(SUMS)))
    for (s, _, _), part in zip(tasks, parts):  # chunk order: the same additions whatever ran them
        sums[s] += part
    return SimulationResult(spec, sums)


# --------------------------------------------------------------------------- running on Dask


def simulate(spec: SimulationSpec, *, scheduler=None, progress: bool = False) -> SimulationResult:
    """Run a simulation study (see the module documentation) on the given Dask scheduler.

    ``scheduler``: None (Dask's local threaded scheduler), ``"sync"``, the address of a
    ``dask.distributed`` scheduler or a ``distributed.Client`` (see :func:`netevidence.tasks.run_tasks`).
    """
    tasks = _tasks(spec)
    parts = run_tasks(run_chunk, [(spec, s, c, n) for s, c, n in tasks], scheduler=scheduler, progress=progress)
    return _collect(spec, tasks, parts)


# --------------------------------------------------------------------------- specification files


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _within(item, where: str) -> tuple:
    if isinstance(item, dict):
        if len(item) != 1:
            raise ValueError(f"{where}: give one of {', '.join(DISTRIBUTIONS)} (e.g. {{uniform: [0.01, 0.5]}})")
        kind, vals = next(iter(item.items()))
        vals = _as_list(vals)
    elif isinstance(item, str):
        kind, *vals = item.split(":")
    else:
        raise ValueError(f"{where}: expected e.g. {{equal: 0.1}} or {{uniform: [0.01, 0.5]}}; got {item!r}")
    if kind not in DISTRIBUTIONS:
        raise ValueError(f"{where}: unknown distribution {kind!r}; use one of {', '.join(DISTRIBUTIONS)}")
    try:
        nums = tuple(float(v) for v in vals)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: the values of {kind!r} must be numbers; got {vals!r}") from None
    need = {"equal": 1, "uniform": 2}.get(kind)
    if (need is not None and len(nums) != need) or not nums:
        raise ValueError(f"{where}: {kind!r} takes {need or 'at least one'} value(s); got {len(nums)}")
    if any(not (x > 0 and math.isfinite(x)) for x in nums):
        raise ValueError(f"{where}: variances and sample sizes must be finite and > 0; got {list(nums)}")
    if kind == "uniform" and nums[0] > nums[1]:
        raise ValueError(f"{where}: uniform bounds must be [low, high]; got {list(nums)}")
    return (kind, *nums)


def spec_from_dict(d: dict, where: str = "spec") -> SimulationSpec:
    """Build a :class:`SimulationSpec` from a mapping (the parsed YAML file)."""
    from .pooling import pool

    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected a mapping with scenarios and methods")
    known = {"scenarios", "methods", "replicates", "seed", "chunk", "level"}
    extra = sorted(set(d) - known)
    if extra:
        raise ValueError(f"{where}: unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(known))}")
    grid = d.get("scenarios")
    if not isinstance(grid, dict):
        raise ValueError(f"{where}: 'scenarios' must map k, tau2, within (and optionally measure, mu, p0) to values")
    missing = [key for key in ("k", "tau2", "within") if key not in grid]
    if missing:
        raise ValueError(f"{where}: scenarios need {', '.join(missing)}")
    axes = {
        "k": _as_list(grid["k"]),
        "tau2": _as_list(grid["tau2"]),
        "within": [_within(w, f"{where}: scenarios.within[{i}]") for i, w in enumerate(_as_list(grid["within"]))],
        "measure": _as_list(grid.get("measure", "generic")),
        "mu": _as_list(grid.get("mu", 0.0)),
        "p0": _as_list(grid.get("p0", 0.3)),
    }
    for k in axes["k"]:
        if not isinstance(k, int) or k < 2:
            raise ValueError(f"{where}: scenarios.k must be whole numbers >= 2; got {k!r}")
    for t in axes["tau2"]:
        if not isinstance(t, (int, float)) or not (t >= 0) or not math.isfinite(t):
            raise ValueError(f"{where}: scenarios.tau2 must be numbers >= 0; got {t!r}")
    for m in axes["measure"]:
        if m not in MEASURES:
            raise ValueError(f"{where}: scenarios.measure {m!r} is not one of {', '.join(MEASURES)}")
    for p in axes["p0"]:
        if not isinstance(p, (int, float)) or not 0 < p < 1:
            raise ValueError(f"{where}: scenarios.p0 must lie strictly between 0 and 1; got {p!r}")
    scenarios = tuple(
        Scenario(k=int(k), tau2=float(t), within=w, measure=m, mu=float(mu), p0=float(p0))
        for k, t, w, m, mu, p0 in itertools.product(*axes.values())
    )
    for sc in scenarios:
        if sc.measure != "generic" and min(sc.within[1:]) < 2:
            raise ValueError(f"{where}: for measure {sc.measure} 'within' gives the patients per arm (>= 2); "
                             f"got {':'.join(map(str, sc.within))}")
    methods = []
    for i, item in enumerate(_as_list(d.get("methods", []))):
        if isinstance(item, str):
            item = dict(zip(("method", "ci"), item.split("/")))
        if not isinstance(item, dict) or "method" not in item:
            raise ValueError(f"{where}: methods[{i}] must be like {{method: REML, ci: knha}} or 'REML/knha'")
        me = Method(str(item["method"]), str(item.get("ci", "z")))
        try:
            pool([0.0, 1.0], [1.0, 1.0], method=me.method, ci=me.ci)
        except ValueError as exc:
            raise ValueError(f"{where}: methods[{i}] = {me.label}: {exc}") from None
        methods.append(me)
    if not methods:
        raise ValueError(f"{where}: list at least one method, e.g. methods: [REML/z, REML/knha]")
    ints = {}
    for key, default in (("replicates", 1000), ("seed", 0), ("chunk", 1000)):
        val = d.get(key, default)
        if not isinstance(val, int) or isinstance(val, bool) or val < (0 if key == "seed" else 1):
            raise ValueError(f"{where}: {key} must be a whole number{' >= 0' if key == 'seed' else ' >= 1'}; "
                             f"got {val!r}")
        ints[key] = val
    level = d.get("level", 0.95)
    if not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"{where}: level must lie strictly between 0 and 1; got {level!r}")
    return SimulationSpec(scenarios, tuple(methods), level=float(level), **ints)


def load_spec(path) -> SimulationSpec:
    """Read a YAML simulation specification (see docs/simulation.md)."""
    from pathlib import Path

    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{p}: not valid YAML: {exc}") from None
    return spec_from_dict(data, where=str(p))


def scenarios_grid(**axes: Iterable) -> tuple[Scenario, ...]:
    """Scenarios for every combination of the given values (k, tau2, within, measure, mu, p0)."""
    names = list(axes)
    return tuple(Scenario(**dict(zip(names, combo))) for combo in itertools.product(*axes.values()))
