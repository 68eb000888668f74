"""The text of a forest plot: numbers on the reporting scale (proportions as 0-1 or percent), each row's
cells (n, events, estimate [CI], weight and the extra columns year, design and risk of bias), the labels
of the entries, the axis title, the "favours" labels, the legend and the alt text. Nothing here knows
where a text is drawn (:mod:`netevidence.plots.forest`) or which rows there are
(:mod:`netevidence.plots.forest_rows`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..effects import measure_facts
from ..labels import term_label
from ..records import vocabulary
from .forest_rows import ForestEntry
from .layout import fmt_p, fmt_value

EXTRA_COLUMNS = ("year", "design", "risk_of_bias")
COLUMN_HEADERS = {"n": "n", "events": "Events", "weight": "Weight", "year": "Year", "design": "Design",
                  "risk_of_bias": "Risk of bias"}
ROB_SYMBOLS = {"low": "+", "moderate": "-", "high": "X", "critical": "!", "no_information": "?"}


@dataclass(frozen=True)
class ValueFormat:
    """How values of one reporting ``scale`` are written; ``percent`` writes proportions as percent."""

    scale: str
    percent: bool = False

    @property
    def as_percent(self) -> bool:
        return self.percent and self.scale == "proportion"

    def value(self, x: float) -> str:
        if self.as_percent:
            return "" if x is None or not np.isfinite(x) else f"{100 * x:.1f}"
        if self.scale == "difference":
            return "" if x is None or not np.isfinite(x) else f"{x:.2f}"
        return fmt_value(x, self.scale)

    def ci(self, est: float, lo: float, hi: float) -> str:
        """``est [lo, hi]``; the estimate alone without both limits; ``[lo, hi]`` without an estimate."""
        e = self.value(est)
        if np.isfinite(lo) and np.isfinite(hi):
            return f"{e} [{self.value(lo)}, {self.value(hi)}]".strip()
        return e

    def tick(self, b: float) -> str:
        return f"{100 * b:g}%" if self.as_percent else f"{b:g}"

    def header(self, level: int) -> str:
        return f"{'Percent' if self.as_percent else 'Estimate'} [{level}% CI]"


def ratio_axis_title(measures: list[str]) -> str:
    """The x-axis title of a ratio forest plot: the measure's name, or each name when rows mix measures
    (each row then states its own measure)."""
    labels = list(dict.fromkeys(measure_facts(m).label for m in measures))
    if len(labels) == 1:
        return f"{labels[0]} (log scale)"
    if not labels:
        return "Ratio (log scale)"
    return f"{', '.join(labels[:-1])} or {labels[-1].lower()} (log scale), as each row states"


def row_measures(stratum) -> list[str]:
    """The measures of the displayed rows (pooled or not), in order of first appearance."""
    found = list(dict.fromkeys(m for m in stratum.rows["measure"] if isinstance(m, str) and m))
    if not found and stratum.measure:
        found = [stratum.measure]
    return found


def axis_title(stratum, fmt: ValueFormat) -> str:
    """The x-axis title: the measure on a log scale for ratios, proportion or percent, months for times."""
    if stratum.scale == "ratio":
        return ratio_axis_title(row_measures(stratum))
    if stratum.scale == "proportion":
        label = measure_facts(stratum.measure).label if stratum.measure in ("SURV",) else "Proportion"
        return f"{label} (%)" if fmt.as_percent else label
    if stratum.scale == "time":
        return "Months"
    if stratum.measure:
        try:
            return measure_facts(stratum.measure).label
        except ValueError:
            return str(stratum.measure)
    return "Effect size"


def favours_labels(stratum) -> tuple[str, str] | None:
    """The labels under the two sides of the null line of a comparison's ratio plot: "favours <arm>" when
    every row's measure says which side is better (hazard ratios), otherwise "lower/higher with <arm>"
    so the reader still sees what is compared with what; None when the stratum is not one comparison."""
    comparison = getattr(stratum, "comparison", None)
    if stratum.scale != "ratio" or not comparison:
        return None
    arm, comparator = comparison
    directions = {measure_facts(m).lower_favours_arm for m in row_measures(stratum)}
    if directions == {True}:
        return f"favours {arm}", f"favours {comparator}"
    if directions == {False}:
        return f"favours {comparator}", f"favours {arm}"
    return f"lower with {arm} than {comparator}", f"higher with {arm} than {comparator}"


def group_label(subgroup: str | None, g: str) -> str:
    """A subgroup heading: modality terms by their label, other values as they are."""
    return vocabulary.modality_label(g) if subgroup == "modality" else g


def heterogeneity_text(fit, prefix: str = "Heterogeneity: ") -> str:
    return f"{prefix}τ² = {fit.tau2:.3f}; I² = {fit.i2:.1f}%; Q({fit.q_df}) = {fit.q:.2f}, p {fmt_p(fit.q_pval)}"


def subgroup_test_text(s) -> str:
    return f"Test for subgroup differences: Q({s.q_between_df}) = {s.q_between:.2f}, p {fmt_p(s.q_between_pval)}"


def model_text(fit) -> str:
    model = "Equal-effects model" if fit.method == "EE" else f"Random-effects model ({fit.method})"
    return f"{model}, k = {fit.k}"


def row_label(row) -> str:
    return str(row["label"]) + (f", {row['detail']}" if row.get("detail") else "")


def _count(x) -> str:
    return str(int(x)) if pd.notna(x) else ""


def _design(code) -> str:
    return term_label("design", code).split(" (")[0] if isinstance(code, str) and code else ""


def _risk_of_bias(level) -> str:
    if not isinstance(level, str) or not level:
        return "not assessed"
    return f"{ROB_SYMBOLS.get(level, '')} {level.replace('_', ' ')}".strip()


def _year(y) -> str:
    return str(int(y)) if y is not None and pd.notna(y) else ""


def row_cells(row, fmt: ValueFormat, columns: tuple[str, ...]) -> dict[str, str]:
    """The cells of one study row: n, events, estimate [CI], weight and each extra column."""
    w = row["weight"]
    cells = {"n": _count(row["n"]), "events": _count(row["events"]),
             "estimate": fmt.ci(row["value"], row["low"], row["high"]),
             "weight": f"{w:.1f}%" if np.isfinite(w) else ""}
    extra = {"year": lambda: _year(row.get("year")), "design": lambda: _design(row.get("design")),
             "risk_of_bias": lambda: _risk_of_bias(row.get("risk_of_bias"))}
    cells.update({c: extra[c]() for c in columns if c in extra})
    return cells


def interval_text(fmt: ValueFormat, lo: float, hi: float) -> str:
    return f"[{fmt.value(lo)}, {fmt.value(hi)}]"


def entry_label(entry: ForestEntry, subgroup: str | None, level: int) -> str:
    """The text in the label column of ``entry`` (before wrapping)."""
    kind = entry.kind
    if kind == "row":
        return row_label(entry.row)
    if kind == "heading":
        return group_label(subgroup, entry.group)
    if kind == "group_diamond":
        return f"Subgroup model (k = {entry.fit.k})"
    if kind == "diamond":
        return model_text(entry.fit)
    if kind == "pi":
        return f"{level}% prediction interval"
    if kind == "group_heterogeneity":
        return heterogeneity_text(entry.fit, prefix="")
    if kind == "heterogeneity":
        return heterogeneity_text(entry.fit)
    if kind == "subgroup_test":
        return subgroup_test_text(entry.test)
    if kind == "published_heading":
        return "Published summaries (shown, not pooled)"
    return ""


def entry_cells(entry: ForestEntry, fmt: ValueFormat, columns: tuple[str, ...]) -> dict[str, str]:
    """The cells of any entry: a study row's, a diamond's estimate (and 100% for the overall one), a
    prediction interval's limits; nothing for headings and notes."""
    if entry.kind == "row":
        return row_cells(entry.row, fmt, columns)
    pr = entry.pred
    if entry.kind in ("diamond", "group_diamond"):
        return {"estimate": fmt.ci(pr.pred, pr.ci_low, pr.ci_high), "weight": "100%" if entry.kind == "diamond" else ""}
    if entry.kind == "pi":
        return {"estimate": interval_text(fmt, pr.pi_low, pr.pi_high)}
    return {}


