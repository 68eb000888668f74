"""Risk-of-bias plots as robvis draws them (McGuinness LA, Higgins JPT. Risk-of-bias VISualization
(robvis): an R package and Shiny web app for visualizing risk-of-bias assessments. Res Syn Meth
2021;12:55-61): a traffic-light plot (one row per study, one coloured circle per domain and the overall
judgement, with robvis's symbols) and a summary bar plot (per domain, the share of studies at each
judgement, optionally weighted).

Both take rows of :func:`netevidence.tables.risk_of_bias_table` for one tool. Colours and symbols follow
the shared levels of :mod:`netevidence.records.appraisal_tools`. The traffic-light plot is laid out in
inches like the forest plot, so labels keep their size and never overlap from 1 to many studies.
"""

from __future__ import annotations

import warnings
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..records.appraisal_tools import LEVELS, TOOLS
from .figure import Figure
from .layout import CHAR_IN, FONT, SMALL

LEVEL_COLOURS: Mapping[str, str] = MappingProxyType({
    "low": "#02C100", "moderate": "#E2DF07", "high": "#BF0000", "critical": "#820000",
    "no_information": "#4EA1F7", "not_applicable": "#CCCCCC",
})
LEVEL_SYMBOLS: Mapping[str, str] = MappingProxyType({
    "low": "+", "moderate": "-", "high": "X", "critical": "!", "no_information": "?", "not_applicable": "",
})

CELL_IN = 0.34        # width of one domain column
ROW_IN = 0.30         # height of one study row
LEGEND_LINE_IN = 0.19
MARGIN_IN = 0.15


def _one_tool(table: pd.DataFrame) -> str:
    tools = list(dict.fromkeys(table["tool"]))
    if len(tools) != 1:
        raise ValueError(f"a risk-of-bias plot shows one tool; got {tools or 'no rows'}; filter the table by 'tool'")
    return tools[0]


def study_labels(table: pd.DataFrame) -> list[str]:
    """One label per assessment, in table order: the study name, with its endpoints when it has several."""
    keys = list(dict.fromkeys(zip(table["study_id"], table["assessment"])))
    names = dict(zip(zip(table["study_id"], table["assessment"]), zip(table["study_name"], table["endpoints"])))
    several = pd.Series([k[0] for k in keys]).duplicated(keep=False).tolist()
    out = []
    for key, multi in zip(keys, several):
        name, endpoints = names[key]
        parts = endpoints.split("+") if endpoints else []
        shown = ", ".join(parts[:3]) + (f", +{len(parts) - 3} more" if len(parts) > 3 else "")
        out.append(f"{name} ({shown})" if multi and parts else str(name))
    return out


def _level_legend(tool_id: str, terms: Sequence[str]) -> list[tuple[str, str]]:
    """(level, label) for the levels used, each label naming the tool's terms that map to it."""
    tool = TOOLS[tool_id]
    by_level: dict[str, list[str]] = {}
    for term in terms:
        by_level.setdefault(tool.levels[term], [])
        label = tool.label(term)
        if label not in by_level[tool.levels[term]]:
            by_level[tool.levels[term]].append(label)
    return [(lvl, " / ".join(by_level[lvl])) for lvl in LEVELS if lvl in by_level]


