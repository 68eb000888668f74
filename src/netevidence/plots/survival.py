"""Survival plots: Kaplan-Meier curves reconstructed from digitised figures drawn over the digitised
points (reconstruction after Guyot et al., BMC Medical Research Methodology 2012), and model-based study
curves with the summary survival curve of each group (Combescure, Foucher & Jackson, Statistics in
Medicine 2014)."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from ..labels import term_label
from .figure import Figure
from .layout import FONT, SMALL, linear_breaks

# 16 distinguishable colours, so no two groups of one plot share a colour up to 16 groups
PALETTE = ("#1f4e79", "#c0504d", "#4f8a3c", "#8064a2", "#d28a1e", "#2a9d8f", "#7f7f7f", "#b5467a",
           "#6baed6", "#e6550d", "#31a354", "#fdae6b", "#9e9ac8", "#8c564b", "#17becf", "#bcbd22")


def _stairs(km: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """A right-continuous step function as a path: from (0, 1), each value held until the next time."""
    t = km["time"].to_numpy(float)
    out = {"time": np.concatenate(([0.0], np.repeat(t, 2)))}
    for c in columns:
        v = np.concatenate(([1.0], km[c].to_numpy(float)))
        out[c] = np.concatenate(([1.0], np.column_stack((v[:-1], v[1:])).ravel()))
    return pd.DataFrame(out)


CURVE_IN = 3.0        # height of the survival part of the panel, inches
RISK_ROW_IN = 0.19    # height of one line of the numbers-at-risk table, inches
RISK_LABEL_WRAP = 34  # characters per line of a row label of the table
SURVIVAL_BREAKS = (0.0, 0.25, 0.5, 0.75, 1.0)


def km_plot(panels, *, title: str = "", time_label: str = "Months", at_risk_counts: bool = True,
            show_censors: bool = True, ci_show: bool = True, show_points: bool = True, xticks=None) -> Figure:
    """Reconstructed Kaplan-Meier curves (reconstruction after Guyot et al., BMC Medical Research
    Methodology 2012) with, as lifelines' ``KaplanMeierFitter.plot`` and survminer's ``ggsurvplot`` draw
    them, the pointwise confidence band (``ci_show``), ``+`` marks at the censoring times
    (``show_censors``) and a numbers-at-risk table under the time axis (``at_risk_counts``): one labelled
    row per curve, one column per time-axis tick. ``show_points`` draws the digitised points under the
    curves; ``xticks`` sets the ticks (and so the table's columns), else they are chosen from the longest
    follow-up.

    ``panels``: :class:`netevidence.specs.KaplanMeierPanel` objects. Returns a
    :class:`netevidence.plots.Figure` (``.save(path)``, ``.alt``, ``.width``/``.height`` in inches).
    """
    from plotnine import (aes, annotate, element_blank, element_text, geom_hline, geom_path, geom_point,
                          geom_ribbon, geom_text, ggplot, guide_legend, guides, labs, scale_color_manual,
                          scale_fill_manual, scale_x_continuous, scale_y_continuous, theme, theme_bw)

    panels = tuple(panels)
    if not panels:
        raise ValueError("km_plot needs at least one Kaplan-Meier panel")
    labels = [p.label for p in panels]
    if len(set(labels)) != len(labels):
        raise ValueError(f"km_plot: curve labels must differ, got {labels}")
    colors = dict(zip(labels, PALETTE * (len(labels) // len(PALETTE) + 1)))
    t_max = max(max(float(p.km["time"].max()), float(p.digitised["time"].max()) if len(p.digitised) else 0.0)
                for p in panels)
    ticks = tuple(sorted(float(x) for x in xticks)) if xticks else linear_breaks(0.0, t_max, n=8)
    x_hi = max(t_max, ticks[-1])

    # the table sits in the panel under y = 0, in inches converted to the survival scale
    per_in = 1.0 / CURVE_IN
    row_text = ["\n".join(textwrap.wrap(lab, RISK_LABEL_WRAP)) or lab for lab in labels]
    row_lines = [t.count("\n") + 1 for t in row_text]
    separator = -0.22 * per_in
    header = -0.38 * per_in
    y, row_y = header - 0.5 * RISK_ROW_IN * per_in, []
    for lines in row_lines:
        y -= RISK_ROW_IN * lines * per_in
        row_y.append(y + 0.5 * RISK_ROW_IN * (lines - 1) * per_in)
    bottom = y - 0.3 * RISK_ROW_IN * per_in if at_risk_counts else -0.03
    table_in = (-bottom) * CURVE_IN if at_risk_counts else 0.0

    plot = ggplot() + geom_hline(yintercept=list(SURVIVAL_BREAKS), color="#e5e5e5", size=0.4)
    for p in panels:
        stairs = _stairs(p.km, ("survival", "ci_low", "ci_high")).assign(curve=p.label)
        if ci_show:
            plot += geom_ribbon(aes("time", ymin="ci_low", ymax="ci_high", fill="curve"), data=stairs, alpha=0.12)
        if show_points and len(p.digitised):
            d = p.digitised.assign(survival=p.digitised["survival"].clip(0.0, 1.0), curve=p.label)  # jitter
            plot += geom_point(aes("time", "survival", color="curve"), data=d, size=1.0, alpha=0.45, shape="o",
                               fill="none")
        plot += geom_path(aes("time", "survival", color="curve"), data=stairs, size=0.7)
        if show_censors:
            cens = p.censored().assign(curve=p.label)
            if len(cens):
                plot += geom_point(aes("time", "survival", color="curve"), data=cens, shape="+", size=2.6,
                                   stroke=0.5, show_legend=False)
    breaks, break_labels = list(SURVIVAL_BREAKS), [f"{b:.2f}" for b in SURVIVAL_BREAKS]
    if at_risk_counts:
        table = pd.DataFrame([{"time": t, "y": yy, "n": str(n), "curve": p.label}
                              for p, yy in zip(panels, row_y) for t, n in zip(ticks, p.at_risk(ticks))])
        plot += geom_hline(yintercept=separator, color="#7f7f7f", size=0.4)
        plot += annotate("text", x=ticks[0], y=header, label="Number at risk", ha="left", size=SMALL,
                         fontstyle="italic")
        plot += geom_text(aes("time", "y", label="n", color="curve"), data=table, size=SMALL, show_legend=False)
        breaks += row_y
        break_labels += row_text
    plot += scale_x_continuous(breaks=list(ticks), limits=(0.0, x_hi), expand=(0.04, 0.0))
    plot += scale_y_continuous(breaks=breaks, labels=break_labels, limits=(bottom, 1.0), expand=(0.0, 0.02))
    plot += scale_color_manual(values=colors, name="", breaks=labels)
    plot += scale_fill_manual(values=colors, guide=None)
    plot += labs(x=time_label, y="Survival probability", title=title, color="")
    plot += guides(color=guide_legend(ncol=1))   # one entry a line, however many curves (no clipped columns)
    plot += theme_bw(base_size=FONT + 1)
    plot += theme(legend_position="bottom", legend_direction="vertical", plot_title=element_text(size=FONT + 1),
                  panel_grid_major_y=element_blank(), panel_grid_minor=element_blank(),
                  axis_text_y=element_text(size=SMALL + 0.5),
                  # the axis title centred on the survival part of the panel, not on the table under it
                  axis_title_y=element_text(va=(0.5 - bottom + 0.02) / (1.04 - bottom)))
    curves_txt = "; ".join(f"{p.label} (n = {p.n}, {p.events} events, median "
                           f"{'not reached' if not np.isfinite(p.median) else f'{p.median:.1f}'})" for p in panels)
    alt = ("Kaplan-Meier plot of reconstructed individual data" + (" over the digitised points" if show_points else "")
           + f": {curves_txt}."
           + (" Crosses mark censoring times." if show_censors else "")
           + (f" Under the time axis, the numbers at risk of the reconstructed data at "
              f"{', '.join(f'{t:g}' for t in ticks)} {time_label.lower()}." if at_risk_counts else ""))
    legend_in = 0.2 * len(labels)
    return Figure(plot=plot, width=6.5, height=CURVE_IN + table_in + 1.0 + legend_in + (0.25 if title else 0.0),
                  alt=alt)


LEGEND_WRAP = 70   # characters per legend line: the one-column legend stays inside the 7.5-inch figure


def survival_curves_plot(curves, *, title: str = "", time_label: str = "Months") -> Figure:
    """Model-based study curves (thin) through their reported points, and each group's summary curve
    (thick) with its pointwise confidence band (Combescure, Foucher & Jackson, Statistics in Medicine
    2014). ``curves``: :class:`netevidence.specs.SurvivalCurves`. Returns a
    :class:`netevidence.plots.Figure` (``.save(path)``, ``.alt``)."""
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
    n_arms = len(set(cur["label"])) if len(cur) else 0
    plot = ggplot()
    band = summ[summ["group"].map(lambda g: curves.summary_fits[g].k >= 2)] if summ is not None and len(summ) else []
    level = "/".join(sorted({f"{100 * curves.summary_fits[g].level:g}%" for g in set(band["group"])})) if len(band) else ""
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
                      caption="\n".join(([f"Dashed: model-based study {'curve' if n_arms == 1 else 'curves'} through "
                                          "the reported points."] if n_arms else []) +
                                         ([f"Thick line and band: summary curve of a group of two or more studies, "
                                           f"with its {level} CI."] if len(band) else []))),
                 theme_bw(base_size=FONT + 1),
                 theme(legend_position="bottom", legend_box="vertical", plot_title=element_text(size=FONT + 1),
                       legend_text=element_text(ha="left", ma="left"),
                       plot_caption=element_text(ha="left", size=SMALL + 1)),
                 guides(color=guide_legend(ncol=1), shape=guide_legend(ncol=2))):
        plot += part
    alt = (f"Survival curves ({curves.endpoint}): model-based study curves through the reported landmarks and "
           f"medians for {n_arms} study {'arm' if n_arms == 1 else 'arms'}" +
           (f", with summary curves for {', '.join(names[g] for g in curves.summary_fits if curves.summary_fits[g].k >= 2)}"
            if any(sc.k >= 2 for sc in curves.summary_fits.values()) else "") + ".")
    legend_lines = sum(name.count("\n") + 1 for name in names.values())
    return Figure(plot=plot, width=7.5, height=4.6 + 0.19 * legend_lines, alt=alt)