def legend_text(rows: pd.DataFrame, stratum) -> str:
    parts = []
    if (rows["role"] == "study").any():
        parts.append("■ study (area proportional to its weight)" if rows["weight"].notna().any()
                     else "■ study estimate (not pooled)")
        if getattr(stratum, "study_ci", "model") == "exact" and stratum.scale == "proportion":
            parts.append("study intervals exact (Clopper-Pearson)")
    if (rows["role"] == "shown").any():
        parts.append("○ reported without a confidence interval (not pooled)")
    if (rows["role"] == "umbrella").any():
        ranged = ((rows["role"] == "umbrella") & rows["value"].isna() & rows["low"].notna()).any()
        parts.append("◇ published summary (not pooled)" + ("; dotted: range across studies" if ranged else ""))
    if stratum.prediction is not None:
        parts.append("◆ pooled estimate; bar under it: prediction interval")
    return "   ".join(parts)


def alt_text(stratum, rows: pd.DataFrame, fmt: ValueFormat) -> str:
    """One sentence for a reader who cannot see the plot: what it shows, how many rows (how many with a
    confidence interval) and the pooled estimate."""
    with_ci = int((np.isfinite(rows["low"].astype(float)) & np.isfinite(rows["high"].astype(float))).sum())
    n = len(rows)
    txt = f"Forest plot: {stratum.title}; {n} {'row' if n == 1 else 'rows'}, {with_ci} with a confidence interval"
    if stratum.prediction is not None:
        p = stratum.prediction
        unit = "%" if fmt.as_percent else ""
        txt += (f"; pooled estimate {fmt.value(p.pred) if unit else f'{p.pred:.2f}'}{unit} "
                f"({int(round(stratum.level * 100))}% CI {fmt.value(p.ci_low) if unit else f'{p.ci_low:.2f}'}{unit} to "
                f"{fmt.value(p.ci_high) if unit else f'{p.ci_high:.2f}'}{unit})")
    else:
        txt += "; no pooled estimate"
    return txt + "."
