"""Throughput of netevidence.pooling against metafor's rma(), statsmodels' combine_effects, PyMARE and a
plain-numpy closed-form DerSimonian-Laird estimator.

Run from the repository root:  python bench/bench_pooling.py [--m 400000] [--subset 2000]

- pool_many(method=...), k = 8, m meta-analyses generated with a fixed seed
  (vi ~ Exp(1)/10, yi ~ N(0, vi + 0.05)) and passed as users pass them, (m, k) arrays, timed in this
  process (best of 3 wall-clock runs, all cores);
- the practical ceiling: DerSimonian-Laird tau^2 and the pooled estimate in plain numpy on a study-major
  (k, m) array prepared beforehand (a handful of reductions, no checks, no intervals);
- PyMARE: VarianceBasedLikelihoodEstimator(method="REML") on all meta-analyses at once (its vectorised
  "parallel datasets" mode), on the first 20 * subset meta-analyses;
- metafor: rma(yi, vi, method="REML") in a loop over the first ``subset`` meta-analyses, timed inside R
  (Rscript), fits per second; the estimates are read back and compared with ours;
- statsmodels: combine_effects() in a loop over the first ``subset``. statsmodels has no REML; its
  "iterated" random-effects estimator is Paule-Mandel, so it is compared with pool_many(method="PM")
  (and, for its convergence tolerance, run with atol=1e-12);
- pool() on one meta-analysis of 10 studies (median time per call).

All peers run in the same invocation; the script prints fits/s, ratios and the largest absolute
differences between the results.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from netevidence.pooling import pool, pool_many  # noqa: E402

R_LOOP = r"""
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
Y <- as.matrix(read.csv(args[1], header = FALSE))
V <- as.matrix(read.csv(args[2], header = FALSE))
n <- nrow(Y)
ctrl <- if (length(args) >= 4 && args[4] == "tight") list(threshold = 1e-12, maxiter = 10000) else list()
est <- rep(NA_real_, n); tau2 <- rep(NA_real_, n)
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(n)) {
  r <- tryCatch(rma(Y[i, ], V[i, ], method = "REML", control = ctrl), error = function(e) NULL)
  if (!is.null(r)) { est[i] <- r$beta[1]; tau2[i] <- r$tau2 }
}
el <- proc.time()[["elapsed"]] - t0
write.table(cbind(est, tau2), args[3], sep = ",", row.names = FALSE, col.names = FALSE)
cat(sprintf("%.17g\n", el))
"""


def generate(m: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    V = rng.exponential(size=(m, k)) * 0.1
    Y = rng.normal(0.0, np.sqrt(V + 0.05))
    return Y, V


def cpu_time(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run_metafor(Y: np.ndarray, V: np.ndarray, control: str = "default"):
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        paths = [os.path.join(d, n) for n in ("y.csv", "v.csv", "out.csv", "loop.R")]
        np.savetxt(paths[0], Y, delimiter=",", fmt="%.17g")
        np.savetxt(paths[1], V, delimiter=",", fmt="%.17g")
        Path(paths[3]).write_text(R_LOOP)
        proc = subprocess.run([rscript, paths[3], paths[0], paths[1], paths[2], control], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            print("metafor run failed:", proc.stderr.strip()[:500])
            return None
        elapsed = float(proc.stdout.strip().splitlines()[-1])
        out = np.genfromtxt(paths[2], delimiter=",")
    return elapsed, out[:, 0], out[:, 1]


def run_statsmodels(Y: np.ndarray, V: np.ndarray, method_re: str):
    try:
        from statsmodels.stats.meta_analysis import combine_effects
    except ImportError:
        return None
    n = Y.shape[0]
    est = np.empty(n)
    tau2 = np.empty(n)
    kw = dict(atol=1e-12, maxiter=1000) if method_re == "iterated" else {}
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            r = combine_effects(Y[i], V[i], method_re=method_re, **kw)
            est[i] = r.mean_effect_re
            tau2[i] = r.tau2
    return time.perf_counter() - t, est, tau2


def run_pymare(Y: np.ndarray, V: np.ndarray):
    try:
        from pymare.estimators import VarianceBasedLikelihoodEstimator
    except ImportError:
        return None
    est = VarianceBasedLikelihoodEstimator(method="REML")
    X = np.ones((Y.shape[1], 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        est.fit(Y.T, V.T, X)
        elapsed = time.perf_counter() - t
    return elapsed, Y.shape[0], np.ravel(est.params_["fe_params"]), np.ravel(est.params_["tau2"])


def numpy_dl(Yt: np.ndarray, Vt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DerSimonian-Laird on study-major (k, m) arrays: the fewest passes numpy can do it in."""
    k = Yt.shape[0]
    w = 1.0 / Vt
    sw = w.sum(axis=0)
    swy = (w * Yt).sum(axis=0)
    swyy = (w * Yt * Yt).sum(axis=0)
    q = swyy - swy * swy / sw
    tau2 = np.maximum(0.0, (q - (k - 1)) / (sw - (w * w).sum(axis=0) / sw))
    ws = 1.0 / (Vt + tau2)
    return (ws * Yt).sum(axis=0) / ws.sum(axis=0), tau2


