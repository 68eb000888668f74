"""Draw every kind of figure at 1, 2, 10 and 40 rows into one folder, to look at them: forest plots of
proportions and of ratios, funnel plots (with trim-and-fill from 10 studies), reconstructed Kaplan-Meier
curves with their numbers-at-risk table, model-based survival curves, the risk-of-bias traffic-light and
summary plots and the PRISMA flow diagram (SVG; its PNG needs a browser or rsvg-convert).

Run from the repository root: ``.venv/bin/python docs/img/make_gallery.py [OUT [KIND ...]]`` (default
``/tmp/netevidence-gallery``; KIND among forest, funnel, km, curves, rob, prisma, all by default). The data are synthetic but coherent: each study's events are drawn from its
own size, hazard ratios' intervals from their events, Kaplan-Meier curves are digitised from the RADIANT-4
data shipped with the tests, and the risk-of-bias judgements follow each tool's rule. Survival curves come
from the shipped evidence (1, 2, 10 and all of its study arms)."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import netevidence
from netevidence.effects import effect_size
from netevidence.plots import (forest_plot, funnel_plot, km_plot, prisma_svg, risk_of_bias_summary_plot,
                               survival_curves_plot, traffic_light_plot)
from netevidence.pooling import pool
from netevidence.records.searchlog import prisma_flow
from netevidence.specs import kaplan_meier_panel, load_spec, run_spec
from netevidence.survival.simulate import digitise, km_corners

sys.path.insert(0, "tests")
from rob_synthetic import NAMES, synthetic_table  # noqa: E402

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/netevidence-gallery")
KINDS = set(sys.argv[2:]) or {"forest", "funnel", "km", "curves", "rob", "prisma"}
OUT.mkdir(parents=True, exist_ok=True)
SIZES = (1, 2, 10, 40)
DPI = 110


def png(figure, name: str) -> None:
    figure.save(OUT / f"{name}.png", dpi=DPI)


def names(k: int) -> list[str]:
    """Study labels of realistic lengths, a few long enough to wrap."""
    return [f"{NAMES[i % len(NAMES)]} {2000 + (i * 7) % 24}" + (" (multicentre registry, updated analysis)"
                                                                if i % 9 == 4 else "") for i in range(k)]


rng = np.random.default_rng(2024)
for k in SIZES:
    n = rng.integers(15, 300, k)
    events = rng.binomial(n, 1.0 / (1.0 + np.exp(-rng.normal(-0.4, 0.6, k))))
    es = effect_size("PLO", events=events, n=n)
    labels = names(k)
    if "forest" in KINDS and k == 1:   # one study: its estimate, nothing pooled (metafor's forest(yi, vi, slab=))
        png(forest_plot(es, labels=labels, n=n, events=events), f"forest-proportions-{k}")
    elif "forest" in KINDS:
        png(forest_plot(pool(es["yi"], es["vi"]), labels=labels, measure="PLO", n=n, events=events,
                        scale="percent"), f"forest-proportions-{k}")
    # hazard ratios: log HR around 0.8, its standard error sqrt(4 / deaths), deaths drawn from each size
    deaths = np.maximum(rng.binomial(n, 0.5), 4)
    se = np.sqrt(4.0 / deaths)
    loghr = rng.normal(np.log(0.8), 0.15, k) + rng.normal(0, se)
    hr = effect_size("HR", hr=np.exp(loghr), ci_low=np.exp(loghr - 1.96 * se), ci_high=np.exp(loghr + 1.96 * se))
    if "forest" in KINDS and k == 1:
        png(forest_plot(hr, labels=labels, n=n), f"forest-ratios-{k}")
    elif "forest" in KINDS:
        png(forest_plot(pool(hr["yi"], hr["vi"]), labels=labels, measure="HR", n=n), f"forest-ratios-{k}")
    # funnel: studies as published when small studies with low proportions stay unpublished (each study's
    # events still drawn from its own size), so that trim-and-fill has something to fill from 10 studies
    m = rng.integers(15, 300, 4 * k)
    ev_m = rng.binomial(m, 1.0 / (1.0 + np.exp(-rng.normal(-0.4, 0.3, 4 * k))))
    published = (m >= 120) | (ev_m / m >= np.median(ev_m / m))
    m, ev_m = m[published][:k], ev_m[published][:k]
    fes = effect_size("PLO", events=ev_m, n=m)
    if "funnel" in KINDS:
        png(funnel_plot(pool(fes["yi"], fes["vi"]), labels, measure="PLO", trimfill=k >= 3,
                        title=f"Simulated studies ({k})"), f"funnel-{k}")

# Kaplan-Meier: 1, 2, 10 and 40 curves digitised from RADIANT-4's two arms
ipd = pd.read_csv("tests/data/radiant4/RADIANT4_2C.csv")
arms = [(arm, ipd[ipd["arm"] == arm]) for arm in ("everolimus", "placebo")]
for k in SIZES if "km" in KINDS else ():
    panels = []
    for i in range(k):
        arm, d = arms[i % 2]
        curve = digitise(km_corners(d["time"].to_numpy(), d["event"].to_numpy()), rng, sd_time=0.05,
                         sd_survival=0.003, drop_fraction=0.3)
        grid = np.arange(0.0, d["time"].max(), 3.0)
        at_risk = pd.DataFrame({"time": grid, "n_at_risk": [int((d["time"] >= t).sum()) for t in grid]})
        label = f"RADIANT-4 {arm}" if k <= 2 else f"{names(k)[i]} ({arm})"
        panels.append(kaplan_meier_panel(curve, len(d), label=label, at_risk=at_risk))
    png(km_plot(panels, title=f"Reconstructed overall survival ({k} {'curve' if k == 1 else 'curves'})", xticks=[0, 6, 12, 18, 24]),
        f"km-{k}")

# survival curves of the shipped evidence: 1, 2, 10 and every study arm
ev = netevidence.load_evidence("evidence")
spec = load_spec("analyses/landmark-survival.yaml")
full = run_spec(ev, spec).curves
id_of = dict(zip(ev.studies["study_name"], ev.studies["study_id"]))
arms = list(dict.fromkeys(full.curves["label"]))
for k in (1, 2, 10, None) if "curves" in KINDS else ():
    ids = sorted({id_of[next(n for n in id_of if a == n or a.startswith(n + " ("))] for a in arms[:k]}) if k else None
    sel = spec.select.model_copy(update={"studies": ids})
    curves = run_spec(ev, spec.model_copy(update={"select": sel})).curves if k else full
    png(survival_curves_plot(curves, title=f"Overall survival ({len(set(curves.curves['label']))} study arm(s))"),
        f"survival-curves-{k or 'all'}")

# risk of bias: synthetic assessments following each tool's rule
for k in SIZES if "rob" in KINDS else ():
    table = synthetic_table(k, "robins_i", seed=k)
    png(traffic_light_plot(table, title=f"{k} synthetic assessments"), f"rob-traffic-light-{k}")
    png(risk_of_bias_summary_plot(table, title=f"{k} synthetic assessments"), f"rob-summary-{k}")

# PRISMA: the evidence's flow, and the same flow with 1, 2, 10 and 40 full-text exclusion reasons
flow = prisma_flow(ev.search_log)
(OUT / "prisma.svg").write_text(prisma_svg(flow), encoding="utf-8")
excluded = flow.assessed - flow.included
for k in SIZES if "prisma" in KINDS else ():
    counts = np.full(k, excluded // k) + (np.arange(k) < excluded % k)
    reasons = tuple((f"reason {i + 1}: " + ("no outcome for the liver metastases reported separately"
                                            if i % 3 == 0 else "duplicate cohort"), int(c))
                    for i, c in enumerate(counts))
    (OUT / f"prisma-{k}.svg").write_text(prisma_svg(dataclasses.replace(flow, full_text_reasons=reasons)),
                                         encoding="utf-8")
print(f"written to {OUT}")
