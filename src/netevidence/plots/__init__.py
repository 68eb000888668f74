"""Plots drawn with plotnine: forest plots, funnel plots, Kaplan-Meier and summary survival curves."""

from .forest import ForestLayout, forest_layout, forest_plot
from .funnel import funnel_plot
from .layout import save
from .survival import km_plot, survival_curves_plot

__all__ = ["ForestLayout", "forest_layout", "forest_plot", "funnel_plot", "km_plot", "save", "survival_curves_plot"]
