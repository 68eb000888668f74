"""Summary-of-findings rows in the GRADEpro layout, one per pooled outcome of each analysis.

Columns follow the GRADE summary-of-findings table (Guyatt GH et al. GRADE guidelines 12: preparing
summary of findings tables, J Clin Epidemiol 2013;66:158-172): the outcome, participants (studies),
the certainty with its symbols, the relative effect (or the pooled proportion) with its CI, the absolute
effects per 1,000 for comparisons when the specification gives the comparator's baseline risk, and a
plain-language comment chosen by the certainty level (GRADE's graded wording of Santesso N et al.,
GRADE guidelines 26, J Clin Epidemiol 2020;119:126-135: "results in", "probably", "may", "very
uncertain").
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

import pandas as pd

from ..appraisal import LABELS
from ..output import write_csv
from .run import RATIO_MEASURES, AnalysisResult, Stratum

SOF_COLUMNS = (
    "question", "analysis_id", "outcome", "participants", "studies", "participants_studies", "certainty",
    "certainty_label", "certainty_symbol", "effect", "comparator_per_1000", "intervention_per_1000",
    "difference_per_1000", "comment", "page",
)

COMMENTS: Mapping[str, str] = MappingProxyType({
    "high": "The evidence shows this result; further research is unlikely to change it.",
    "moderate": "This is probably the result; it could still differ substantially.",
    "low": "This may be the result; the true value may differ substantially.",
    "very_low": "The evidence is very uncertain about this result.",
})


def risk_with_intervention(p0: float, ratio: float, measure: str) -> float:
    """Risk in the intervention group from the comparator's risk ``p0`` and a ratio: RR p0; for an odds
    ratio OR p0 / (1 - p0 + OR p0); for a hazard ratio 1 - (1 - p0)^HR (proportional hazards)."""
    if measure == "OR":
        return ratio * p0 / (1 - p0 + ratio * p0)
    if measure == "HR":
        return 1 - (1 - p0) ** ratio
    return min(ratio * p0, 1.0)


def _fmt(x: float, scale: str) -> str:
    if scale == "proportion":
        return f"{100 * x:.0f}%"
    return f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}"


def _effect(stratum: Stratum) -> str:
    p = stratum.prediction
    if p is None:
        row = stratum.rows[stratum.rows.role == "study"].iloc[0]
        est, lo, hi = float(row["value"]), float(row["low"]), float(row["high"])
    else:
        est, lo, hi = p.pred, p.ci_low, p.ci_high
    pct = f"{100 * stratum.level:g}% CI"
    if stratum.measure in RATIO_MEASURES:
        return f"{stratum.measure} {_fmt(est, 'ratio')} ({pct} {_fmt(lo, 'ratio')} to {_fmt(hi, 'ratio')})"
    if stratum.scale == "proportion":
        return f"{_fmt(est, 'proportion')} ({pct} {_fmt(lo, 'proportion')} to {_fmt(hi, 'proportion')})"
    return f"{_fmt(est, stratum.scale)} ({pct} {_fmt(lo, stratum.scale)} to {_fmt(hi, stratum.scale)})"


def _absolute(stratum: Stratum, p0: float | None) -> tuple[str, str, str]:
    if p0 is None or stratum.measure not in RATIO_MEASURES or stratum.prediction is None and stratum.k != 1:
        return "", "", ""
    p = stratum.prediction
    if p is None:
        row = stratum.rows[stratum.rows.role == "study"].iloc[0]
        vals = [float(row["value"]), float(row["low"]), float(row["high"])]
    else:
        vals = [p.pred, p.ci_low, p.ci_high]
    risks = [1000 * risk_with_intervention(p0, v, stratum.measure) for v in vals]
    diffs = [r - 1000 * p0 for r in risks]

    def word(d: float) -> str:
        return f"{abs(d):.0f} {'fewer' if d < 0 else 'more'}"

    lo, hi = sorted(diffs[1:])
    return (f"{1000 * p0:.0f}", f"{risks[0]:.0f} ({min(risks[1:]):.0f} to {max(risks[1:]):.0f})",
            f"{word(diffs[0])} ({word(lo)} to {word(hi)})")


def summary_of_findings(results: Sequence[AnalysisResult], *,
                        page_of: Callable[[str], str] | None = None) -> pd.DataFrame:
    """One row per stratum that has a certainty rating (a pooled estimate, or one study in a pooled
    analysis), in the order of ``results``; ``page`` is ``page_of(analysis id)`` when given."""
    rows = []
    for result in results:
        spec = result.spec
        for stratum in result.strata:
            c = stratum.certainty
            if c is None:
                continue
            pooled = stratum.rows[stratum.rows.role == "study"]
            n = pd.to_numeric(pooled["n"], errors="coerce")
            participants = int(n.sum()) if len(n) and n.notna().all() else None
            studies = int(pooled["study_id"].nunique())
            comp, inter, diff = _absolute(stratum, spec.grade.baseline_risk)
            rows.append({
                "question": spec.title, "analysis_id": spec.id, "outcome": stratum.title,
                "participants": participants, "studies": studies,
                "participants_studies": (f"{participants} ({studies} {'study' if studies == 1 else 'studies'})"
                                         if participants is not None else
                                         f"not stated ({studies} {'study' if studies == 1 else 'studies'})"),
                "certainty": c.level, "certainty_label": LABELS[c.level], "certainty_symbol": c.symbol,
                "effect": _effect(stratum), "comparator_per_1000": comp, "intervention_per_1000": inter,
                "difference_per_1000": diff, "comment": COMMENTS[c.level],
                "page": page_of(spec.id) if page_of is not None else "",
            })
    frame = pd.DataFrame(rows, columns=list(SOF_COLUMNS))
    return frame.astype({"participants": "Int64", "studies": "Int64"})


def write_summary_of_findings(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write the rows as CSV (text quoted and protected against spreadsheet formulas)."""
    write_csv(frame, path)
    return Path(path)
