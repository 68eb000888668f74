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
    poly = pd.DataFrame({"x": list(reg["low"]) + list(reg["high"][::-1]), "y": list(reg["se"]) + list(reg["se"][::-1])})
    p = (ggplot()
         + geom_polygon(aes("x", "y"), data=poly, fill="#eef2f7", color="#9aa9bd")
         + geom_vline(xintercept=funnel.estimate, linetype="dashed", color="#555555")
         + geom_point(aes("yi", "sei"), data=pts, size=2.6, color="#1f4e79")
         + geom_text(aes("yi", "sei", label="label"), data=pts if len(pts) <= label_max else pts.iloc[:0],
                     size=SMALL, nudge_y=0.035 * max(pts["sei"].max(), 1e-9), va="bottom", color="#333333")
         + scale_y_reverse(expand=(0.1, 0))
         + scale_x_continuous(expand=(0.15, 0))
         + labs(x=MEASURE_FACTS[measure].analysis_label if measure in MEASURE_FACTS else "Effect size", y="Standard error", title=title)
         + theme_bw(base_size=FONT + 1)
         + theme(plot_title=element_text(size=FONT + 1)))
    alt = (f"Funnel plot{': ' + title if title else ''}; {len(pts)} studies around the pooled estimate "
           f"{funnel.estimate:.2f} on the analysis scale"
           + ("." if len(pts) <= label_max else f"; points not labelled (more than {label_max} studies)."))
    return Figure(plot=p, width=5.5, height=4.2, alt=alt)


def _funnel_of(data) -> FunnelData:
    if isinstance(data, FunnelData):
        return data
    if isinstance(data, PoolResult):
        return funnel_data(data)
    raise TypeError(f"funnel_plot takes a PoolResult or FunnelData, got {type(data).__name__}")
