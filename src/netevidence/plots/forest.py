"""Forest plots (plotnine) of one analysis stratum or of a fitted model.

A row per study with a square whose area is proportional to its weight in the random-effects model and
its confidence interval; columns n, events, estimate [CI] and weight (and, on request, year, design and
risk of bias); the pooled diamond and the prediction interval (metafor's ``forest.rma()`` layout:
Viechtbauer, Journal of Statistical Software 2010); subgroup diamonds and the test for subgroup
differences; heterogeneity (tau^2, I^2, Q, p). Values are on the reporting scale (the back-transform of
the analysis is the single ``transf`` hook of the stratum): proportions on 0-1 or in percent, ratios on a
log axis. A confidence interval that leaves the axis is cut at the axis and ends in an arrow. Every text
column is as wide as its longest string and each row as high as its wrapped label, so labels never
overlap.

Three layers: the entries (:mod:`netevidence.plots.forest_rows`), their text
(:mod:`netevidence.plots.forest_text`) and here the geometry (:func:`forest_layout`, in inches) and the
drawing (:func:`forest_plot`, returning a :class:`netevidence.plots.Figure`).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..effects import MEASURE_FACTS
from ..pooling import PoolResult
from .figure import Figure
from .forest_rows import ForestEntry, arrange, forest_entries, stratum_from_effects, stratum_from_result
from .forest_text import (COLUMN_HEADERS, EXTRA_COLUMNS, ValueFormat, alt_text, axis_title, entry_cells,
                          entry_label, favours_labels, legend_text, ratio_axis_title)
from .layout import CHAR_IN, FONT, LINE_IN, SMALL, Axis, linear_breaks, log_breaks, marker_side, ratio_limits

__all__ = ["ForestLayout", "favours_labels", "forest_layout", "forest_plot", "ratio_axis_title"]

STROKE = 0.6        # marker edge width (plotnine units)
# the heaviest study's square is 3/4 of a text line high, so neighbouring squares never touch
SQUARE_MAX = 0.75 * LINE_IN * 72.0 / np.sqrt(np.pi) - STROKE
SQUARE_MIN = 2.2
PAD = 0.18          # between columns, inches
X_LABEL = 0.12      # left edge of the label column
NOTE_KINDS = frozenset({"group_heterogeneity", "heterogeneity", "subgroup_test"})
LEFT_COLUMNS = ("year", "design")           # extra columns between the labels and the plot
RIGHT_COLUMNS = ("n", "events", "estimate", "weight", "risk_of_bias")


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


def _null_value(stratum) -> float | None:
    """Where the line of no effect is drawn: 1 for ratios, the measure's null (else 0) for differences."""
    if stratum.scale == "ratio":
        return 1.0
    if stratum.scale == "difference":
        facts = MEASURE_FACTS.get(stratum.measure)
        return facts.null if facts is not None and facts.null is not None else 0.0
    return None


def _data_values(stratum) -> np.ndarray:
    rows = stratum.rows
    vals = np.concatenate([rows["value"].to_numpy(float), rows["low"].to_numpy(float), rows["high"].to_numpy(float)])
    if stratum.prediction is not None:
        p = stratum.prediction
        vals = np.concatenate([vals, [p.pred, p.ci_low, p.ci_high, p.pi_low, p.pi_high]])
    return vals[np.isfinite(vals)]


