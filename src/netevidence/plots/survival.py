"""Survival plots: Kaplan-Meier curves reconstructed from digitised figures drawn over the digitised
points (reconstruction after Guyot et al., BMC Medical Research Methodology 2012), and model-based study
curves with the summary survival curve of each group (Combescure, Foucher & Jackson, Statistics in
Medicine 2014)."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from ..labels import term_label
from .layout import FONT

# 16 distinguishable colours, so no two groups of one plot share a colour up to 16 groups
PALETTE = ("#1f4e79", "#c0504d", "#4f8a3c", "#8064a2", "#d28a1e", "#2a9d8f", "#7f7f7f", "#b5467a",
           "#6baed6", "#e6550d", "#31a354", "#fdae6b", "#9e9ac8", "#8c564b", "#17becf", "#bcbd22")


def _steps(time, surv) -> pd.DataFrame:
    t = np.concatenate(([0.0], np.asarray(time, float)))
    s = np.concatenate(([1.0], np.asarray(surv, float)))
    return pd.DataFrame({"time": t, "survival": s})


def km_plot(panels, *, title: str = "", time_label: str = "Months"):
    """Reconstructed Kaplan-Meier curves (steps, with pointwise CI band) over the digitised points.
    ``panels``: :class:`netevidence.specs.KaplanMeierPanel` objects. Returns ``(ggplot, w, h, alt)``."""
    from plotnine import (aes, element_text, geom_point, geom_step, ggplot, labs, scale_color_manual,
                          scale_y_continuous, theme, theme_bw)

    steps, pts = [], []
    for p in panels:
        s = _steps(p.km["time"], p.km["survival"])
        s["curve"] = p.label
        steps.append(s)
        d = p.digitised.copy()
        d["survival"] = d["survival"].clip(0.0, 1.0)  # jitter can put a click just above 1 or below 0
        d["curve"] = p.label
        pts.append(d)
    steps_f, pts_f = pd.concat(steps, ignore_index=True), pd.concat(pts, ignore_index=True)
    labels = [p.label for p in panels]
    colors = dict(zip(labels, PALETTE))
    plot = (ggplot()
            + geom_point(aes("time", "survival", color="curve"), data=pts_f, size=1.3, alpha=0.55, shape="o",
                         fill="none")
            + geom_step(aes("time", "survival", color="curve"), data=steps_f, size=0.7)
            + scale_color_manual(values=colors, name="")
            + scale_y_continuous(limits=(0, 1), breaks=[0, 0.25, 0.5, 0.75, 1])
            + labs(x=time_label, y="Survival probability", title=title, color="")
            + theme_bw(base_size=FONT + 1)
            + theme(legend_position="bottom", plot_title=element_text(size=FONT + 1)))
    alt = ("Kaplan-Meier plot of reconstructed individual data over the digitised points: " +
           "; ".join(f"{p.label} (n = {p.n}, {p.events} events, median "
                     f"{'not reached' if not np.isfinite(p.median) else f'{p.median:.1f}'})" for p in panels) + ".")
    return plot, 6.5, 4.4, alt


LEGEND_WRAP = 70   # characters per legend line: the one-column legend stays inside the 7.5-inch figure


def survival_curves_plot(curves, *, title: str = "", time_label: str = "Months"):
    """Model-based study curves (thin) through their reported points, and each group's summary curve
    (thick) with its pointwise confidence band. ``curves``: :class:`netevidence.specs.SurvivalCurves`."""
    from plotnine import (aes, element_text, geom_line, geom_point, geom_ribbon, ggplot, guides, guide_legend,
                          labs, scale_color_manual, scale_fill_manual, scale_y_continuous, theme, theme_bw)

    groups = sorted(set(curves.curves["group"]) | set(curves.summaries["group"])) if len(curves.curves) else []
    names = {g: "\n".join(textwrap.wrap(" + ".join(term_label("modality", m) for m in str(g).split("+")),
                                         LEGEND_WRAP))
             for g in groups}
    colors = {names[g]: c for g, c in zip(groups, PALETTE * 3)}
    cur = curves.curves.assign(group_name=curves.curves["group"].map(names)) if len(curves.curves) else curves.curves
    pts = curves.points.assign(group_name=curves.points["group"].map(names)) if len(curves.points) else curves.points
    summ = curves.summaries.assign(group_name=curves.summaries["group"].map(names)) if len(curves.summaries) else None
    plot = ggplot()
    if summ is not None and len(summ):
        band = summ[summ["group"].map(lambda g: curves.summary_fits[g].k >= 2)]
        if len(band):
            plot += geom_ribbon(aes("time", ymin="ci_low", ymax="ci_high", fill="group_name"), data=band, alpha=0.15)
            plot += geom_line(aes("time", "survival", color="group_name"), data=band, size=1.3)
    if len(cur):
        plot += geom_line(aes("time", "survival", color="group_name", group="label"), data=cur, size=0.5,
                          linetype="dashed")
    if len(pts):
        plot += geom_point(aes("time", "survival", color="group_name", shape="kind"), data=pts, size=2.2)
    for part in (scale_color_manual(values=colors, name=""), scale_fill_manual(values=colors, guide=None),
                 scale_y_continuous(limits=(0, 1), breaks=[0, 0.25, 0.5, 0.75, 1]),
                 labs(x=time_label, y="Survival probability", title=title, shape="", color="", fill="",
                      caption="dashed: model-based study curves through the reported points\n"
                              "thick line and band: summary curve (k >= 2) with its 95% CI"),
                 theme_bw(base_size=FONT + 1),
                 theme(legend_position="bottom", legend_box="vertical", plot_title=element_text(size=FONT + 1),
                       legend_text=element_text(ha="left")),
                 guides(color=guide_legend(ncol=1), shape=guide_legend(ncol=2))):
        plot += part
    alt = (f"Survival curves ({curves.endpoint}): model-based study curves through the reported landmarks and "
           f"medians for {len(set(cur['label'])) if len(cur) else 0} study arms" +
           (f", with summary curves for {', '.join(names[g] for g in curves.summary_fits if curves.summary_fits[g].k >= 2)}"
            if any(sc.k >= 2 for sc in curves.summary_fits.values()) else "") + ".")
    legend_lines = sum(name.count("\n") + 1 for name in names.values())
    return plot, 7.5, 4.6 + 0.19 * legend_lines, alt