def traffic_light_plot(table: pd.DataFrame, *, title: str = "") -> Figure:
    """The traffic-light plot of one tool's assessments; returns a :class:`netevidence.plots.Figure`."""
    from plotnine import aes, annotate, coord_cartesian, geom_point, geom_text, ggplot, theme, theme_void

    tool_id = _one_tool(table)
    tool = TOOLS[tool_id]
    domains = list(tool.domains)
    labels = study_labels(table)
    n_rows, n_cols = len(labels), len(domains)
    keys = list(dict.fromkeys(zip(table["study_id"], table["assessment"])))
    row_of = {k: i for i, k in enumerate(keys)}

    label_w = max(len(s) for s in labels) * CHAR_IN + 0.2
    grid_x0 = MARGIN_IN + label_w
    overall_x = grid_x0 + (n_cols + 1.1) * CELL_IN
    width = max(overall_x + CELL_IN + MARGIN_IN + 0.3, 4.5)
    domain_lines = [f"D{i + 1}: {tool.domains[d]}" for i, d in enumerate(domains)]
    legend = _level_legend(tool_id, list(dict.fromkeys(list(table["judgement"]) + list(table["overall"]))))
    columns = 2 if n_cols > 8 else 1
    per_col = int(np.ceil(len(domain_lines) / columns))
    footer_h = (per_col + 2.4 + len(legend)) * LEGEND_LINE_IN
    col_w = max(len(s) for s in domain_lines) * CHAR_IN * SMALL / FONT + 0.3
    width = max(width, MARGIN_IN * 2 + columns * col_w)
    header_h = (0.35 if title else 0.1) + 0.3
    height = header_h + n_rows * ROW_IN + 0.15 + footer_h

    def y_of(row: int) -> float:
        return height - header_h - (row + 0.5) * ROW_IN

    cells = []
    for rec in table.itertuples():
        row = row_of[(rec.study_id, rec.assessment)]
        cells.append((grid_x0 + (domains.index(rec.domain) + 0.5) * CELL_IN, y_of(row), rec.level))
    for key in keys:
        first = table[(table.study_id == key[0]) & (table.assessment == key[1])].iloc[0]
        cells.append((overall_x, y_of(row_of[key]), first.overall_level))
    dots = pd.DataFrame(cells, columns=["x", "y", "level"])
    dots["symbol"] = [LEVEL_SYMBOLS[lv] for lv in dots["level"]]
    dots["colour"] = [LEVEL_COLOURS[lv] for lv in dots["level"]]

    head_y = height - header_h + 0.08
    heads = pd.DataFrame({"x": [grid_x0 + (i + 0.5) * CELL_IN for i in range(n_cols)] + [overall_x],
                          "y": head_y, "text": [f"D{i + 1}" for i in range(n_cols)] + ["Overall"]})
    names = pd.DataFrame({"x": grid_x0 - 0.12, "y": [y_of(i) for i in range(n_rows)], "text": labels})

    foot_top = height - header_h - n_rows * ROW_IN - 0.2
    foot = []
    for i, line in enumerate(domain_lines):
        col, r = divmod(i, per_col)
        foot.append((MARGIN_IN + col * col_w, foot_top - (r + 0.5) * LEGEND_LINE_IN, line))
    foot_df = pd.DataFrame(foot, columns=["x", "y", "text"])
    leg_y0 = foot_top - (per_col + 1.8) * LEGEND_LINE_IN
    leg = pd.DataFrame({"x": MARGIN_IN + 0.1, "y": [leg_y0 - i * LEGEND_LINE_IN for i in range(len(legend))],
                        "level": [lv for lv, _ in legend], "text": [t for _, t in legend]})
    leg["colour"] = [LEVEL_COLOURS[lv] for lv in leg["level"]]
    leg["symbol"] = [LEVEL_SYMBOLS[lv] for lv in leg["level"]]

    sep_x = grid_x0 + (n_cols + 0.3) * CELL_IN
    p = (ggplot()
         + annotate("segment", x=sep_x, xend=sep_x, y=y_of(n_rows - 1) - ROW_IN / 2, yend=head_y + 0.15,
                    color="#999999", size=0.4)
         + geom_point(aes("x", "y"), data=dots, fill=dots["colour"], color="#555555", size=7.5, stroke=0.3)
         + geom_text(aes("x", "y", label="symbol"), data=dots, size=FONT, fontweight="bold",
                     color=["white" if lv == "critical" else "black" for lv in dots["level"]])
         + geom_text(aes("x", "y", label="text"), data=heads, size=FONT, fontweight="bold", va="bottom")
         + geom_text(aes("x", "y", label="text"), data=names, size=FONT, ha="right")
         + geom_text(aes("x", "y", label="text"), data=foot_df, size=SMALL, ha="left")
         + geom_point(aes("x", "y"), data=leg, fill=leg["colour"], color="#555555", size=4.5, stroke=0.3)
         + geom_text(aes("x", "y", label="symbol"), data=leg, size=SMALL - 1, fontweight="bold")
         + geom_text(aes("x", "y", label="text"), data=leg.assign(x=leg["x"] + 0.18), size=SMALL, ha="left")
         + annotate("text", x=MARGIN_IN, y=leg_y0 + 0.8 * LEGEND_LINE_IN, label="Judgement", size=SMALL,
                    ha="left", fontweight="bold")
         + coord_cartesian(xlim=(0, width), ylim=(0, height), expand=False)
         + theme_void()
         + theme(plot_margin=0))
    if title:
        p = p + annotate("text", x=MARGIN_IN, y=height - 0.2, label=f"{title} ({tool.name})", size=FONT + 1,
                         ha="left", va="center", fontweight="bold")
    counts = dots.iloc[-n_rows:]["level"].value_counts()
    alt = (f"Traffic-light plot of {tool.name} for {n_rows} assessment(s) over {n_cols} domains; overall: "
           + ", ".join(f"{counts[lv]} {lv.replace('_', ' ')}" for lv in LEVELS if lv in counts) + ".")
    return Figure(plot=p, width=width, height=height, alt=alt)


