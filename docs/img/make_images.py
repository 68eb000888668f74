"""Draw one PNG of each kind of plot for the documentation (run from the repository root:
``.venv/bin/python docs/img/make_images.py``)."""

import runpy
from pathlib import Path

import numpy as np
import pandas as pd

import netevidence
from netevidence.effects import back_transform, effect_size
from netevidence.plots import forest_plot, funnel_plot, km_plot, survival_curves_plot
from netevidence.pooling import pool
from netevidence.pooling.subgroups import subgroup_analysis
from netevidence.specs import GroupFit, Stratum, kaplan_meier_panel, load_spec, run_spec
from netevidence.specs.run import ROW_COLUMNS
from netevidence.survival.simulate import digitise, km_corners

OUT = Path("docs/img")
ev = netevidence.load_evidence("evidence")


def figure_png(figure, name):
    figure.save(OUT / f"{name}.png", dpi=110)


symptom = run_spec(ev, load_spec("analyses/symptom-response.yaml"))
st = symptom.strata[0]
figure_png(forest_plot(st, subgroup="modality"), "forest-proportions")
# the same stratum steered as a specification's forest: block would: percent, by effect, year and design
figure_png(forest_plot(st, subgroup="modality", scale="percent", sort="effect", columns=("year", "design"),
                       xlim=(0, 100), ticks=(0, 25, 50, 75, 100)), "forest-steered")

netter = run_spec(ev, load_spec("analyses/netter-1-hazard-ratios.yaml"))
pfs = next(s for s in netter.strata if s.key == (("endpoint", "pfs"),))
figure_png(forest_plot(pfs), "forest-ratios")

landmark = run_spec(ev, load_spec("analyses/landmark-survival.yaml"))
figure_png(survival_curves_plot(landmark.curves, title="Overall survival"), "survival-curves")

# 40 simulated studies in 4 subgroups, with intervals clipped at the axis: the layout at its largest.
# Coherent by construction: each study's events are drawn from its own size and true proportion (random
# effects on the logit scale), and its logit and variance computed from those counts.
rng = np.random.default_rng(2024)
k = 40
n_i = rng.integers(15, 300, k)
events_i = rng.binomial(n_i, 1.0 / (1.0 + np.exp(-rng.normal(0.4, 0.6, k))))
es = effect_size("PLO", events=events_i, n=n_i)
yi, vi = es["yi"].to_numpy(), es["vi"].to_numpy()
t = back_transform("PLO")
z = 1.959963984540054
groups = [f"simulated group {i % 4 + 1}" for i in range(k)]
rows = pd.DataFrame({
    "label": [f"Simulated study {i + 1:02d}" for i in range(k)], "detail": "", "group": groups, "block": "studies",
    "role": "study", "study_id": [f"s{i}" for i in range(k)], "study_name": "", "modality": "sirt",
    "n": n_i, "events": events_i, "value": t(yi), "low": t(yi - z * np.sqrt(vi)),
    "high": t(yi + z * np.sqrt(vi)), "yi": yi, "vi": vi, "weight": np.nan, "measure": "PLO", "statistic": "count",
    "source": "", "location": "", "source_kind": "primary", "verified": True, "file": "", "line": 0, "reason": None,
    "row": range(k)})
rows = rows.sort_values(["group", "row"], kind="stable").reset_index(drop=True)
fit = pool(rows["yi"], rows["vi"])
rows["weight"] = fit.weights
sub = subgroup_analysis(rows["yi"], rows["vi"], rows["group"])
fits = tuple(GroupFit(str(g), int(n), f, f.predict(t)) for g, n, f in zip(sub.levels, sub.k, sub.fits))
sim = Stratum(key=(), title="Simulated", scale="proportion", measure="PLO", level=0.95, rows=rows[list(ROW_COLUMNS)],
              fit=fit, prediction=fit.predict(t), subgroups=sub, group_fits=fits, sensitivity=pd.DataFrame(),
              funnel=None, notes=(), transf=t)
assert (rows["events"] <= rows["n"]).all()
assert np.allclose(rows["value"], rows["events"] / rows["n"])   # each row's estimate is its events / n
figure_png(forest_plot(sim, subgroup="group", xlim=(0.2, 1.0)), "forest-40-rows")
# a funnel plot needs at least 10 studies (Cochrane Handbook 13.3.5.4): drawn from the 40 simulated ones,
# straight from the fitted model as metafor's funnel(res)
figure_png(funnel_plot(fit, list(rows["label"]), measure="PLO", title="Simulated studies (40)"), "funnel")
# trim-and-fill on the funnel plot: 15 simulated studies as published when small studies with low
# proportions stay unpublished (each study's events still drawn from its own size), as metafor's
# funnel(trimfill(res))
m = rng.integers(15, 300, 60)
ev_m = rng.binomial(m, 1.0 / (1.0 + np.exp(-rng.normal(-0.4, 0.3, 60))))
published = (m >= 120) | (ev_m / m >= np.median(ev_m / m))
m, ev_m = m[published][:15], ev_m[published][:15]
pub = effect_size("PLO", events=ev_m, n=m)
figure_png(funnel_plot(pool(pub["yi"], pub["vi"]), [f"Study {i + 1}" for i in range(15)], measure="PLO",
                       trimfill=True, title="Simulated studies (15), trim-and-fill"), "funnel-trimfill")
# an effect-size table drawn as it is, as metafor's forest(yi, vi, slab=): six of the simulated studies
six = rows.iloc[:6]
table = effect_size("PLO", events=six["events"].to_numpy(), n=six["n"].to_numpy())
figure_png(forest_plot(table, labels=list(six["label"]), n=six["n"], events=six["events"]), "forest-effects")

ipd = pd.read_csv("tests/data/radiant4/RADIANT4_2C.csv")
panels = []
for arm, n in (("everolimus", 205), ("placebo", 97)):
    d = ipd[ipd["arm"] == arm]
    curve = digitise(km_corners(d["time"].to_numpy(), d["event"].to_numpy()), rng, sd_time=0.05,
                     sd_survival=0.003, drop_fraction=0.3)
    grid = np.arange(0.0, d["time"].max(), 3.0)  # the published table's numbers at risk, every 3 months
    at_risk = pd.DataFrame({"time": grid, "n_at_risk": [int((d["time"] >= t).sum()) for t in grid]})
    panels.append(kaplan_meier_panel(curve, n, label=f"RADIANT-4 {arm}", at_risk=at_risk))
figure_png(km_plot(panels, title="Reconstructed overall survival (RADIANT-4)", xticks=[0, 6, 12, 18, 24]),
           "km-reconstructed")

# the risk-of-bias plots, of the evidence base and at 1, 10 and 60 studies
runpy.run_path(str(OUT / "make_risk_of_bias_images.py"))