def q_statistic(Y: np.ndarray, V: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    W = 1.0 / (V + tau2[:, None])
    mu = (W * Y).sum(axis=1) / W.sum(axis=1)
    return (W * (Y - mu[:, None]) ** 2).sum(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, default=400_000, help="number of meta-analyses for pool_many")
    ap.add_argument("--k", type=int, default=8, help="studies per meta-analysis")
    ap.add_argument("--subset", type=int, default=2000, help="meta-analyses fitted by metafor and statsmodels")
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()

    Y, V = generate(args.m, args.k, args.seed)
    sub = slice(0, min(args.subset, args.m))
    print(f"data: {args.m} meta-analyses of k = {args.k} (seed {args.seed}); peers on the first {sub.stop}")

    pool_many(Y[:100], V[:100])  # warm-up
    t_reml = best_of(lambda: pool_many(Y, V, method="REML"), 3)
    res = pool_many(Y, V, method="REML")
    t_pm = best_of(lambda: pool_many(Y, V, method="PM"), 3)
    res_pm = pool_many(Y, V, method="PM")
    ours_reml = args.m / t_reml
    ours_pm = args.m / t_pm
    t_ci = best_of(lambda: pool_many(Y, V, method="REML").tau2_ci_high, 1)
    print(f"netevidence pool_many REML: {t_reml:8.3f} s  {ours_reml:12,.0f} fits/s  "
          f"(all converged: {bool(res.converged.all())})")
    cpu = min(cpu_time(lambda: pool_many(Y, V, method="REML")) for _ in range(3))
    print(f"  CPU time (all threads): {1e9 * cpu / args.m:.0f} ns per fit = {args.m / cpu:,.0f} fits per CPU-second; "
          f"{os.cpu_count()} cores; load average before the run {os.getloadavg()[0]:.1f} "
          "(wall-clock rates fall when other jobs share the cores)")
    print(f"netevidence pool_many PM:   {t_pm:8.3f} s  {ours_pm:12,.0f} fits/s")
    print(f"netevidence pool_many REML incl. Q-profile CIs: {t_ci:8.3f} s  {args.m / t_ci:12,.0f} fits/s")

    mf = run_metafor(Y[sub], V[sub])
    if mf is None:
        print("metafor: not available (Rscript or metafor missing)")
    else:
        elapsed, est, tau2 = mf
        ok = ~np.isnan(est)
        rate = sub.stop / elapsed
        print(f"metafor rma(REML) loop:     {elapsed:8.3f} s  {rate:12,.0f} fits/s  "
              f"({int((~ok).sum())} of {sub.stop} fits failed to converge in metafor)")
        print(f"  ratio pool_many / metafor: {ours_reml / rate:10.1f}x")
        print(f"  default control: max |estimate diff| = {np.max(np.abs(est[ok] - res.estimate[sub][ok])):.3g}, "
              f"max |tau2 diff| = {np.max(np.abs(tau2[ok] - res.tau2[sub][ok])):.3g} "
              "(metafor stops Fisher scoring at a tau^2 change < 1e-5)")
        tight = run_metafor(Y[sub], V[sub], "tight")
        if tight is not None:
            _, est_t, tau2_t = tight
            ok = ~np.isnan(est_t)
            print(f"  control=list(threshold=1e-12): max |estimate diff| = "
                  f"{np.max(np.abs(est_t[ok] - res.estimate[sub][ok])):.3g}, max |tau2 diff| = "
                  f"{np.max(np.abs(tau2_t[ok] - res.tau2[sub][ok])):.3g} ({int((~ok).sum())} metafor failures left out)")

    sm = run_statsmodels(Y[sub], V[sub], "iterated")
    if sm is None:
        print("statsmodels: not available")
    else:
        elapsed, est, tau2 = sm
        rate = sub.stop / elapsed
        print(f"statsmodels combine_effects (PM) loop: {elapsed:8.3f} s  {rate:12,.0f} fits/s")
        print(f"  ratio pool_many(PM) / statsmodels:   {ours_pm / rate:10.1f}x  (target >= 10x)")
        print(f"  ratio pool_many(REML) / statsmodels: {ours_reml / rate:10.1f}x")
        # statsmodels' Newton iteration returns 0 whenever a step overshoots the root; those rows are not
        # solutions of the Paule-Mandel equation and are counted separately.
        k = Y.shape[1]
        q0 = q_statistic(Y[sub], V[sub], np.zeros(sub.stop))
        wrong = (tau2 == 0) & (q0 > k - 1)
        print(f"  max |estimate diff| = {np.max(np.abs(est[~wrong] - res_pm.estimate[sub][~wrong])):.3g}, "
              f"max |tau2 diff| = {np.max(np.abs(tau2[~wrong] - res_pm.tau2[sub][~wrong])):.3g} "
              f"on the {int((~wrong).sum())} rows where statsmodels solves the PM equation; on the other "
              f"{int(wrong.sum())} it returns tau2 = 0 although Q(0) > k - 1 "
              f"(ours: Q(tau2) - (k-1) max abs {np.max(np.abs(q_statistic(Y[sub][wrong], V[sub][wrong], res_pm.tau2[sub][wrong]) - (k - 1))) if wrong.any() else 0:.2g})")
    sm_dl = run_statsmodels(Y[sub], V[sub], "chi2")
    if sm_dl is not None:
        t_dl = best_of(lambda: pool_many(Y, V, method="DL"), 3)
        res_dl = pool_many(Y, V, method="DL")
        elapsed, est, tau2 = sm_dl
        rate = sub.stop / elapsed
        print(f"statsmodels combine_effects (DL) loop: {elapsed:8.3f} s  {rate:12,.0f} fits/s; "
              f"pool_many DL {args.m / t_dl:,.0f} fits/s, ratio {args.m / t_dl / rate:.1f}x")
        # statsmodels does not truncate the DL estimate at 0; rows with a negative estimate are left out.
        neg = tau2 < 0
        print(f"  max |estimate diff| = {np.max(np.abs(est[~neg] - res_dl.estimate[sub][~neg])):.3g}, "
              f"max |tau2 diff| = {np.max(np.abs(tau2[~neg] - res_dl.tau2[sub][~neg])):.3g} on the "
              f"{int((~neg).sum())} rows where statsmodels' tau2 >= 0 ({int(neg.sum())} negative, "
              "untruncated estimates left out)")

    pm = run_pymare(Y[: 20 * sub.stop], V[: 20 * sub.stop])
    if pm is None:
        print("PyMARE: not available (pip install '.[bench]')")
    else:
        elapsed, n_pm, est, tau2 = pm
        rate_pm = n_pm / elapsed
        print(f"PyMARE REML (vectorised, {n_pm} meta-analyses): {elapsed:8.3f} s  {rate_pm:12,.0f} fits/s")
        print(f"  ratio pool_many(REML) / PyMARE: {ours_reml / rate_pm:10.1f}x")
        print(f"  max |estimate diff| = {np.max(np.abs(est - res.estimate[:n_pm])):.3g}, "
              f"max |tau2 diff| = {np.max(np.abs(tau2 - res.tau2[:n_pm])):.3g} (PyMARE's bounded minimiser tolerance)")
    Yt, Vt = np.ascontiguousarray(Y.T), np.ascontiguousarray(V.T)
    t_np = best_of(lambda: numpy_dl(Yt, Vt), 3)
    rate_np = args.m / t_np
    mu_np, tau2_np = numpy_dl(Yt, Vt)
    res_dl = pool_many(Y, V, method="DL")
    print(f"plain numpy closed-form DL on a (k, m) array: {t_np:8.3f} s  {rate_np:12,.0f} fits/s")
    print(f"  ratio pool_many(REML) / numpy DL: {ours_reml / rate_np:10.2f}x; pool_many(DL) / numpy DL: "
          f"{args.m / best_of(lambda: pool_many(Y, V, method='DL'), 3) / rate_np:.2f}x "
          f"(max |tau2 diff| {np.max(np.abs(tau2_np - res_dl.tau2)):.2g})")
    for meth in ("ML", "EB", "SJ"):
        t = best_of(lambda: pool_many(Y, V, method=meth), 3)
        print(f"netevidence pool_many {meth}: {t:8.3f} s  {args.m / t:12,.0f} fits/s")

    rng = np.random.default_rng(args.seed + 1)
    v10 = rng.exponential(size=10) * 0.1
    y10 = rng.normal(0.0, np.sqrt(v10 + 0.05))
    for _ in range(200):
        pool(y10, v10)
    per = []
    for _ in range(7):
        n = 500
        t = time.perf_counter()
        for _ in range(n):
            pool(y10, v10)
        per.append((time.perf_counter() - t) / n)
    print(f"pool(), one meta-analysis of 10 studies (REML, with Q-profile CIs): "
          f"median {1e6 * float(np.median(per)):.0f} us, best {1e6 * min(per):.0f} us per call (target < 500 us)")
    for what, cmd in (("import netevidence", [sys.executable, "-c", "import netevidence"]),
                      ("netevidence --help", [sys.executable, "-m", "netevidence.cli", "--help"])):
        times = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, env={**os.environ, "PYTHONPATH": str(SRC)})
            times.append(time.perf_counter() - t)
        print(f"{what}: median {float(np.median(times)):.3f} s, best {min(times):.3f} s (new process; target < 0.3 s)")


if __name__ == "__main__":
    main()
