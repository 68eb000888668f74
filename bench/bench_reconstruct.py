"""Reconstruction benchmark: netevidence.survival.reconstruct_ipd (Guyot et al. 2012).

* one 1,000-point digitised curve with 12 at-risk intervals and total events (target: under 50 ms);
* a batch of 1,000 such curves (target: under 20 s);
* peers in the same run, on the same reconstructed data: a Kaplan-Meier fit of the 1,000 reconstructed
  data sets with lifelines and with R's survival::survfit (no public reconstruction tool is installed
  here, so the peers time the next step of the analysis, which every reconstruction is followed by).

Data: simulated Weibull trials (n = 700) read by a simulated digitiser (both corners of every step, jitter,
5% of corners missed, clicks out of order), netevidence.survival.simulate.
Run from the repository root: ``.venv/bin/python bench/bench_reconstruct.py`` (``--no-r`` skips R).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from netevidence.survival import reconstruct_ipd, reconstruct_many  # noqa: E402
from netevidence.survival.simulate import at_risk_table, digitise, km_corners, simulate_trial  # noqa: E402

R_SCRIPT = r"""
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
groups <- split(d, d$curve)
t0 <- proc.time()[["elapsed"]]
for (g in groups) f <- survfit(Surv(time, event) ~ 1, data = g)
cat(sprintf("%.6f\n", proc.time()[["elapsed"]] - t0))
"""


def make_case(seed: int, points: int = 1000, intervals: int = 12):
    rng = np.random.default_rng(seed)
    tr = simulate_trial(rng, 700, shape=1.3, scale=14.0, accrual=24.0, follow_up=24.0, dropout_rate=0.01,
                        time_decimals=3)
    corners = km_corners(tr.time, tr.event)
    dig = digitise(corners, rng, sd_time=0.02, sd_survival=0.002, drop_fraction=0.05, n_swaps=5)
    if len(dig) > points:  # trim to exactly `points` points, keeping the ends
        keep = np.sort(rng.choice(np.arange(1, len(dig) - 1), points - 2, replace=False))
        dig = dig.iloc[np.concatenate(([0], keep, [len(dig) - 1]))]
    ticks = np.linspace(0.0, tr.time.max(), intervals + 1)[:-1]
    return dig.reset_index(drop=True), len(tr), at_risk_table(tr.time, ticks), int(tr.event.sum())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()

    dig, n, ar, d = make_case(0)
    print(f"single curve: {len(dig)} digitised points, {len(ar)} at-risk intervals, n={n}, events={d}")
    reconstruct_ipd(dig, n, at_risk=ar, total_events=d)  # warm up
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        r = reconstruct_ipd(dig, n, at_risk=ar, total_events=d)
        times.append(time.perf_counter() - t0)
    single = float(np.median(times))
    print(f"  reconstruct_ipd: median {1000 * single:.2f} ms, best {1000 * min(times):.2f} ms "
          f"over 30 runs (target < 50 ms) -> {'OK' if single < 0.05 else 'TOO SLOW'}")
    print(f"  fit: max |diff| {r.diagnostics.max_abs_diff:.4f}, RMS {r.diagnostics.rms_diff:.4f}")

    cases = [make_case(1000 + i) for i in range(args.batch)]
    t0 = time.perf_counter()
    results = reconstruct_many([c[0] for c in cases], [c[1] for c in cases], at_risks=[c[2] for c in cases],
                               total_events=[c[3] for c in cases])
    batch = time.perf_counter() - t0
    print(f"batch: {len(cases)} curves of ~{int(np.mean([len(c[0]) for c in cases]))} points in {batch:.2f} s "
          f"({1000 * batch / len(cases):.2f} ms per curve; target < 20 s) -> {'OK' if batch < 20 else 'TOO SLOW'}")

    # peers on the same reconstructed data
    from lifelines import KaplanMeierFitter

    t0 = time.perf_counter()
    for res in results:
        KaplanMeierFitter().fit(res.time, res.event)
    ll = time.perf_counter() - t0
    print(f"peer, lifelines KaplanMeierFitter on the {len(results)} reconstructed data sets: {ll:.2f} s "
          f"(reconstruction / lifelines KM = {batch / ll:.2f})")
    if args.no_r or shutil.which("Rscript") is None:
        print("peer, R survival::survfit: skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = pd.concat([res.ipd.assign(curve=i) for i, res in enumerate(results)])
        csv = Path(tmp) / "ipd.csv"
        data.to_csv(csv, index=False)
        script = Path(tmp) / "km.R"
        script.write_text(R_SCRIPT)
        out = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True, text=True, check=True)
        rt = float(out.stdout.strip().splitlines()[-1])
    print(f"peer, R survival::survfit on the {len(results)} reconstructed data sets: {rt:.2f} s "
          f"(reconstruction / survfit = {batch / rt:.2f})")


if __name__ == "__main__":
    main()
