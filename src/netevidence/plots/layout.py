"""Shared geometry for the plots: axis scales (linear, log), nice breaks, number formatting and saving.

Plots are laid out in inches: every text column and the axis panel get a width computed from the
longest string they hold, so labels never overlap whatever the number of rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np

CHAR_IN = 0.066       # width of one character at 8 pt (DejaVu Sans, generous), inches
LINE_IN = 0.21        # height of one text line at 8 pt, inches
FONT = 8.0            # points
SMALL = 7.0


@dataclass(frozen=True)
class Axis:
    """A horizontal axis from ``limits`` (data scale) onto ``[x0, x1]`` (inches)."""

    kind: str            # "linear" | "log"
    limits: tuple[float, float]
    x0: float
    x1: float
    breaks: tuple[float, ...]
    title: str

    def _t(self, v):
        v = np.asarray(v, dtype=float)
        if self.kind == "log":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log(v)
        return v

    def to_x(self, v) -> np.ndarray:
        lo, hi = self._t(self.limits[0]), self._t(self.limits[1])
        return self.x0 + (self._t(v) - lo) / (hi - lo) * (self.x1 - self.x0)

    def clip(self, v) -> np.ndarray:
        return np.clip(np.asarray(v, dtype=float), self.limits[0], self.limits[1])


def marker_side(size: float, stroke: float) -> float:
    """Height in inches of a plotnine point of ``size`` and ``stroke`` (plotnine draws a marker of
    ``sqrt(pi) * (size + stroke)`` points)."""
    return float(np.sqrt(np.pi) * (size + stroke) / 72.0)


def log_breaks(lo: float, hi: float) -> tuple[float, ...]:
    cands = []
    for e in range(-3, 4):
        for m in (1, 2, 5):
            cands.append(m * 10.0 ** e)
    inside = [c for c in cands if lo * (1 - 1e-9) <= c <= hi * (1 + 1e-9)]
    while len(inside) > 7:
        inside = inside[::2]
    return tuple(inside)


def linear_breaks(lo: float, hi: float, n: int = 5) -> tuple[float, ...]:
    span = hi - lo
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw), default=raw)
    start = math.ceil(lo / step - 1e-9) * step
    out, v = [], start
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return tuple(out)


def ratio_limits(values: np.ndarray) -> tuple[float, float]:
    v = values[np.isfinite(values) & (values > 0)]
    if v.size == 0:
        return 0.1, 10.0
    lo, hi = float(v.min()), float(v.max())
    lo = min(lo, 1.0) / 1.15
    hi = max(hi, 1.0) * 1.15
    nice = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    lo = max([c for c in nice if c <= lo], default=0.01)
    hi = min([c for c in nice if c >= hi], default=100.0)
    return lo, hi


def fmt_value(x: float, scale: str) -> str:
    if x is None or not np.isfinite(x):
        return ""
    if scale == "proportion":
        return f"{x:.2f}"
    if scale == "ratio":
        return f"{x:.2f}" if x < 10 else f"{x:.1f}"
    return f"{x:.1f}"


def fmt_ci(est: float, lo: float, hi: float, scale: str) -> str:
    e = fmt_value(est, scale)
    if np.isfinite(lo) and np.isfinite(hi):
        ci = f"[{fmt_value(lo, scale)}, {fmt_value(hi, scale)}]"
        return f"{e} {ci}".strip()
    return e


def fmt_p(p: float) -> str:
    if not np.isfinite(p):
        return "NA"
    if p < 0.001:
        return "< 0.001"
    return f"= {p:.3f}"


# matplotlib settings of every saved figure, passed to each draw (nothing global is changed): text stays
# text in SVG (editable, searchable) and PDF (TrueType embedded), and ids are fixed for reproducible files
SAVE_RC = MappingProxyType({"svg.hashsalt": "netevidence", "svg.fonttype": "none", "pdf.fonttype": 42})
FIGURE_FORMATS = ("svg", "png", "pdf")
PNG_DPI = 300
_METADATA = {"svg": {"Date": None}, "png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None}}


def save(plot, stem: str | Path, width: float, height: float, *, formats=FIGURE_FORMATS, dpi: int = PNG_DPI,
         rc: Mapping[str, object] | None = None) -> list[Path]:
    """Draw a plotnine plot once and write it in each of ``formats`` (``stem`` without suffix): SVG with
    real ``<text>`` elements, PNG at ``dpi`` (300 by default, for print) and PDF with embedded fonts.

    ``rc`` adds matplotlib settings to :data:`SAVE_RC` for this figure only. The files carry no date or
    software tag and fixed element ids, so the same plot gives the same bytes on every run.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    unknown = set(formats) - set(_METADATA)
    if unknown:
        raise ValueError(f"unknown figure format(s) {sorted(unknown)}; choose from {', '.join(FIGURE_FORMATS)}")
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    with matplotlib.rc_context({**SAVE_RC, **(rc or {})}):
        fig = (plot + _size(width, height)).draw()
        try:
            for fmt in formats:
                path = stem.with_suffix("." + fmt)
                fig.savefig(path, format=fmt, dpi=dpi, metadata=_METADATA[fmt], facecolor="white")
                out.append(path)
        finally:
            plt.close(fig)
    return out


def _size(width: float, height: float):
    from plotnine import theme

    return theme(figure_size=(width, height), dpi=150)
