"""GOSH benchmark: netevidence.pooling.gosh against R's metafor gosh() in the same run.

* netevidence, k = 20, DerSimonian-Laird: all 1,048,575 subsets (target: under 5 s);
* netevidence and metafor, k = 18, DL: all 262,143 subsets, timed on the same
  data; the results are compared subset by subset and the speed ratio printed.

Data: the first 20 (18) studies of metadat's dat.li2007 (log odds ratios).
Run from the repository root: ``.venv/bin/python bench/bench_gosh.py``
(``--no-r`` skips metafor).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from netevidence.pooling.sensitivity import gosh  # noqa: E402

REF = json.loads((ROOT / "tests" / "reference" / "sensitivity.json").read_text())

R_SCRIPT = r"""
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
k <- as.integer(args[1]); out <- args[2]
dat <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007)[1:k, ]
res <- rma(yi, vi, data = dat, method = "DL")
t0 <- proc.time()[["elapsed"]]
g <- gosh(res, progbar = FALSE)
elapsed <- proc.time()[["elapsed"]] - t0
mask <- as.numeric(g$incl %*% 2^(seq_len(k) - 1))
write.table(data.frame(mask = sprintf("%.0f", mask), estimate = sprintf("%.17g", g$res$estimate),
                       tau2 = sprintf("%.17g", g$res$tau2), QE = sprintf("%.17g", g$res$QE),
                       I2 = sprintf("%.17g", g$res$I2)),
            out, sep = ",", row.names = FALSE, quote = FALSE)
cat(sprintf("%.6f\n", elapsed))
"""


def timed(fn, repeat: int = 3):
    best, result = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-r", action="store_true", help="skip the metafor run")
    opts = parser.parse_args()

    ds = REF["datasets"]["li2007"]
    y, v = np.asarray(ds["yi"], dtype=float), np.asarray(ds["vi"], dtype=float)
    print(f"cores: {os.cpu_count()}, numpy {np.__version__}")

    gosh(y[:10], v[:10], method="DL")  # warm-up (imports, allocation)
    t20, res20 = timed(lambda: gosh(y[:20], v[:20], method="DL"))
    print(f"netevidence gosh  k = 20, DL: {res20.n_subsets:>9,d} subsets in {t20:7.3f} s "
          f"({res20.n_subsets / t20:,.0f} subsets/s) -> target < 5 s: {'met' if t20 < 5 else 'NOT met'}")
    t18, res18 = timed(lambda: gosh(y[:18], v[:18], method="DL"))
    print(f"netevidence gosh  k = 18, DL: {res18.n_subsets:>9,d} subsets in {t18:7.3f} s "
          f"({res18.n_subsets / t18:,.0f} subsets/s)")

    if opts.no_r:
        return
    if shutil.which("Rscript") is None:
        print("Rscript not found: metafor timing skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "gosh.R"
        script.write_text(R_SCRIPT)
        out = Path(tmp) / "gosh18.csv"
        proc = subprocess.run(["Rscript", str(script), "18", str(out)], capture_output=True, text=True, check=True)
        t_r = float(proc.stdout.strip().splitlines()[-1])
        table = np.genfromtxt(out, delimiter=",", names=True)
    print(f"metafor gosh()    k = 18, DL: {len(table):>9,d} subsets in {t_r:7.3f} s "
          f"({len(table) / t_r:,.0f} subsets/s)")
    print(f"speed ratio, k = 18 (metafor time / netevidence time): {t_r / t18:,.1f}x")
    print(f"netevidence k = 20 time vs metafor k = 18 time: {t_r / t20:,.1f}x faster with 4x the subsets")

    ours = {int(m): i for i, m in enumerate(res18.mask)}
    idx = np.array([ours[int(m)] for m in table["mask"]])
    worst = 0.0
    for ours_f, theirs_f in (("estimate", "estimate"), ("tau2", "tau2"), ("q", "QE"), ("i2", "I2")):
        a = np.asarray(getattr(res18, ours_f))[idx]
        b = table[theirs_f]
        denom = np.maximum(np.abs(b), 1e-12)
        worst = max(worst, float(np.nanmax(np.abs(a - b) / denom)))
    print(f"largest relative difference to metafor over all k = 18 subsets: {worst:.2e}")


if __name__ == "__main__":
    main()
