"""Forest plots (plotnine) of one analysis stratum.

A row per study with a square whose area is proportional to its weight in the random-effects model and
its confidence interval; columns n, events, estimate [CI] and weight; the pooled diamond and the
prediction interval (metafor's ``forest.rma()`` layout: Viechtbauer, Journal of Statistical Software
2010); subgroup diamonds and the test for subgroup differences; heterogeneity (tau^2, I^2, Q, p).
Values are on the reporting scale (the back-transform of the analysis is the single ``transf`` hook of
the stratum): proportions on 0-1, ratios on a log axis. A confidence interval that leaves the axis is cut
at the axis and ends in an arrow. Every text column is as wide as its longest string and each row as
high as its wrapped label, so labels never overlap.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..effects import measure_facts
from ..records import vocabulary
from .layout import (CHAR_IN, FONT, LINE_IN, SMALL, Axis, fmt_ci, fmt_p, linear_breaks, log_breaks, marker_side,
                     ratio_limits)

STROKE = 0.6        # marker edge width (plotnine units)
# the heaviest study's square is 3/4 of a text line high, so neighbouring squares never touch
SQUARE_MAX = 0.75 * LINE_IN * 72.0 / np.sqrt(np.pi) - STROKE
SQUARE_MIN = 2.2


@dataclass(frozen=True)
class ForestLayout:
    """Everything drawn, as tables in inches: ``rows`` (one per study row, with value, CI, weight and
    marker size), ``diamonds`` (overall and subgroup: estimate, ci_low, ci_high, pi_low, pi_high),
    ``texts``, ``segments``, ``polygons`` and the ``axis``; ``width``/``height`` of the figure."""

    rows: pd.DataFrame
    diamonds: pd.DataFrame
    texts: pd.DataFrame
    segments: pd.DataFrame
    polygons: pd.DataFrame
    axis: Axis
    width: float
    height: float
    alt: str


def _group_label(spec_subgroup: str | None, g: str) -> str:
    if spec_subgroup == "modality":
        return vocabulary.modality_label(g)
    return g


def _axis_for(stratum, x0: float, x1: float, xlim) -> Axis:
    rows = stratum.rows
    vals = np.concatenate([rows["value"].to_numpy(float), rows["low"].to_numpy(float), rows["high"].to_numpy(float)])
    if stratum.prediction is not None:
        p = stratum.prediction
        vals = np.concatenate([vals, [p.pred, p.ci_low, p.ci_high, p.pi_low, p.pi_high]])
    if stratum.scale == "ratio":
        lo, hi = xlim if xlim else ratio_limits(vals)
        return Axis("log", (lo, hi), x0, x1, log_breaks(lo, hi), ratio_axis_title(_row_measures(stratum)))
    if stratum.scale == "proportion":
        lo, hi = xlim if xlim else (0.0, 1.0)
        return Axis("linear", (lo, hi), x0, x1, linear_breaks(lo, hi, 5), "Proportion")
    finite = vals[np.isfinite(vals)]
    lo, hi = xlim if xlim else (0.0, float(finite.max() * 1.1) if finite.size else 1.0)
    return Axis("linear", (lo, hi), x0, x1, linear_breaks(lo, hi, 5), "Months")


def _row_measures(stratum) -> list[str]:
    """The measures of the displayed rows (pooled or not), in order of first appearance."""
    found = list(dict.fromkeys(m for m in stratum.rows["measure"] if isinstance(m, str) and m))
    if not found and stratum.measure:
        found = [stratum.measure]
    return found


def ratio_axis_title(measures: list[str]) -> str:
    """The x-axis title of a ratio forest plot: the measure's name, or each name when rows mix measures
    (each row then states its own measure)."""
    labels = list(dict.fromkeys(measure_facts(m).label for m in measures))
    if len(labels) == 1:
        return f"{labels[0]} (log scale)"
    if not labels:
        return "Ratio (log scale)"
    return f"{', '.join(labels[:-1])} or {labels[-1].lower()} (log scale), as each row states"


def favours_labels(stratum) -> tuple[str, str] | None:
    """The labels under the two sides of the null line of a comparison's ratio plot: "favours <arm>" when
    every row's measure says which side is better (hazard ratios), otherwise "lower/higher with <arm>"
    so the reader still sees what is compared with what; None when the stratum is not one comparison."""
    comparison = getattr(stratum, "comparison", None)
    if stratum.scale != "ratio" or not comparison:
        return None
    arm, comparator = comparison
    directions = {measure_facts(m).lower_favours_arm for m in _row_measures(stratum)}
    if directions == {True}:
        return f"favours {arm}", f"favours {comparator}"
    if directions == {False}:
        return f"favours {comparator}", f"favours {arm}"
    return f"lower with {arm} than {comparator}", f"higher with {arm} than {comparator}"


def forest_layout(stratum, *, subgroup: str | None = None, xlim: tuple[float, float] | None = None,
                  wrap: int = 46, panel_width: float = 2.8) -> ForestLayout:
    """Compute the forest plot of ``stratum`` (a :class:`netevidence.specs.Stratum`)."""
    rows = stratum.rows
    scale = stratum.scale
    level = int(round(stratum.level * 100))
    entries: list[dict] = []     # top-down lines

    def add(kind: str, text: str = "", **kw) -> None:
        lines = textwrap.wrap(text, wrap, break_long_words=True) or [""]
        entries.append({"kind": kind, "lines": lines, **kw})

    groups = list(dict.fromkeys(rows.loc[rows["block"] == "studies", "group"])) if len(rows) else []
    fits = {g.group: g for g in stratum.group_fits}
    studies = rows[rows["block"] == "studies"]
    for g in groups:
        if subgroup:
            add("heading", _group_label(subgroup, g))
        for r in studies[studies["group"] == g].to_dict("records"):
            add("row", r["label"] + (f", {r['detail']}" if r["detail"] else ""), row=r)
        if subgroup and g in fits:
            gf = fits[g]
            add("group_diamond", f"Subgroup model (k = {gf.k})", fit=gf.fit, pred=gf.prediction)
            add("note", f"τ² = {gf.fit.tau2:.3f}; I² = {gf.fit.i2:.1f}%; Q({gf.fit.q_df}) = {gf.fit.q:.2f}, "
                        f"p {fmt_p(gf.fit.q_pval)}")
        if subgroup:
            add("blank")
    if stratum.fit is not None:
        f, p = stratum.fit, stratum.prediction
        if entries and entries[-1]["kind"] != "blank":
            add("blank")   # a gap so no study row can be read as the pooled one
        model = "Equal-effects model" if f.method == "EE" else f"Random-effects model ({f.method})"
        add("diamond", f"{model}, k = {f.k}", fit=f, pred=p)
        add("pi", f"{level}% prediction interval", fit=f, pred=p)
        add("note", f"Heterogeneity: τ² = {f.tau2:.3f}; I² = {f.i2:.1f}%; Q({f.q_df}) = {f.q:.2f}, p {fmt_p(f.q_pval)}")
    if stratum.subgroups is not None and getattr(stratum, "subgroup_test", True):
        s = stratum.subgroups
        add("note", f"Test for subgroup differences: Q({s.q_between_df}) = {s.q_between:.2f}, p {fmt_p(s.q_between_pval)}")
    umbrella = rows[rows["block"] == "published"]
    if len(umbrella):
        if entries:
            add("blank")
        add("heading", "Published summaries (shown, not pooled)")
        for r in umbrella.to_dict("records"):
            add("row", r["label"] + (f", {r['detail']}" if r["detail"] else ""), row=r)

    # column widths
    label_chars = max([len(line) for e in entries if e["kind"] != "note" for line in e["lines"]] + [5])
    col_n = [str(int(r)) if pd.notna(r) else "" for r in rows["n"]] if len(rows) else []
    col_e = [str(int(r)) if pd.notna(r) else "" for r in rows["events"]] if len(rows) else []
    est_texts = []
    for e in entries:
        if e["kind"] == "row":
            r = e["row"]
            est_texts.append(fmt_ci(r["value"], r["low"], r["high"], scale))
        elif e["kind"] in ("diamond", "group_diamond"):
            pr = e["pred"]
            est_texts.append(fmt_ci(pr.pred, pr.ci_low, pr.ci_high, scale))
        elif e["kind"] == "pi":
            pr = e["pred"]
            est_texts.append(fmt_ci(np.nan, pr.pi_low, pr.pi_high, scale) or
                             f"[{fmt_ci(pr.pi_low, np.nan, np.nan, scale)}, {fmt_ci(pr.pi_high, np.nan, np.nan, scale)}]")
    head_est = f"Estimate [{level}% CI]"
    w_label = label_chars * CHAR_IN
    w_n = max([len(x) for x in col_n] + [3]) * CHAR_IN
    w_e = max([len(x) for x in col_e] + [6]) * CHAR_IN
    w_est = max([len(x) for x in est_texts] + [len(head_est)]) * CHAR_IN
    w_w = len("Weight") * CHAR_IN
    pad = 0.18
    x_label = 0.12
    x0 = x_label + w_label + pad
    x1 = x0 + panel_width
    x_n = x1 + pad + w_n
    x_e = x_n + pad + w_e
    x_est = x_e + pad + w_est
    x_w = x_est + pad + w_w
    width = x_w + 0.2
    note_chars = int((width - 2 * x_label) / CHAR_IN)
    for e in entries:
        if e["kind"] == "note":
            e["lines"] = textwrap.wrap(" ".join(e["lines"]), note_chars) or [""]
    axis = _axis_for(stratum, x0 + 0.08, x1 - 0.08, xlim)

    header_lines = 1.6
    body_lines = sum(len(e["lines"]) for e in entries)
    favours = favours_labels(stratum)
    fav_lines: tuple[list[str], list[str]] = ([], [])
    if favours and axis.limits[0] < 1 < axis.limits[1]:
        # each side wrapped to the room between the null line and the figure's edge
        xn = float(axis.to_x(1.0))
        small_char = CHAR_IN * SMALL / FONT
        left_chars = max(12, int((xn - 0.06 - x_label) / small_char) - 2)
        right_chars = max(12, int((width - 0.1 - xn - 0.06) / small_char) - 2)
        fav_lines = (textwrap.wrap("← " + favours[0], left_chars), textwrap.wrap(favours[1] + " →", right_chars))
    n_fav = max(len(fav_lines[0]), len(fav_lines[1]))
    axis_h = 0.62 + (0.1 + n_fav * 0.9 * LINE_IN if n_fav else 0.0)
    legend = _legend(rows, stratum)
    legend_lines = textwrap.wrap(legend, note_chars) if legend else []
    height = 0.1 + header_lines * LINE_IN + body_lines * LINE_IN + axis_h + len(legend_lines) * LINE_IN * 0.95 + 0.1
    top = height - 0.1

    texts, segs, polys, markers, diamonds, outrows = [], [], [], [], [], []

    def text(x, y, s, ha="left", weight="normal", size=FONT, color="#1a1a1a"):
        if s:
            texts.append({"x": x, "y": y, "label": s, "ha": ha, "fontweight": weight, "size": size, "color": color})

    yh = top - 0.5 * LINE_IN
    text(x_label, yh, "Study", weight="bold")
    text(x_n, yh, "n", ha="right", weight="bold")
    text(x_e, yh, "Events", ha="right", weight="bold")
    text(x_est, yh, head_est, ha="right", weight="bold")
    text(x_w, yh, "Weight", ha="right", weight="bold")
    segs.append({"x": x_label, "xend": x_w, "y": top - 1.1 * LINE_IN, "yend": top - 1.1 * LINE_IN,
                 "color": "#888888", "linetype": "solid", "size": 0.4, "arrow": "none"})

    wmax = float(np.nanmax(rows["weight"].to_numpy(float))) if len(rows) and rows["weight"].notna().any() else np.nan
    y = top - header_lines * LINE_IN
    row_ys = []
    lo_lim, hi_lim = axis.limits

    def interval(yv, lo, hi, color="#1a1a1a", linetype="solid", size=0.5):
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return
        left_clip, right_clip = lo < lo_lim, hi > hi_lim
        a, b = axis.to_x(max(lo, lo_lim)), axis.to_x(min(hi, hi_lim))
        arrow = {(True, True): "both", (True, False): "first", (False, True): "last"}.get((left_clip, right_clip), "none")
        segs.append({"x": float(a), "xend": float(b), "y": yv, "yend": yv, "color": color, "linetype": linetype,
                     "size": size, "arrow": arrow})

    for e in entries:
        yv = y - 0.5 * LINE_IN
        kind = e["kind"]
        for j, line in enumerate(e["lines"]):
            ly = yv - j * LINE_IN
            if kind == "heading":
                text(x_label, ly, line, weight="bold")
            elif kind == "note":
                text(x_label + 0.1, ly, line, size=SMALL, color="#444444")
            elif kind in ("diamond", "group_diamond", "pi"):
                text(x_label, ly, line, weight="bold" if kind == "diamond" else "normal",
                     color="#1a1a1a" if kind != "pi" else "#444444")
            elif kind == "row":
                text(x_label + (0.12 if j else 0.0), ly, line)
        if kind == "row":
            r = e["row"]
            row_ys.append(yv)
            role = r["role"]
            n_txt = str(int(r["n"])) if pd.notna(r["n"]) else ""
            ev_txt = str(int(r["events"])) if pd.notna(r["events"]) else ""
            text(x_n, yv, n_txt, ha="right")
            text(x_e, yv, ev_txt, ha="right")
            text(x_est, yv, fmt_ci(r["value"], r["low"], r["high"], scale), ha="right")
            w = r["weight"]
            text(x_w, yv, f"{w:.1f}%" if np.isfinite(w) else "", ha="right")
            v, lo, hi = float(r["value"]), float(r["low"]), float(r["high"])
            if role == "umbrella" and not np.isfinite(v):
                interval(yv, lo, hi, color="#555555", linetype="dotted", size=0.8)
            else:
                interval(yv, lo, hi, color="#555555" if role == "umbrella" else "#1a1a1a")
            inside = np.isfinite(v) and lo_lim <= v <= hi_lim
            if np.isfinite(w) and np.isfinite(wmax) and wmax > 0:
                size = max(SQUARE_MIN, SQUARE_MAX * np.sqrt(w / wmax))
                shape = "s"
            elif role == "study":
                size, shape = 4.0, "s"
            elif role == "umbrella":
                size, shape = 5.0, "D"
            else:
                size, shape = 4.5, "o"
            if inside:
                markers.append({"x": float(axis.to_x(v)), "y": yv, "size": float(size), "shape": shape,
                                "fill": "#1f4e79" if shape == "s" else "white",
                                "color": "#1f4e79" if shape == "s" else "#1a1a1a"})
            outrows.append({**{k: r[k] for k in ("label", "detail", "group", "role", "study_id", "value", "low",
                                                 "high", "weight", "yi", "vi", "n", "events")},
                            "y": yv, "marker_size": float(size), "marker_height": marker_side(size, STROKE), "marker": shape, "clipped_low": bool(lo < lo_lim),
                            "clipped_high": bool(hi > hi_lim)})
        elif kind in ("diamond", "group_diamond"):
            pr = e["pred"]
            h = 0.36 * LINE_IN if kind == "diamond" else 0.3 * LINE_IN
            pts = [(max(pr.ci_low, lo_lim), yv), (pr.pred, yv + h), (min(pr.ci_high, hi_lim), yv), (pr.pred, yv - h)]
            gid = f"d{len(diamonds)}"
            for px, py in pts:
                polys.append({"x": float(axis.to_x(px)), "y": py, "group": gid,
                              "fill": "#1a1a1a" if kind == "diamond" else "#8c8c8c"})
            text(x_est, yv, fmt_ci(pr.pred, pr.ci_low, pr.ci_high, scale), ha="right",
                 weight="bold" if kind == "diamond" else "normal")
            text(x_w, yv, "100%" if kind == "diamond" else "", ha="right")
            diamonds.append({"kind": "overall" if kind == "diamond" else "subgroup", "y": yv,
                             "estimate": pr.pred, "ci_low": pr.ci_low, "ci_high": pr.ci_high,
                             "pi_low": pr.pi_low, "pi_high": pr.pi_high, "k": e["fit"].k})
        elif kind == "pi":
            pr = e["pred"]
            interval(yv, pr.pi_low, pr.pi_high, color="#444444", size=0.6)
            for end in (pr.pi_low, pr.pi_high):
                if lo_lim <= end <= hi_lim:
                    xe = float(axis.to_x(end))
                    segs.append({"x": xe, "xend": xe, "y": yv - 0.18 * LINE_IN, "yend": yv + 0.18 * LINE_IN,
                                 "color": "#444444", "linetype": "solid", "size": 0.6, "arrow": "none"})
            text(x_est, yv, f"[{fmt_ci(pr.pi_low, np.nan, np.nan, scale)}, {fmt_ci(pr.pi_high, np.nan, np.nan, scale)}]",
                 ha="right", color="#444444")
        y -= len(e["lines"]) * LINE_IN

    y_axis = y - 0.1
    y_top_rows = top - header_lines * LINE_IN
    if scale == "ratio" and lo_lim < 1 < hi_lim:
        x1v = float(axis.to_x(1.0))
        segs.append({"x": x1v, "xend": x1v, "y": y_axis, "yend": y_top_rows, "color": "#999999",
                     "linetype": "solid", "size": 0.4, "arrow": "none"})
    if stratum.prediction is not None and lo_lim <= stratum.prediction.pred <= hi_lim:
        xp = float(axis.to_x(stratum.prediction.pred))
        segs.append({"x": xp, "xend": xp, "y": y_axis, "yend": y_top_rows, "color": "#999999",
                     "linetype": "dashed", "size": 0.4, "arrow": "none"})
    segs.append({"x": axis.x0, "xend": axis.x1, "y": y_axis, "yend": y_axis, "color": "#1a1a1a",
                 "linetype": "solid", "size": 0.5, "arrow": "none"})
    for b in axis.breaks:
        xb = float(axis.to_x(b))
        segs.append({"x": xb, "xend": xb, "y": y_axis, "yend": y_axis - 0.05, "color": "#1a1a1a",
                     "linetype": "solid", "size": 0.5, "arrow": "none"})
        text(xb, y_axis - 0.16, f"{b:g}", ha="center", size=SMALL)
    text((axis.x0 + axis.x1) / 2, y_axis - 0.38, axis.title, ha="center", size=FONT)
    if n_fav:
        xn = float(axis.to_x(1.0))
        for j, line in enumerate(fav_lines[0]):
            text(xn - 0.06, y_axis - 0.58 - j * 0.9 * LINE_IN, line, ha="right", size=SMALL, color="#444444")
        for j, line in enumerate(fav_lines[1]):
            text(xn + 0.06, y_axis - 0.58 - j * 0.9 * LINE_IN, line, ha="left", size=SMALL, color="#444444")
    ly = y_axis - axis_h + 0.02
    for line in legend_lines:
        text(x_label, ly, line, size=SMALL, color="#444444")
        ly -= LINE_IN * 0.95

    alt = _alt_text(stratum, rows)
    return ForestLayout(rows=pd.DataFrame(outrows), diamonds=pd.DataFrame(diamonds), texts=pd.DataFrame(texts),
                        segments=pd.DataFrame(segs), polygons=pd.DataFrame(polys),
                        axis=axis, width=float(width), height=float(height), alt=alt)


def _legend(rows: pd.DataFrame, stratum) -> str:
    parts = []
    if (rows["role"] == "study").any():
        parts.append("■ study (area proportional to its weight)" if rows["weight"].notna().any()
                     else "■ study estimate (not pooled)")
    if (rows["role"] == "shown").any():
        parts.append("○ reported without a confidence interval (not pooled)")
    if (rows["role"] == "umbrella").any():
        ranged = ((rows["role"] == "umbrella") & rows["value"].isna() & rows["low"].notna()).any()
        parts.append("◇ published summary (not pooled)" + ("; dotted: range across studies" if ranged else ""))
    if stratum.prediction is not None:
        parts.append("◆ pooled estimate; bar under it: prediction interval")
    return "   ".join(parts)


def _alt_text(stratum, rows: pd.DataFrame) -> str:
    with_ci = int((np.isfinite(rows["low"].astype(float)) & np.isfinite(rows["high"].astype(float))).sum())
    n = len(rows)
    txt = f"Forest plot: {stratum.title}; {n} {'row' if n == 1 else 'rows'}, {with_ci} with a confidence interval"
    if stratum.prediction is not None:
        p = stratum.prediction
        txt += (f"; pooled estimate {p.pred:.2f} ({int(round(stratum.level * 100))}% CI {p.ci_low:.2f} to "
                f"{p.ci_high:.2f})")
    else:
        txt += "; no pooled estimate"
    return txt + "."


def forest_plot(stratum, **kwargs):
    """The plotnine forest plot of ``stratum``; returns ``(ggplot, layout)``. Keyword arguments go to
    :func:`forest_layout` (``subgroup``, ``xlim``, ``wrap``, ``panel_width``)."""
    from plotnine import (aes, arrow, coord_cartesian, geom_point, geom_polygon, geom_segment, geom_text, ggplot,
                          scale_x_continuous, scale_y_continuous, theme, theme_void, element_rect)

    lay = forest_layout(stratum, **kwargs)
    p = ggplot() + theme_void() + theme(figure_size=(lay.width, lay.height),
                                        plot_background=element_rect(fill="white", color="white"),
                                        plot_margin=0)
    segs = lay.segments
    if len(segs):
        for (color, linetype, size, arr), part in segs.groupby(["color", "linetype", "size", "arrow"], sort=True):
            kw = {}
            if arr != "none":
                kw["arrow"] = arrow(length=0.06, angle=25, ends=arr, type="closed")
            p += geom_segment(aes("x", "y", xend="xend", yend="yend"), data=part, color=color, linetype=linetype,
                              size=size, **kw)
    if len(lay.polygons):
        for fill, part in lay.polygons.groupby("fill", sort=True):
            p += geom_polygon(aes("x", "y", group="group"), data=part, fill=fill, color=fill)
    marks = _markers(lay)
    if len(marks):
        for (shape, fill, color), part in marks.groupby(["shape", "fill", "color"], sort=True):
            p += geom_point(aes("x", "y", size="size"), data=part, shape=shape, fill=fill, color=color, stroke=STROKE)
        from plotnine import scale_size_identity
        p += scale_size_identity()
    t = lay.texts
    for (ha, weight, size, color), part in t.groupby(["ha", "fontweight", "size", "color"], sort=True):
        p += geom_text(aes("x", "y", label="label"), data=part, ha=ha, va="center", fontweight=weight, size=size,
                       color=color, family="DejaVu Sans")
    p += scale_x_continuous(limits=(0, lay.width), expand=(0, 0))
    p += scale_y_continuous(limits=(0, lay.height), expand=(0, 0))
    p += coord_cartesian(xlim=(0, lay.width), ylim=(0, lay.height), expand=False)
    return p, lay


def _markers(lay: ForestLayout) -> pd.DataFrame:
    rows = lay.rows
    if not len(rows):
        return pd.DataFrame(columns=["x", "y", "size", "shape", "fill", "color"])
    keep = rows[np.isfinite(rows["value"].astype(float)) & ~((rows["value"] < lay.axis.limits[0]) |
                                                              (rows["value"] > lay.axis.limits[1]))]
    out = pd.DataFrame({
        "x": lay.axis.to_x(keep["value"].astype(float)),
        "y": keep["y"].to_numpy(float),
        "size": keep["marker_size"].to_numpy(float),
        "shape": keep["marker"].to_numpy(),
    })
    out["fill"] = np.where(out["shape"] == "s", "#1f4e79", "white")
    out["color"] = np.where(out["shape"] == "s", "#1f4e79", "#1a1a1a")
    return out