def summary_frame(table: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Per domain (and 'Overall'), the weighted share of assessments at each level.

    ``weights`` maps study ids to weights (e.g. the weight of each study in a pool); by default every
    assessment counts once. Studies without a weight count zero."""
    tool = TOOLS[_one_tool(table)]
    w = table["study_id"].map(lambda s: 1.0 if weights is None else float(weights.get(s, 0.0)))
    rows = table.assign(weight=w.to_numpy())
    overall = rows.drop_duplicates(["study_id", "assessment"]).assign(domain="overall", level=lambda d: d.overall_level)
    both = pd.concat([rows[["domain", "level", "weight"]], overall[["domain", "level", "weight"]]])
    order = [*tool.domains, "overall"]
    labels = {**{d: f"D{i + 1}. {tool.domains[d]}" for i, d in enumerate(tool.domains)}, "overall": "Overall"}
    out = both.groupby(["domain", "level"], sort=False)["weight"].sum().reset_index()
    totals = out.groupby("domain")["weight"].transform("sum")
    out["share"] = np.where(totals > 0, out["weight"] / totals.where(totals > 0, 1), 0.0)
    out["domain_label"] = pd.Categorical(out["domain"].map(labels), categories=[labels[d] for d in order[::-1]])
    out["level"] = pd.Categorical(out["level"], categories=[lv for lv in LEVELS[::-1]])
    return out.sort_values(["domain_label", "level"]).reset_index(drop=True)


def summary_plot(table: pd.DataFrame, *, weights: Mapping[str, float] | None = None, title: str = "") -> Figure:
    """The (weighted) summary bar plot of one tool; returns a :class:`netevidence.plots.Figure`."""
    from plotnine import (aes, coord_flip, element_blank, element_text, geom_col, ggplot, guide_legend, guides, labs,
                          scale_fill_manual, scale_y_continuous, theme, theme_bw)

    tool_id = _one_tool(table)
    tool = TOOLS[tool_id]
    frame = summary_frame(table, weights)
    legend = dict(_level_legend(tool_id, list(dict.fromkeys(list(table["judgement"]) + list(table["overall"])))))
    n_studies = table[["study_id", "assessment"]].drop_duplicates().shape[0]
    longest = max(len(str(s)) for s in frame["domain_label"].cat.categories)
    width = max(7.0, longest * CHAR_IN + 4.2)
    height = 0.32 * (len(tool.domains) + 1) + 1.3 + (0.3 if title else 0)
    p = (ggplot(frame, aes("domain_label", "share", fill="level"))
         + geom_col(width=0.72, color="#555555", size=0.2, position="stack")
         + coord_flip()
         + scale_y_continuous(labels=lambda v: [f"{x:.0%}" for x in v], limits=(0, 1.0001), expand=(0, 0))
         + scale_fill_manual(values=dict(LEVEL_COLOURS), limits=[lv for lv in LEVELS if lv in legend],
                             labels=[legend[lv] for lv in LEVELS if lv in legend], name="")
         + guides(fill=guide_legend(nrow=1 if len(legend) <= 3 else 2))
         + labs(x="", y=("Weighted share of studies" if weights is not None else "Share of studies")
                + f" (n = {n_studies})", title=f"{title} ({tool.name})" if title else "")
         + theme_bw(base_size=FONT + 1)
         + theme(legend_position="bottom", panel_grid_major_y=element_blank(), panel_grid_minor=element_blank(),
                 legend_title=element_blank(),
                 axis_text_y=element_text(size=FONT + 1, ha="left", margin={"r": 8, "units": "pt"}),
                 plot_title=element_text(size=FONT + 1)))
    overall = frame[frame["domain"] == "overall"]
    alt = (f"Summary bar plot of {tool.name} over {n_studies} assessment(s); overall: "
           + ", ".join(f"{row.share:.0%} {str(row.level).replace('_', ' ')}"
                       for row in overall.itertuples() if row.share > 0) + ".")
    return Figure(plot=p, width=width, height=height, alt=alt)


FOREST_COLUMN_IN = 0.6  # width of the risk-of-bias column appended to a forest plot


def forest_risk_of_bias_column(layout, rows: pd.DataFrame) -> pd.DataFrame:
    """The risk-of-bias column of a forest plot: for each study row of ``layout`` (a
    :class:`~netevidence.plots.ForestLayout`) whose study has a level in ``rows['risk_of_bias']`` (the
    stratum's rows), one circle at the row's height in that level's colour and symbol, as robvis appends
    risk of bias to a forest plot. Columns ``x, y, level, colour, symbol``; ``x`` lies in the strip of
    width :data:`FOREST_COLUMN_IN` added to the right of the figure. Rows without a level get no circle."""
    empty = pd.DataFrame(columns=["x", "y", "level", "colour", "symbol"])
    if "risk_of_bias" not in rows.columns or not len(layout.rows):
        return empty
    levels = {(r["study_id"], r["label"], r["detail"]): r["risk_of_bias"] for r in rows.to_dict("records")}
    out = []
    for r in layout.rows.to_dict("records"):
        level = levels.get((r["study_id"], r["label"], r["detail"]))
        if isinstance(level, str) and level in LEVEL_COLOURS:
            out.append((layout.width + FOREST_COLUMN_IN / 2, float(r["y"]), level))
    if not out:
        return empty
    dots = pd.DataFrame(out, columns=["x", "y", "level"])
    dots["colour"] = [LEVEL_COLOURS[lv] for lv in dots["level"]]
    dots["symbol"] = [LEVEL_SYMBOLS[lv] for lv in dots["level"]]
    return dots


def with_risk_of_bias_column(plot, layout, rows: pd.DataFrame):
    """``plot`` (a forest plot drawn from ``layout``) with a risk-of-bias column on its right: the overall
    judgement of each row's study in robvis's colours and symbols (see
    :func:`forest_risk_of_bias_column`). Returns ``(ggplot, width, alt)``; when no row's study is assessed,
    the plot, its width and its alt text are returned unchanged."""
    from plotnine import (annotate, coord_cartesian, geom_point, geom_text, aes, scale_x_continuous, theme)

    dots = forest_risk_of_bias_column(layout, rows)
    if not len(dots):
        return plot, layout.width, layout.alt
    width = layout.width + FOREST_COLUMN_IN
    heads = layout.texts[layout.texts["label"] == "Weight"]
    head_y = float(heads["y"].iloc[0]) if len(heads) else float(layout.height - 0.1)
    x = layout.width + FOREST_COLUMN_IN / 2
    segs = layout.segments
    rules = segs[(segs["color"] == "#888888") & (segs["y"] == segs["yend"])] if len(segs) else segs
    rule_y = float(rules["y"].max()) if len(rules) else None
    with warnings.catch_warnings():  # the wider x scale replaces the forest plot's, as intended
        warnings.filterwarnings("ignore", message="Scale for 'x' is already present")
        p = (plot
             + annotate("text", x=x, y=head_y, label="RoB", size=FONT, fontweight="bold", va="center",
                        family="DejaVu Sans")
             + geom_point(aes("x", "y"), data=dots, fill=dots["colour"], color="#555555", size=6.0, stroke=0.3)
             + geom_text(aes("x", "y", label="symbol"), data=dots, size=SMALL, fontweight="bold",
                         color=["white" if lv == "critical" else "black" for lv in dots["level"]])
             + theme(figure_size=(width, layout.height))
             + scale_x_continuous(limits=(0, width), expand=(0, 0))
             + coord_cartesian(xlim=(0, width), ylim=(0, layout.height), expand=False))
        if rule_y is not None:  # the header rule continues over the new column
            p += annotate("segment", x=float(rules["xend"].max()), xend=width - 0.1, y=rule_y, yend=rule_y,
                          color="#888888", size=0.4)
    counts = dots["level"].value_counts()
    alt = (layout.alt.rstrip(".") + "; risk-of-bias column (overall judgement per study): "
           + ", ".join(f"{counts[lv]} {lv.replace('_', ' ')}" for lv in LEVELS if lv in counts) + ".")
    return p, width, alt