def _limits(stratum, xlim) -> tuple[float, float]:
    """The axis limits on the data scale: ``xlim`` when given, else what the scale and the data need."""
    vals = _data_values(stratum)
    if xlim is not None:
        lo, hi = float(xlim[0]), float(xlim[1])
        if not lo < hi:
            raise ValueError(f"xlim must be increasing (got {tuple(xlim)})")
        if stratum.scale == "ratio" and lo <= 0:
            raise ValueError(f"xlim {tuple(xlim)} must be positive on a ratio axis (log scale); e.g. (0.2, 5)")
        return lo, hi
    if stratum.scale == "ratio":
        return ratio_limits(vals)
    if stratum.scale == "proportion":
        return 0.0, 1.0
    if stratum.scale == "time":
        return 0.0, float(vals.max() * 1.1) if vals.size else 1.0
    null = _null_value(stratum)
    lo, hi = (float(vals.min()), float(vals.max())) if vals.size else (-1.0, 1.0)
    lo, hi = min(lo, null), max(hi, null)
    pad = 0.05 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def _axis_for(stratum, x0: float, x1: float, xlim, ticks, fmt: ValueFormat) -> Axis:
    """The x-axis; ``xlim`` and ``ticks`` are in the unit the axis shows (percent when ``fmt`` says so)."""
    unit = 100.0 if fmt.as_percent else 1.0
    lo, hi = _limits(stratum, None if xlim is None else (xlim[0] / unit, xlim[1] / unit))
    if ticks is not None:
        breaks = tuple(float(t) / unit for t in ticks)
        outside = [t for t, b in zip(ticks, breaks) if not lo - 1e-12 <= b <= hi + 1e-12]
        if outside:
            raise ValueError(f"ticks {outside} lie outside the axis limits "
                             f"({fmt.tick(lo)}, {fmt.tick(hi)}); set xlim to include them")
    elif stratum.scale == "ratio":
        breaks = log_breaks(lo, hi)
    else:
        breaks = linear_breaks(lo, hi, 5)
    return Axis("log" if stratum.scale == "ratio" else "linear", (lo, hi), x0, x1, breaks,
                axis_title(stratum, fmt))


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=True) or [""]


