"""Our pooled estimate beside a published one: how far apart they are and which studies each holds.

For a stratum with a pooled estimate, every published pooled estimate shown in the same stratum (an
umbrella row of a meta-analysis, ``aggregation: pooled``) answers the same question. The comparison
gives the difference of the two estimates on the reporting scale (percentage points for proportions,
the ratio of the two ratios for hazard and odds ratios, months for times), whether the two confidence
intervals overlap, and the studies: those pooled here that the meta-analysis lists as included
(``review.included_ids``), those only pooled here, the included studies held here but not pooled in this
stratum, and the number of included studies without a record (``review.included_other``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ..evidence import EvidenceBase
from .run import Stratum


@dataclass(frozen=True)
class PublishedComparison:
    """One published pooled estimate against our pooled estimate of the same stratum."""

    review_id: str
    review_name: str
    scale: str
    ours: float
    ours_low: float
    ours_high: float
    ours_k: int
    published: float
    published_low: float
    published_high: float
    published_k: int | None
    difference: float
    difference_kind: str
    cis_overlap: bool | None
    listed: bool
    in_both: tuple[str, ...]
    only_ours: tuple[str, ...]
    only_published_held: tuple[str, ...]
    only_published_not_held: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{k: (", ".join(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}])


def _num(x) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return math.nan
    return x


def published_comparisons(evidence: EvidenceBase, stratum: Stratum) -> tuple[PublishedComparison, ...]:
    """Compare the stratum's pooled estimate with each published pooled estimate shown beside it."""
    if stratum.fit is None or stratum.prediction is None:
        return ()
    rows = stratum.rows
    pooled = rows[rows["role"] == "study"]
    ours_ids = list(dict.fromkeys(pooled["study_id"]))
    names = dict(zip(evidence.studies["study_id"], evidence.studies["study_name"]))
    p = stratum.prediction
    out = []
    outcomes = evidence.outcomes
    for r in rows[rows["role"] == "umbrella"].to_dict("records"):
        source = outcomes.loc[int(r["row"])]
        if source["aggregation"] != "pooled":
            continue
        value = _num(r["value"])
        if not math.isfinite(value):
            continue
        rec = evidence.record(r["study_id"])
        included = list(rec.review.included_ids) if rec.review is not None else []
        other = len(rec.review.included_other) if rec.review is not None else 0
        if stratum.scale == "ratio":
            diff, kind = p.pred / value, "ratio of ratios (ours / published)"
        elif stratum.scale == "proportion":
            diff, kind = 100 * (p.pred - value), "percentage points (ours - published)"
        else:
            diff, kind = p.pred - value, "difference (ours - published)"
        lo, hi = _num(r["low"]), _num(r["high"])
        overlap = None
        if math.isfinite(lo) and math.isfinite(hi):
            overlap = bool(p.ci_low <= hi and lo <= p.ci_high)
        k = source["k"]
        out.append(PublishedComparison(
            review_id=rec.id, review_name=rec.name, scale=stratum.scale,
            ours=float(p.pred), ours_low=float(p.ci_low), ours_high=float(p.ci_high), ours_k=stratum.k,
            published=value, published_low=lo, published_high=hi,
            published_k=None if k is None or (isinstance(k, float) and math.isnan(k)) or k is pd.NA else int(k),
            difference=float(diff), difference_kind=kind, cis_overlap=overlap,
            listed=bool(included or other),
            in_both=tuple(names.get(s, s) for s in ours_ids if s in included),
            only_ours=tuple(names.get(s, s) for s in ours_ids if s not in included),
            only_published_held=tuple(names.get(s, s) for s in included if s not in ours_ids),
            only_published_not_held=other,
        ))
    return tuple(out)
