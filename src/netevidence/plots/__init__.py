"""Plots drawn with plotnine: forest plots, funnel plots, Kaplan-Meier and summary survival curves,
risk-of-bias traffic-light and summary plots; the PRISMA 2020 flow diagram as hand-built SVG."""

from .figure import Figure
from .forest import ForestLayout, forest_layout, forest_plot
from .forest_rows import stratum_from_effects, stratum_from_result
from .funnel import FunnelLayout, funnel_plot
from .layout import save
from .prisma import prisma_svg
from .risk_of_bias import summary_plot as risk_of_bias_summary_plot
from .risk_of_bias import traffic_light_plot, with_risk_of_bias_column
from .survival import km_plot, survival_curves_plot

__all__ = ["Figure", "ForestLayout", "FunnelLayout", "forest_layout", "forest_plot", "funnel_plot", "km_plot",
           "prisma_svg", "risk_of_bias_summary_plot", "save", "stratum_from_effects", "stratum_from_result",
           "survival_curves_plot", "traffic_light_plot", "with_risk_of_bias_column"]