def _columns_of(columns: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    unknown = [c for c in columns if c not in EXTRA_COLUMNS]
    if unknown:
        raise ValueError(f"unknown forest column(s) {unknown}; choose from {', '.join(EXTRA_COLUMNS)}")
    left = tuple(c for c in LEFT_COLUMNS if c in columns)
    right = tuple(c for c in RIGHT_COLUMNS if c in ("n", "events", "estimate", "weight") or c in columns)
    return left, right


@dataclass(frozen=True)
class _Grid:
    """Horizontal positions, in inches: the label column's left edge, each cell column's anchor (left
    edge for the left columns, right edge for the right ones), the panel and the figure width."""

    anchors: Mapping[str, float]
    x0: float
    x1: float
    width: float


def _grid(label_chars: int, cells: list[dict[str, str]], headers: Mapping[str, str], left, right,
          panel_width: float) -> _Grid:
    def chars(c: str) -> int:
        return max([len(cell.get(c, "")) for cell in cells] + [len(headers[c])])

    anchors: dict[str, float] = {}
    x = X_LABEL + label_chars * CHAR_IN + PAD
    for c in left:
        anchors[c] = x
        x += chars(c) * CHAR_IN + PAD
    x0, x1 = x, x + panel_width
    x = x1
    for c in right:
        x += PAD + chars(c) * CHAR_IN
        anchors[c] = x
    return _Grid(anchors, x0, x1, x + 0.2)


class _Canvas:
    """The tables a layout draws: texts, segments, polygons (appended in drawing order)."""

    def __init__(self):
        self.texts: list[dict] = []
        self.segments: list[dict] = []
        self.polygons: list[dict] = []
        self.note_boxes: list[tuple[float, float, float, float]] = []   # x0, x1, y0, y1 of each note line

    def text(self, x, y, s, ha="left", weight="normal", size=FONT, color="#1a1a1a") -> None:
        if s:
            self.texts.append({"x": x, "y": y, "label": s, "ha": ha, "fontweight": weight, "size": size,
                               "color": color})

    def segment(self, x, xend, y, yend, color="#1a1a1a", linetype="solid", size=0.5, arrow="none") -> None:
        self.segments.append({"x": float(x), "xend": float(xend), "y": float(y), "yend": float(yend),
                              "color": color, "linetype": linetype, "size": size, "arrow": arrow})

    def vertical(self, x: float, y0: float, y1: float, **style) -> None:
        """A vertical line from ``y0`` up to ``y1``, broken where it would cross a note's text."""
        cuts = sorted((b[2], b[3]) for b in self.note_boxes if b[0] - 0.04 <= x <= b[1] + 0.04 and b[3] > y0 and b[2] < y1)
        y = y0
        for lo, hi in cuts:
            if lo > y:
                self.segment(x, x, y, lo, **style)
            y = max(y, hi)
        if y < y1:
            self.segment(x, x, y, y1, **style)

    def interval(self, axis: Axis, y: float, lo: float, hi: float, **style) -> None:
        """A horizontal interval cut at the axis limits, with an arrow at each cut end."""
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return
        lo_lim, hi_lim = axis.limits
        a, b = axis.to_x(max(lo, lo_lim)), axis.to_x(min(hi, hi_lim))
        arrow = {(True, True): "both", (True, False): "first", (False, True): "last"}.get((lo < lo_lim, hi > hi_lim),
                                                                                           "none")
        self.segment(a, b, y, y, arrow=arrow, **style)


def _marker(row, wmax: float) -> tuple[float, str]:
    """Size (plotnine units) and shape of a row's marker: a square of area proportional to its weight,
    a plain square for unpooled studies, an open circle for rows without a CI, a diamond for summaries."""
    w, role = row["weight"], row["role"]
    if np.isfinite(w) and np.isfinite(wmax) and wmax > 0:
        return max(SQUARE_MIN, SQUARE_MAX * np.sqrt(w / wmax)), "s"
    if role == "study":
        return 4.0, "s"
    if role == "umbrella":
        return 5.0, "D"
    return 4.5, "o"


def _draw_row(canvas: _Canvas, axis: Axis, row, y: float, wmax: float) -> dict:
    """The interval of one study row; returns its row of ``ForestLayout.rows``."""
    v, lo, hi = float(row["value"]), float(row["low"]), float(row["high"])
    umbrella = row["role"] == "umbrella"
    if umbrella and not np.isfinite(v):
        canvas.interval(axis, y, lo, hi, color="#555555", linetype="dotted", size=0.8)
    else:
        canvas.interval(axis, y, lo, hi, color="#555555" if umbrella else "#1a1a1a")
    size, shape = _marker(row, wmax)
    keys = ("label", "detail", "group", "role", "study_id", "value", "low", "high", "weight", "yi", "vi", "n", "events")
    return {**{k: row[k] for k in keys}, "y": y, "marker_size": float(size), "marker_height": marker_side(size, STROKE),
            "marker": shape, "clipped_low": bool(lo < axis.limits[0]), "clipped_high": bool(hi > axis.limits[1])}


def _draw_diamond(canvas: _Canvas, axis: Axis, entry: ForestEntry, y: float) -> dict:
    pr = entry.pred
    overall = entry.kind == "diamond"
    h = (0.36 if overall else 0.3) * LINE_IN
    lo_lim, hi_lim = axis.limits
    gid = f"d{len({p['group'] for p in canvas.polygons})}"
    for px, py in [(max(pr.ci_low, lo_lim), y), (pr.pred, y + h), (min(pr.ci_high, hi_lim), y), (pr.pred, y - h)]:
        canvas.polygons.append({"x": float(axis.to_x(px)), "y": py, "group": gid,
                                "fill": "#1a1a1a" if overall else "#8c8c8c"})
    return {"kind": "overall" if overall else "subgroup", "y": y, "estimate": pr.pred, "ci_low": pr.ci_low,
            "ci_high": pr.ci_high, "pi_low": pr.pi_low, "pi_high": pr.pi_high, "k": entry.fit.k}


def _draw_pi(canvas: _Canvas, axis: Axis, pr, y: float) -> None:
    canvas.interval(axis, y, pr.pi_low, pr.pi_high, color="#444444", size=0.6)
    for end in (pr.pi_low, pr.pi_high):
        if axis.limits[0] <= end <= axis.limits[1]:
            xe = float(axis.to_x(end))
            canvas.segment(xe, xe, y - 0.18 * LINE_IN, y + 0.18 * LINE_IN, color="#444444", size=0.6)


def _label_style(kind: str) -> dict:
    if kind in ("heading", "published_heading", "diamond"):
        return {"weight": "bold"}
    if kind in NOTE_KINDS:
        return {"size": SMALL, "color": "#444444"}
    if kind == "pi":
        return {"color": "#444444"}
    return {}


def _favours_lines(favours, axis: Axis, null: float | None, width: float) -> tuple[list[str], list[str]]:
    """The two "favours" labels, each wrapped to the room between the null line and the figure's edge."""
    if not favours or null is None or not axis.limits[0] < null < axis.limits[1]:
        return [], []
    xn = float(axis.to_x(null))
    small_char = CHAR_IN * SMALL / FONT
    left_chars = max(12, int((xn - 0.06 - X_LABEL) / small_char) - 2)
    right_chars = max(12, int((width - 0.1 - xn - 0.06) / small_char) - 2)
    return textwrap.wrap("← " + favours[0], left_chars), textwrap.wrap(favours[1] + " →", right_chars)


def _draw_axis(canvas: _Canvas, axis: Axis, fmt: ValueFormat, y_axis: float, y_top: float, null, stratum,
               fav_lines) -> None:
    lo_lim, hi_lim = axis.limits
    if null is not None and lo_lim < null < hi_lim:
        xn = float(axis.to_x(null))
        canvas.vertical(xn, y_axis, y_top, color="#999999", size=0.4)
    if stratum.prediction is not None and lo_lim <= stratum.prediction.pred <= hi_lim:
        xp = float(axis.to_x(stratum.prediction.pred))
        canvas.vertical(xp, y_axis, y_top, color="#999999", linetype="dashed", size=0.4)
    canvas.segment(axis.x0, axis.x1, y_axis, y_axis)
    for b in axis.breaks:
        xb = float(axis.to_x(b))
        canvas.segment(xb, xb, y_axis, y_axis - 0.05)
        canvas.text(xb, y_axis - 0.16, fmt.tick(b), ha="center", size=SMALL)
    canvas.text((axis.x0 + axis.x1) / 2, y_axis - 0.38, axis.title, ha="center", size=FONT)
    if null is not None and any(fav_lines):
        xn = float(axis.to_x(null))
        for side, ha, dx in ((0, "right", -0.06), (1, "left", 0.06)):
            for j, line in enumerate(fav_lines[side]):
                canvas.text(xn + dx, y_axis - 0.58 - j * 0.9 * LINE_IN, line, ha=ha, size=SMALL, color="#444444")


def forest_layout(stratum, *, subgroup: str | None = None, xlim: tuple[float, float] | None = None,
                  ticks: Sequence[float] | None = None, scale: str = "proportion",
                  favours: tuple[str, str] | None = None, columns: Sequence[str] = (),
                  sort: str | None = None, labels: Mapping[str, str] | None = None,
                  wrap: int = 46, panel_width: float = 2.8) -> ForestLayout:
    """Compute the forest plot of ``stratum`` (a :class:`netevidence.specs.Stratum`).

    ``subgroup``: the column the rows are grouped by (headings and subgroup diamonds); ``xlim`` and
    ``ticks``: axis limits and tick marks in the unit the axis shows; ``scale``: ``proportion`` (0-1) or
    ``percent`` for strata of proportions; ``favours``: the (left, right) labels under the null line,
    instead of the ones derived from the compared arms; ``columns``: extra columns among ``year``,
    ``design`` and ``risk_of_bias``; ``sort`` (year, effect, weight, label) and ``labels`` (study id ->
    label) reorder and relabel the rows; ``wrap``: characters per label line."""
    if scale not in ("proportion", "percent"):
        raise ValueError(f"scale must be 'proportion' or 'percent' (got {scale!r})")
    stratum = arrange(stratum, sort=sort, labels=labels)
    fmt = ValueFormat(stratum.scale, percent=scale == "percent")
    text = _texts(stratum, subgroup, fmt, columns, wrap)
    grid = _grid(text.label_chars, text.cells, text.headers, text.left, text.right, panel_width)
    note_chars = int((grid.width - 2 * X_LABEL) / CHAR_IN)
    lines = [_wrap(" ".join(ls), note_chars) if e.kind in NOTE_KINDS else ls for e, ls in zip(text.entries, text.lines)]
    axis = _axis_for(stratum, grid.x0 + 0.08, grid.x1 - 0.08, xlim, ticks, fmt)
    null = _null_value(stratum)
    fav_lines = _favours_lines(tuple(favours) if favours else favours_labels(stratum), axis, null, grid.width)
    n_fav = max(len(fav_lines[0]), len(fav_lines[1]))
    axis_h = 0.62 + (0.1 + n_fav * 0.9 * LINE_IN if n_fav else 0.0)
    legend = legend_text(stratum.rows, stratum)
    legend_lines = textwrap.wrap(legend, note_chars) if legend else []
    body_lines = sum(len(ls) for ls in lines)
    height = 0.1 + (HEADER_LINES + body_lines) * LINE_IN + axis_h + len(legend_lines) * LINE_IN * 0.95 + 0.1
    top = height - 0.1

    canvas = _Canvas()
    _draw_header(canvas, grid, text, top)
    y_rows = top - HEADER_LINES * LINE_IN
    out_rows, diamonds, y = _draw_body(canvas, axis, grid, text, lines, stratum.rows, y_rows)
    y_axis = y - 0.1
    _draw_axis(canvas, axis, fmt, y_axis, y_rows, null, stratum, fav_lines)
    _draw_legend(canvas, legend_lines, y_axis - axis_h + 0.02)
    return ForestLayout(rows=pd.DataFrame(out_rows), diamonds=pd.DataFrame(diamonds), texts=pd.DataFrame(canvas.texts),
                        segments=pd.DataFrame(canvas.segments), polygons=pd.DataFrame(canvas.polygons),
                        axis=axis, width=float(grid.width), height=float(height),
                        alt=alt_text(stratum, stratum.rows, fmt))


HEADER_LINES = 1.6


@dataclass(frozen=True)
class _Texts:
    """The text of every entry before placing: label lines, cells, column headers and columns."""

    entries: tuple[ForestEntry, ...]
    lines: list[list[str]]
    cells: list[dict[str, str]]
    headers: Mapping[str, str]
    left: tuple[str, ...]
    right: tuple[str, ...]
    label_chars: int


def _texts(stratum, subgroup: str | None, fmt: ValueFormat, columns: Sequence[str], wrap: int) -> _Texts:
    level = int(round(stratum.level * 100))
    left, right = _columns_of(columns)
    entries = forest_entries(stratum, subgroup)
    lines = [_wrap(entry_label(e, subgroup, level), wrap) for e in entries]
    cells = [entry_cells(e, fmt, left + right) for e in entries]
    # n, events and weight only when some row has them (a fit without counts, rows that are not pooled)
    right = tuple(c for c in right if c not in ("n", "events", "weight") or any(cell.get(c) for cell in cells))
    label_chars = max([len(x) for e, ls in zip(entries, lines) if e.kind not in NOTE_KINDS for x in ls] + [5])
    return _Texts(entries, lines, cells, {**COLUMN_HEADERS, "estimate": fmt.header(level)}, left, right, label_chars)


def _draw_header(canvas: _Canvas, grid: _Grid, text: _Texts, top: float) -> None:
    yh = top - 0.5 * LINE_IN
    canvas.text(X_LABEL, yh, "Study", weight="bold")
    for c in text.left:
        canvas.text(grid.anchors[c], yh, text.headers[c], weight="bold")
    for c in text.right:
        canvas.text(grid.anchors[c], yh, text.headers[c], ha="right", weight="bold")
    canvas.segment(X_LABEL, grid.width - 0.2, top - 1.1 * LINE_IN, top - 1.1 * LINE_IN, color="#888888", size=0.4)


def _draw_body(canvas: _Canvas, axis: Axis, grid: _Grid, text: _Texts, lines, rows: pd.DataFrame,
               y: float) -> tuple[list[dict], list[dict], float]:
    """Every entry from ``y`` down: its label lines, its cells and its interval, marker or diamond.
    Returns the drawn rows, the diamonds and the ``y`` below the last entry."""
    wmax = float(np.nanmax(rows["weight"].to_numpy(float))) if len(rows) and rows["weight"].notna().any() else np.nan
    out_rows, diamonds = [], []
    for e, ls, cell in zip(text.entries, lines, text.cells):
        yv = y - 0.5 * LINE_IN
        for j, line in enumerate(ls):
            indent = 0.1 if e.kind in NOTE_KINDS else (0.12 if j and e.kind == "row" else 0.0)
            canvas.text(X_LABEL + indent, yv - j * LINE_IN, line, **_label_style(e.kind))
            if e.kind in NOTE_KINDS:   # reference lines are broken around the notes, which run into the panel
                x0 = X_LABEL + indent
                canvas.note_boxes.append((x0, x0 + len(line) * CHAR_IN * SMALL / FONT, yv - j * LINE_IN - 0.45 * LINE_IN,
                                          yv - j * LINE_IN + 0.45 * LINE_IN))
        for c in text.left:
            canvas.text(grid.anchors[c], yv, cell.get(c, ""))
        for c in text.right:
            canvas.text(grid.anchors[c], yv, cell.get(c, ""), ha="right",
                        weight="bold" if e.kind == "diamond" else "normal",
                        color="#444444" if e.kind == "pi" else "#1a1a1a")
        if e.kind == "row":
            out_rows.append(_draw_row(canvas, axis, e.row, yv, wmax))
        elif e.kind in ("diamond", "group_diamond"):
            diamonds.append(_draw_diamond(canvas, axis, e, yv))
        elif e.kind == "pi":
            _draw_pi(canvas, axis, e.pred, yv)
        y -= len(ls) * LINE_IN
    return out_rows, diamonds, y


def _draw_legend(canvas: _Canvas, lines: list[str], y: float) -> None:
    for line in lines:
        canvas.text(X_LABEL, y, line, size=SMALL, color="#444444")
        y -= LINE_IN * 0.95


def _draw(lay: ForestLayout):
    """The plotnine plot of a layout: every element at its position in inches on a blank canvas."""
    from plotnine import (aes, arrow, coord_cartesian, element_rect, geom_point, geom_polygon, geom_segment,
                          geom_text, ggplot, scale_size_identity, scale_x_continuous, scale_y_continuous, theme,
                          theme_void)

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
        p += scale_size_identity()
    for (ha, weight, size, color), part in lay.texts.groupby(["ha", "fontweight", "size", "color"], sort=True):
        p += geom_text(aes("x", "y", label="label"), data=part, ha=ha, va="center", fontweight=weight, size=size,
                       color=color, family="DejaVu Sans")
    p += scale_x_continuous(limits=(0, lay.width), expand=(0, 0))
    p += scale_y_continuous(limits=(0, lay.height), expand=(0, 0))
    p += coord_cartesian(xlim=(0, lay.width), ylim=(0, lay.height), expand=False)
    return p


def forest_plot(data, *, labels: Sequence[str] | Mapping[str, str] | None = None, measure: str | None = None,
                n=None, events=None, year=None, design=None, title: str = "", fit: PoolResult | None = None,
                level: float = 0.95, **options) -> Figure:
    """The forest plot of a stratum, of a fitted model or of an effect-size table, as a
    :class:`netevidence.plots.Figure` (``.save(path)``, ``.alt``, ``.layout``).

    ``data``: a :class:`netevidence.specs.Stratum` (``labels``: study id -> label); a
    :class:`netevidence.pooling.PoolResult`, as metafor's ``forest(res)``; or an effect-size table (a
    DataFrame with ``yi`` and ``vi``, as :func:`netevidence.effects.effect_size` returns), as metafor's
    ``forest(yi, vi, slab = labels)``: each study with its ``level`` interval ``yi ± z sqrt(vi)`` and no
    pooled diamond, unless ``fit`` (the ``PoolResult`` of the same yi/vi) adds it. For a fit or a table,
    ``labels`` lists one label per study (default "Study 1", ...), ``measure`` (e.g. ``"PLO"``, ``"HR"``;
    a table's own ``measure`` column otherwise) sets the back-transform and the axis, and ``n``,
    ``events``, ``year``, ``design`` fill those columns (see
    :func:`netevidence.plots.forest_rows.stratum_from_result`). Other keyword arguments go to
    :func:`forest_layout` (``subgroup``, ``xlim``, ``ticks``, ``scale``, ``favours``, ``columns``,
    ``sort``, ``wrap``, ``panel_width``)."""
    if isinstance(data, (PoolResult, pd.DataFrame)):
        if isinstance(labels, Mapping):
            raise TypeError("forest_plot(res or table): labels is a list with one label per study, in the order "
                            "of the yi")
        common = {"labels": labels, "measure": measure, "n": n, "events": events, "year": year, "design": design,
                  "title": title}
        if isinstance(data, PoolResult):
            if fit is not None:
                raise TypeError("forest_plot(res): fit= is for an effect-size table; res is already the fit")
            data = stratum_from_result(data, **common)
        else:
            data = stratum_from_effects(data, fit=fit, level=level, **common)
        labels = None
    else:
        given = {k: v for k, v in (("measure", measure), ("n", n), ("events", events), ("year", year),
                                   ("design", design), ("fit", fit)) if v is not None}
        if given:
            raise TypeError(f"forest_plot(stratum): {', '.join(given)} come from the stratum; they are only for "
                            "a PoolResult or an effect-size table")
        if labels is not None and not isinstance(labels, Mapping):
            raise TypeError("forest_plot(stratum): labels maps study ids to labels, e.g. {'netter-1': 'NETTER-1'}")
    lay = forest_layout(data, labels=labels, **options)
    return Figure(plot=_draw(lay), width=lay.width, height=lay.height, alt=lay.alt, layout=lay)


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
