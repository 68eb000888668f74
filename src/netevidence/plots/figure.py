"""The figure that the forest and funnel plot functions return: the plotnine plot, its size in inches and
its alt text, saved with :meth:`Figure.save`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .layout import FIGURE_FORMATS, PNG_DPI, save


@dataclass(frozen=True)
class Figure:
    """One drawn figure: ``plot`` (a plotnine ``ggplot``), ``width`` and ``height`` in inches, ``alt`` (the
    text that describes it to a reader who cannot see it) and, for laid-out plots, ``layout`` (e.g. the
    :class:`netevidence.plots.ForestLayout` with every row, text and segment)."""

    plot: Any = field(repr=False)
    width: float
    height: float
    alt: str
    layout: Any = field(default=None, repr=False, compare=False)

    def save(self, path: str | Path, *, formats: tuple[str, ...] | None = None, dpi: int = PNG_DPI) -> list[Path]:
        """Write the figure. ``path`` with a suffix (``forest.png``, ``.svg`` or ``.pdf``) writes that one
        file; without a suffix it is a stem and each of ``formats`` is written (SVG, PNG at ``dpi`` and
        PDF by default). Returns the paths written."""
        path = Path(path)
        suffix = path.suffix.lower().lstrip(".")
        if formats is None:
            if suffix and suffix not in FIGURE_FORMATS:
                raise ValueError(f"cannot save a figure as {path.name!r}: choose a suffix among "
                                 f"{', '.join('.' + f for f in FIGURE_FORMATS)}, or give a name without one "
                                 "to write every format")
            formats = (suffix,) if suffix else FIGURE_FORMATS
        stem = path.with_suffix("") if suffix in FIGURE_FORMATS else path
        return save(self.plot, stem, self.width, self.height, formats=formats, dpi=dpi)

    def draw(self):
        """The matplotlib figure (the caller closes it)."""
        from plotnine import theme

        return (self.plot + theme(figure_size=(self.width, self.height))).draw()
