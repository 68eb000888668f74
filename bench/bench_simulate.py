"""Coverage of the Wald (z) and Hartung-Knapp-Sidik-Jonkman intervals with DerSimonian-Laird tau^2, on a
grid after IntHout, Ioannidis and Borm (BMC Medical Research Methodology 2014;14:25), compared with the
values the paper states (tests/data/published/inthout2014.json, each with its location on the page); then
the per-scenario coverages of the DL Wald interval for mean differences in Friedrich, Adhikari and Beyene
(BMC Medical Research Methodology 2008;8:32, table 3; tests/data/published/friedrich2008.json).

Run from the repository root:  python bench/bench_simulate.py [--replicates 20000] [--scheduler ADDRESS]

Grid: k = 2, 3, 5, 10, 20 trials; I^2 = 0, 25, 50, 75, 90% (tau^2 = v I^2 / (1 - I^2) for the
within-trial variance v = 0.1 of a small trial); trials of equal size, one trial ten times larger than
the others, or a quarter of the trials (at least one) ten times larger (the paper's example design).
Normal outcomes with known variances, mu = 0. The readable part of the paper gives neither its effect
measure nor how it drew the within-trial variances, so this design is ours.

Printed per scenario: the error rates (1 - coverage) of the 95% z and HKSJ intervals with Monte-Carlo
SEs; then the exact properties (HKSJ with equal trial sizes and the common-effect z interval at
tau^2 = 0 have coverage exactly 95%) and the published bounds: the largest HKSJ error rate at most twice
the nominal 5%, the largest DL error rate over 30%.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from netevidence.simulate import Method, Scenario, SimulationSpec, simulate  # noqa: E402

PUBLISHED = ROOT / "tests" / "data" / "published" / "inthout2014.json"
FRIEDRICH = ROOT / "tests" / "data" / "published" / "friedrich2008.json"
V_SMALL = 0.1
I2 = (0.0, 0.25, 0.5, 0.75, 0.9)
KS = (2, 3, 5, 10, 20)
PATTERNS = ("equal", "one large", "25% large")


def published() -> tuple[dict, dict[str, float]]:
    data = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    return data, {v["name"]: v["value"] for v in data["values"]}


def grid(share: float, ratio: float) -> tuple[tuple[str, Scenario], ...]:
    out = []
    for pattern in PATTERNS:
        for k in KS:
            n_large = {"equal": 0, "one large": 1, "25% large": max(1, round(share * k))}[pattern]
            if n_large == 0:
                within = ("equal", V_SMALL)
            else:
                within = ("fixed", *([V_SMALL / ratio] * n_large), *([V_SMALL] * (k - n_large)))
            for i2 in I2:
                out.append((pattern, Scenario(k=k, tau2=V_SMALL * i2 / (1 - i2), within=within)))
    return tuple(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicates", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=2014)
    ap.add_argument("--scheduler", default=None, help="dask.distributed address (default: local threads)")
    args = ap.parse_args()
    data, pub = published()
    labelled = grid(pub["large_trial_share"], pub["large_trial_size_ratio"])
    methods = (Method("DL", "z"), Method("DL", "knha"), Method("EE", "z"))
    spec = SimulationSpec(tuple(sc for _, sc in labelled), methods, replicates=args.replicates, seed=args.seed,
                          chunk=5000)
    t = time.perf_counter()
    res = simulate(spec, scheduler=args.scheduler)
    elapsed = time.perf_counter() - t
    n_fits = len(spec.scenarios) * args.replicates * len(methods)
    print(f"{len(spec.scenarios)} scenarios x {args.replicates} replicates x {len(methods)} methods = {n_fits:,} fits "
          f"in {elapsed:.1f} s ({n_fits / elapsed:,.0f} fits/s)")
    err = 1.0 - res.coverage
    se = res.coverage_mcse
    print(f"{'sizes':10s} {'k':>3s} {'I2':>5s} {'DL z error':>16s} {'DL HKSJ error':>16s}")
    for i, (pattern, sc) in enumerate(labelled):
        i2 = sc.tau2 / (sc.tau2 + V_SMALL)
        print(f"{pattern:10s} {sc.k:3d} {100 * i2:4.0f}% {err[i, 0]:9.4f}±{se[i, 0]:.4f} {err[i, 1]:9.4f}±{se[i, 1]:.4f}")
    equal = np.array([p == "equal" for p, _ in labelled])
    zero = np.array([sc.tau2 == 0 for _, sc in labelled])
    nominal = pub["nominal_error_rate"]
    dev_hksj = np.abs(err[equal, 1] - nominal) / se[equal, 1]
    dev_ee = np.abs(err[zero, 2] - nominal) / se[zero, 2]
    print(f"exact: HKSJ with equal trial sizes, max |error - {nominal}| = {dev_hksj.max():.2f} MC SEs "
          f"over {equal.sum()} scenarios ({'ok' if dev_hksj.max() < 4 else 'CHECK'})")
    print(f"exact: common-effect z at tau2 = 0, max |error - {nominal}| = {dev_ee.max():.2f} MC SEs "
          f"over {zero.sum()} scenarios ({'ok' if dev_ee.max() < 4 else 'CHECK'})")
    print(f"published ({data['page']}):")
    hksj_bound = pub["hksj_error_rate_max_factor"] * nominal
    w = int(np.argmax(err[:, 1]))
    ok = err[w, 1] - 4 * se[w, 1] <= hksj_bound
    print(f"  HKSJ largest error rate: ours {err[w, 1]:.4f}±{se[w, 1]:.4f} ({labelled[w][0]}, k={labelled[w][1].k}); "
          f"paper: at most {hksj_bound:.2f} [Abstract, Results] ({'ok' if ok else 'CHECK'} within 4 MC SEs)")
    over = np.flatnonzero(err[:, 1] - 4 * se[:, 1] > hksj_bound)
    if over.size:
        print(f"  HKSJ scenarios above {hksj_bound:.2f} by more than 4 MC SEs: "
              + ", ".join(f"{labelled[i][0]} k={labelled[i][1].k} I2={labelled[i][1].tau2 / (labelled[i][1].tau2 + V_SMALL):.2f}"
                          for i in over))
    w = int(np.argmax(err[:, 0]))
    ok = err[w, 0] + 4 * se[w, 0] > pub["dl_error_rate_exceeds"]
    print(f"  DL z largest error rate: ours {err[w, 0]:.4f}±{se[w, 0]:.4f} ({labelled[w][0]}, k={labelled[w][1].k}); "
          f"paper: over {pub['dl_error_rate_exceeds']:.2f} [Abstract, Results] ({'ok' if ok else 'CHECK'} within 4 MC SEs)")
    het = ~zero
    closer = np.abs(err[het, 1] - nominal) < np.abs(err[het, 0] - nominal)
    print(f"  HKSJ closer to nominal than DL z in {closer.sum()} of {het.sum()} heterogeneous scenarios "
          f"(paper: consistently [Abstract, Results])")
    friedrich(args.replicates, args.seed, args.scheduler)


def friedrich(replicates: int, seed: int, scheduler) -> None:
    """The DL Wald coverages of Friedrich, Adhikari and Beyene 2008, table 3 (all twelve scenarios)."""
    data = json.loads(FRIEDRICH.read_text(encoding="utf-8"))
    values = data["values"]
    scenarios = tuple(Scenario(k=v["k"], tau2=v["tau_over_sd"] ** 2, within=("equal", v["n_per_arm"]),
                               measure="MD") for v in values)
    res = simulate(SimulationSpec(scenarios, (Method("DL", "z"),), replicates=replicates, seed=seed, chunk=5000),
                   scheduler=scheduler)
    print(f"\npublished per-scenario coverage, DL z interval, mean difference ({data['page']}):")
    print(f"{'n/arm':>6s} {'k':>3s} {'tau/SD':>6s} {'table 3':>8s} {'ours':>14s}  within rounding + 3 MC SEs")
    ok_all = True
    for i, v in enumerate(values):
        p = v["value"] / 100
        got, se = res.coverage[i, 0], res.coverage_mcse[i, 0]
        tol = 0.005 + 3 * math.hypot(se, math.sqrt(p * (1 - p) / data["replicates"]))
        ok = abs(got - p) <= tol
        ok_all &= ok
        print(f"{v['n_per_arm']:6d} {v['k']:3d} {v['tau_over_sd']:6.1f} {v['value']:7d}% {100 * got:8.2f}±{100 * se:.2f}%  "
              f"{'ok' if ok else 'CHECK'}")
    print(f"  {'all twelve reproduced' if ok_all else 'some scenarios differ'} ({replicates} replicates each; "
          f"the table: {data['replicates']} each, whole percentages)")


if __name__ == "__main__":
    main()
