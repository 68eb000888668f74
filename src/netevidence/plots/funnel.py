"""Funnel plots: effect sizes against their standard errors with the pseudo confidence region around
the pooled estimate (Sterne & Egger, Journal of Clinical Epidemiology 2001), from
:func:`netevidence.pooling.bias.funnel_data`. The horizontal axis is the analysis scale (e.g. logit
proportion or log hazard ratio), as in metafor's ``funnel()``; the standard error runs downwards."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..effects import MEASURE_FACTS
from ..pooling import PoolResult
from ..pooling.bias import FunnelData, funnel_data
from .figure import Figure
from .layout import FONT, SMALL


def funnel_frames(funnel, labels) -> tuple[pd.DataFrame, pd.DataFrame]:
    pts = pd.DataFrame({"yi": np.asarray(funnel.yi, float), "sei": np.asarray(funnel.sei, float),
                        "label": list(labels)})
    reg = funnel.region_frame()
    return pts, reg


LABEL_MAX = 12   # above this many studies the points are not labelled: the labels would cover each other
WIDTH, HEIGHT = 5.5, 4.2
PANEL = (4.6, 3.2)          # the plotting panel inside the figure, inches (approximately: axes and title aside)
LABEL_CHAR_IN = 0.06        # one character of a 7-pt label, inches
LABEL_H_IN = 0.14
POINT_R_IN = 0.045


def _ranges(pts: pd.DataFrame, reg: pd.DataFrame) -> tuple[tuple[float, float], tuple[float, float]]:
    """The data ranges the plot shows (its scales' expansions: 15% in x, 10% in y)."""
    xs = np.concatenate([pts["yi"], reg["low"], reg["high"]])
    lo, hi = float(xs.min()), float(xs.max())
    dx = 0.15 * (hi - lo or 1.0)
    ytop = float(max(pts["sei"].max(), reg["se"].max(), 1e-9))
    return (lo - dx, hi + dx), (-0.1 * ytop, 1.1 * ytop)


def place_labels(pts: pd.DataFrame, reg: pd.DataFrame) -> pd.DataFrame:
    """Label positions (data coordinates) that overlap no other label, no point and stay in the panel:
    each label goes above its point, else below, right or left; a label with no free place is left out.
    Returns the placed labels with columns ``x``, ``y``, ``label``."""
    (x0, x1), (y0, y1) = _ranges(pts, reg)
    pw, ph = PANEL
    px = (pts["yi"].to_numpy(float) - x0) / (x1 - x0) * pw
    py = (y1 - pts["sei"].to_numpy(float)) / (y1 - y0) * ph      # the standard error runs downwards
    boxes: list[tuple[float, float, float, float]] = []
    out = []

    def free(b) -> bool:
        if b[0] < 0 or b[2] > pw or b[1] < 0 or b[3] > ph:
            return False
        if any(b[0] < c[2] and c[0] < b[2] and b[1] < c[3] and c[1] < b[3] for c in boxes):
            return False
        return not np.any((px + POINT_R_IN > b[0]) & (px - POINT_R_IN < b[2]) &
                          (py + POINT_R_IN > b[1]) & (py - POINT_R_IN < b[3]))

    for i in np.argsort(-py, kind="stable"):          # from the top down
        w, h = len(str(pts["label"].iloc[i])) * LABEL_CHAR_IN, LABEL_H_IN
        for dx, dy in ((0, POINT_R_IN + h / 2 + 0.02), (0, -(POINT_R_IN + h / 2 + 0.02)),
                       (w / 2 + POINT_R_IN + 0.03, 0), (-(w / 2 + POINT_R_IN + 0.03), 0)):
            cx, cy = px[i] + dx, py[i] + dy
            b = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            if free(b):
                boxes.append(b)
                out.append({"x": x0 + cx / pw * (x1 - x0), "y": y1 - cy / ph * (y1 - y0),
                            "label": pts["label"].iloc[i], "order": i})
                break
    frame = pd.DataFrame(out, columns=["x", "y", "label", "order"])
    return frame.sort_values("order").drop(columns="order").reset_index(drop=True)


def funnel_plot(data, labels=None, *, measure: str | None = None, title: str = "",
                label_max: int = LABEL_MAX) -> Figure:
    """The funnel plot of a fitted model (``data`` a :class:`netevidence.pooling.PoolResult`, as metafor's
    ``funnel(res)``: centred on its estimate, with its tau^2 estimator) or of
    :func:`netevidence.pooling.bias.funnel_data`; a :class:`netevidence.plots.Figure`. ``labels``: one per
    study (default "Study 1", ...); points carry them when there are at most ``label_max`` studies.
    ``measure`` names the analysis scale on the x-axis."""
    from plotnine import (aes, element_text, scale_x_continuous, geom_point, geom_polygon, geom_text, geom_vline, ggplot,
                          labs, scale_y_reverse, theme, theme_bw)

    funnel = _funnel_of(data)
    k = int(np.asarray(funnel.yi).size)
    labels = [f"Study {i + 1}" for i in range(k)] if labels is None else list(labels)
    if len(labels) != k:
        raise ValueError(f"labels has {len(labels)} values for {k} studies; give one per study")
    pts, reg = funnel_frames(funnel, labels)
    placed = place_labels(pts, reg) if len(pts) <= label_max else pd.DataFrame(columns=["x", "y", "label"])
    poly = pd.DataFrame({"x": list(reg["low"]) + list(reg["high"][::-1]), "y": list(reg["se"]) + list(reg["se"][::-1])})
    p = (ggplot()
         + geom_polygon(aes("x", "y"), data=poly, fill="#eef2f7", color="#9aa9bd")
         + geom_vline(xintercept=funnel.estimate, linetype="dashed", color="#555555")
         + geom_point(aes("yi", "sei"), data=pts, size=2.6, color="#1f4e79")
         + geom_text(aes("x", "y", label="label"), data=placed, size=SMALL, ha="center", va="center",
                     color="#333333")
         + scale_y_reverse(limits=(_ranges(pts, reg)[1][1], _ranges(pts, reg)[1][0]), expand=(0, 0))
         + scale_x_continuous(limits=_ranges(pts, reg)[0], expand=(0, 0))
         + labs(x=MEASURE_FACTS[measure].analysis_label if measure in MEASURE_FACTS else "Effect size", y="Standard error", title=title)
         + theme_bw(base_size=FONT + 1)
         + theme(plot_title=element_text(size=FONT + 1)))
    alt = (f"Funnel plot{': ' + title if title else ''}; {len(pts)} studies around the pooled estimate "
           f"{funnel.estimate:.2f} on the analysis scale")
    if len(pts) > label_max:
        alt += f"; points not labelled (more than {label_max} studies)"
    elif len(placed) < len(pts):
        alt += f"; {len(pts) - len(placed)} of {len(pts)} labels left out where they would cover another"
    return Figure(plot=p, width=WIDTH, height=HEIGHT, alt=alt + ".")


def _funnel_of(data) -> FunnelData:
    if isinstance(data, FunnelData):
        return data
    if isinstance(data, PoolResult):
        return funnel_data(data)
    raise TypeError(f"funnel_plot takes a PoolResult or FunnelData, got {type(data).__name__}")
