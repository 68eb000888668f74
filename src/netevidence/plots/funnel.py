"""Funnel plots: effect sizes against their standard errors with the pseudo confidence region around
the pooled estimate (Sterne & Egger, Journal of Clinical Epidemiology 2001), from
:func:`netevidence.pooling.bias.funnel_data`. The horizontal axis is the analysis scale (e.g. logit
proportion or log hazard ratio), as in metafor's ``funnel()``; the standard error runs downwards. With
trim-and-fill (Duval & Tweedie, Biometrics 2000), as metafor's ``funnel(trimfill(res))``, the filled
studies are open circles and the adjusted estimate a dotted line."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..effects import MEASURE_FACTS
from ..pooling import PoolResult, TrimFillResult, trim_and_fill
from ..pooling.bias import FunnelData, funnel_data
from .figure import Figure
from .forest_rows import effects_arrays, effects_measure
from .layout import CHAR_IN, FONT, SMALL


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
    """The data ranges the plot shows (its scales' expansions: 15% in x, 10% in y); ``pts`` holds every
    point drawn, filled ones too."""
    xs = np.concatenate([pts["yi"], reg["low"], reg["high"]])
    lo, hi = float(xs.min()), float(xs.max())
    dx = 0.15 * (hi - lo or 1.0)
    ytop = float(max(pts["sei"].max(), reg["se"].max(), 1e-9))
    return (lo - dx, hi + dx), (-0.1 * ytop, 1.1 * ytop)


def place_labels(pts: pd.DataFrame, reg: pd.DataFrame, others: pd.DataFrame | None = None) -> pd.DataFrame:
    """Label positions (data coordinates) that overlap no other label, no point and stay in the panel:
    each label goes above its point, else below, right or left; a label with no free place is left out.
    ``others`` (``yi``, ``sei``): points drawn without a label (the filled studies of trim-and-fill).
    Returns the placed labels with columns ``x``, ``y``, ``label``."""
    every = pts if others is None or not len(others) else pd.concat([pts, others[["yi", "sei"]]], ignore_index=True)
    (x0, x1), (y0, y1) = _ranges(every, reg)
    pw, ph = PANEL
    px_all = (every["yi"].to_numpy(float) - x0) / (x1 - x0) * pw
    py_all = (y1 - every["sei"].to_numpy(float)) / (y1 - y0) * ph      # the standard error runs downwards
    px, py = px_all[:len(pts)], py_all[:len(pts)]
    boxes: list[tuple[float, float, float, float]] = []
    out = []

    def free(b) -> bool:
        if b[0] < 0 or b[2] > pw or b[1] < 0 or b[3] > ph:
            return False
        if any(b[0] < c[2] and c[0] < b[2] and b[1] < c[3] and c[1] < b[3] for c in boxes):
            return False
        return not np.any((px_all + POINT_R_IN > b[0]) & (px_all - POINT_R_IN < b[2]) &
                          (py_all + POINT_R_IN > b[1]) & (py_all - POINT_R_IN < b[3]))

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


@dataclass(frozen=True)
class FunnelLayout:
    """What a funnel plot draws, on the analysis scale: ``points`` (the studies found: ``yi``, ``sei``,
    ``label``), ``filled`` (the studies trim-and-fill imputes: ``yi``, ``sei``; empty without it),
    ``labels`` (the placed labels), ``region`` (``se``, ``low``, ``high``), ``estimate`` (the centre) and
    ``adjusted`` (trim-and-fill's estimate, or None)."""

    points: pd.DataFrame
    filled: pd.DataFrame
    labels: pd.DataFrame
    region: pd.DataFrame
    estimate: float
    adjusted: float | None
    trimfill: TrimFillResult | None = field(default=None, repr=False)


def funnel_plot(data, labels=None, *, measure: str | None = None, title: str = "",
                label_max: int = LABEL_MAX, trimfill: bool | TrimFillResult = False) -> Figure:
    """The funnel plot of a fitted model (``data`` a :class:`netevidence.pooling.PoolResult`, as metafor's
    ``funnel(res)``: centred on its estimate, with its tau^2 estimator), of
    :func:`netevidence.pooling.bias.funnel_data`, of an effect-size table (a DataFrame with ``yi`` and
    ``vi``, as :func:`netevidence.effects.effect_size` returns; pooled by REML) or of a
    :class:`netevidence.pooling.TrimFillResult` (as metafor's ``funnel(trimfill(res))``); a
    :class:`netevidence.plots.Figure` whose ``layout`` is a :class:`FunnelLayout`.

    ``labels``: one per study found (default "Study 1", ...); points carry them when there are at most
    ``label_max`` studies. ``measure`` names the analysis scale on the x-axis (a table's own ``measure``
    column otherwise). ``trimfill``: ``True`` runs :func:`netevidence.pooling.trim_and_fill` on the fit (or
    the table), or pass its result; the ``k0`` filled studies are drawn as open circles (each the mirror
    image of a trimmed study about the trimmed estimate) and the adjusted estimate as a dotted line, and
    the caption says so. The pseudo confidence region stays centred on the estimate of the studies found."""
    from plotnine import (aes, element_text, scale_x_continuous, geom_point, geom_polygon, geom_text, geom_vline, ggplot,
                          labs, scale_y_reverse, theme, theme_bw)

    funnel, tf, measure = _funnel_of(data, trimfill, measure)
    k = int(np.asarray(funnel.yi).size)
    labels = [f"Study {i + 1}" for i in range(k)] if labels is None else list(labels)
    if len(labels) != k:
        raise ValueError(f"labels has {len(labels)} values for {k} studies; give one per study")
    pts, reg = funnel_frames(funnel, labels)
    filled = pd.DataFrame(columns=["yi", "sei"], dtype=float)
    if tf is not None:
        mask = np.asarray(tf.filled, bool)
        filled = pd.DataFrame({"yi": np.asarray(tf.yi, float)[mask], "sei": np.sqrt(np.asarray(tf.vi, float)[mask])})
    every = pd.concat([pts[["yi", "sei"]], filled], ignore_index=True) if len(filled) else pts
    placed = place_labels(pts, reg, filled) if len(pts) <= label_max else pd.DataFrame(columns=["x", "y", "label"])
    poly = pd.DataFrame({"x": list(reg["low"]) + list(reg["high"][::-1]), "y": list(reg["se"]) + list(reg["se"][::-1])})
    (x_lo, x_hi), (y_lo, y_hi) = _ranges(every, reg)
    caption = _caption(funnel, tf, k)
    p = (ggplot()
         + geom_polygon(aes("x", "y"), data=poly, fill="#eef2f7", color="#9aa9bd")
         + geom_vline(xintercept=funnel.estimate, linetype="dashed", color="#555555"))
    adjusted = None
    if tf is not None and tf.k0 > 0:
        adjusted = float(tf.pooled.estimate)
        p += geom_vline(xintercept=adjusted, linetype="dotted", color="#c0504d", size=0.8)
        p += geom_point(aes("yi", "sei"), data=filled, size=2.6, shape="o", fill="white", color="#c0504d",
                        stroke=0.8)
    p = (p + geom_point(aes("yi", "sei"), data=pts, size=2.6, color="#1f4e79")
         + geom_text(aes("x", "y", label="label"), data=placed, size=SMALL, ha="center", va="center",
                     color="#333333")
         + scale_y_reverse(limits=(y_hi, y_lo), expand=(0, 0))
         + scale_x_continuous(limits=(x_lo, x_hi), expand=(0, 0))
         + labs(x=MEASURE_FACTS[measure].analysis_label if measure in MEASURE_FACTS else "Effect size",
                y="Standard error", title=title, caption=caption)
         + theme_bw(base_size=FONT + 1)
         + theme(plot_title=element_text(size=FONT + 1), plot_caption=element_text(size=SMALL + 1, ha="left")))
    alt = (f"Funnel plot{': ' + title if title else ''}; {_studies(len(pts))} around the pooled estimate "
           f"{funnel.estimate:.2f} on the analysis scale")
    if len(pts) > label_max:
        alt += f"; points not labelled (more than {label_max} studies)"
    elif len(placed) < len(pts):
        alt += f"; {len(pts) - len(placed)} of {len(pts)} labels left out where they would cover another"
    if tf is not None:
        alt += "; " + _trimfill_text(tf, k)
    lines = caption.count("\n") + 1
    layout = FunnelLayout(points=pts, filled=filled, labels=placed, region=reg, estimate=float(funnel.estimate),
                          adjusted=adjusted, trimfill=tf)
    return Figure(plot=p, width=WIDTH, height=HEIGHT + CAPTION_LINE_IN * lines, alt=alt + ".", layout=layout)


CAPTION_LINE_IN = 0.17


def _studies(k: int) -> str:
    return f"{k} {'study' if k == 1 else 'studies'}"


def _trimfill_text(tf: TrimFillResult, k: int) -> str:
    if tf.k0 == 0:
        return f"trim-and-fill ({tf.estimator}) estimates no missing study"
    return (f"open circles: {_studies(tf.k0)} filled in by trim-and-fill "
            f"({tf.estimator}) on the {tf.side} side; dotted line: adjusted estimate {tf.pooled.estimate:.2f} "
            f"(k = {k + tf.k0})")


def _caption(funnel: FunnelData, tf: TrimFillResult | None, k: int) -> str:
    """The caption under the plot, wrapped to the figure's width."""
    parts = [f"Dashed line: pooled estimate {funnel.estimate:.2f} of the {_studies(k)} found; shaded: "
             f"{100 * funnel.level:g}% pseudo confidence region."]
    if tf is not None:
        text = _trimfill_text(tf, k)
        parts.append(text[0].upper() + text[1:] + ".")
    width = int((WIDTH - 0.5) / CHAR_IN)
    return "\n".join(line for part in parts for line in textwrap.wrap(part, width))


def _funnel_of(data, trimfill, measure: str | None) -> tuple[FunnelData, TrimFillResult | None, str | None]:
    """The funnel data of ``data``, the trim-and-fill result to draw (or None) and the measure."""
    if trimfill is not False and trimfill is not True and not isinstance(trimfill, TrimFillResult):
        raise TypeError(f"trimfill is True, False or a TrimFillResult, got {type(trimfill).__name__}")
    tf = trimfill if isinstance(trimfill, TrimFillResult) else None
    if isinstance(data, TrimFillResult):
        if trimfill is not False and tf is not data:
            raise TypeError("funnel_plot(trimfill_result) draws that result; leave trimfill= out")
        tf = data
        observed = ~np.asarray(data.filled, bool)
        funnel = funnel_data(np.asarray(data.yi)[observed], np.asarray(data.vi)[observed],
                             method=data.pooled.method)
    elif isinstance(data, FunnelData):
        if trimfill is True:
            raise TypeError("funnel_plot(funnel_data, trimfill=True): FunnelData holds no fitted model to trim; "
                            "pass the PoolResult, or trimfill=trim_and_fill(res)")
        funnel = data
    elif isinstance(data, PoolResult):
        funnel = funnel_data(data)
        if trimfill is True:
            tf = trim_and_fill(data)
    elif isinstance(data, pd.DataFrame):
        yi, vi = effects_arrays(data)
        measure = effects_measure(data, measure)
        funnel = funnel_data(yi, vi)
        if trimfill is True:
            tf = trim_and_fill(yi, vi)
    else:
        raise TypeError(f"funnel_plot takes a PoolResult, FunnelData, a TrimFillResult or an effect-size table "
                        f"(a DataFrame with yi and vi), got {type(data).__name__}")
    if tf is not None:
        observed = ~np.asarray(tf.filled, bool)
        yo = np.asarray(tf.yi, float)[observed]
        if yo.size != np.asarray(funnel.yi).size or not np.allclose(yo, funnel.yi):
            raise ValueError("the trim-and-fill result was not computed from these studies (its observed yi "
                             "differ); pass trim_and_fill() of the same fit")
    return funnel, tf, measure
