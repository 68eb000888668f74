"""Selecting the rows of an analysis and the rules that keep patients from being counted twice.

``select_rows(evidence, spec)`` returns one row per outcome that matches the specification's
``select`` block, with its effect size (from :func:`netevidence.effects.from_outcomes`), its ``role``
and, for every row that is not pooled, the ``reason``. Roles:

``study``     a primary study's own result with a within-study variance: pooled (when the
              specification pools).
``umbrella``  a published summary across studies (a meta-analysis' pooled estimate, a median or range
              across studies, a review's unspecified summary): shown as its own row, never pooled with
              the primary studies (by default).
``shown``     a primary result without a within-study variance: shown as reported, not pooled.
``excluded``  not shown: a patient subgroup, an earlier data cut of the same patients, the same number
              reported again, or excluded by the specification.

The rules are applied in this order (the first that applies gives the reason): studies excluded by the
specification; patient-subgroup rows (unless ``select.subgroups``); earlier data cuts of the same
quantity (``data_cut: latest``); the same quantity reported again by another source (a primary, verified
source is kept); publications of one cohort (declared ``overlaps_with`` or an unresolved
``possible-overlap``): one publication per cohort and quantity, the largest or the latest (``overlap``);
published summaries (umbrella, or with ``published.mode: pool`` the meta-analysis rules:
a meta-analysis whose included studies are not listed is not pooled, two meta-analyses that share an
included study are not both pooled, a primary study that a pooled meta-analysis includes, or that is
``related`` to it, is not pooled); rows without a variance; and, when pooling, a second row of the
same patients (same study and arm) in one pooled estimate.
"""

from __future__ import annotations

import math

import pandas as pd

from ..effects import from_outcomes
from ..evidence import EvidenceBase
from ..records.overlap import CohortLink, cohort_groups, cohort_links, modality_families, modality_family
from ..survival.landmarks import landmark_sources
from ..values import na_to_none
from .derived import with_derived_response_rates
from .schema import AnalysisSpec

REVIEW_DESIGNS = frozenset({"meta_analysis", "systematic_review", "narrative_review"})
ACROSS_STUDIES = frozenset({"pooled", "median_of_studies", "range_of_studies", "unspecified"})
QUANTITY_KEY = ("study_id", "endpoint", "qualifier", "subgroup", "arm", "comparator", "time", "time_unit",
                "statistic")
PROPORTION_STATS = frozenset({"count", "proportion", "survival_at"})
RATIO_STATS = frozenset({"hazard_ratio", "odds_ratio"})
TIME_STATS = frozenset({"median_time"})


def _matches(frame: pd.DataFrame, spec: AnalysisSpec) -> pd.Series:
    sel = spec.select
    keep = frame["endpoint"].isin(sel.endpoints)
    if sel.statistics is not None:
        keep &= frame["statistic"].isin(sel.statistics)
    if sel.modalities is not None:
        wanted = set(sel.modalities)
        keep &= frame["modality"].map(lambda m: bool(set(str(m).split("+")) & wanted))
    if sel.designs is not None:
        keep &= frame["design"].isin(sel.designs)
    if sel.data_cuts is not None:
        keep &= frame["data_cut"].isin(sel.data_cuts)
    if sel.qualifiers is not None:
        wanted_q = set(sel.qualifiers)
        keep &= frame["qualifier"].map(lambda q: na_to_none(q) in wanted_q)
    if sel.arms is not None:
        keep &= frame["arm"].isin(sel.arms)
    if sel.comparisons is not None:
        has = frame["comparator"].map(lambda c: na_to_none(c) is not None)
        keep &= has if sel.comparisons else ~has
    if sel.times is not None:
        keep &= frame["time"].isin(sel.times) & (frame["time_unit"] == sel.time_unit)
    if sel.studies is not None:
        keep &= frame["study_id"].isin(sel.studies)
    return keep.astype(bool)


def considered_outcomes(evidence: EvidenceBase, spec: AnalysisSpec) -> pd.DataFrame:
    """The evidence's outcome rows followed by the response rates an analysis of ``orr``/``dcr`` derives
    from reported response categories (:mod:`netevidence.specs.derived`)."""
    return with_derived_response_rates(evidence.outcomes, spec.select.endpoints)


def spec_studies(evidence: EvidenceBase, spec: AnalysisSpec) -> list[str]:
    """The studies an analysis depends on: those with a row the specification selects (for its forest plots),
    or, when it draws survival curves, a survival landmark or median of its endpoint. A change to any other
    record cannot change the analysis, which is what lets the report cache it."""
    out = considered_outcomes(evidence, spec)
    keep = _matches(out, spec)
    if spec.survival_curves is not None:
        sel = spec.select.model_copy(update={"endpoints": [spec.survival_curves.endpoint],
                                             "statistics": ["survival_at", "median_time"], "times": None,
                                             "time_unit": None})
        keep |= _matches(out, spec.model_copy(update={"select": sel}))
    return sorted(set(out.loc[keep, "study_id"]))


def _cut_rank(evidence: EvidenceBase) -> dict[tuple[str, str], tuple[float, int]]:
    """Chronological rank of each data cut: its year (or its cut-off date's year); a cut without either
    ranks with the record's latest known year, then by its order in the record."""
    ranks: dict[tuple[str, str], tuple[float, int]] = {}
    for study_id, cuts in evidence.data_cuts.groupby("study_id", sort=False):
        years = []
        for row in cuts.itertuples(index=False):
            year = na_to_none(row.year)
            if year is None and na_to_none(row.cutoff_date) is not None:
                year = int(str(row.cutoff_date)[:4])
            years.append(year)
        known = [y for y in years if y is not None]
        fallback = max(known) if known else 0
        for pos, (row, year) in enumerate(zip(cuts.itertuples(index=False), years)):
            ranks[(study_id, row.data_cut)] = (float(year if year is not None else fallback), pos)
    return ranks


def _display(row: dict) -> tuple[float, float, float, str]:
    """The reported value on the reporting scale: (estimate, low, high, scale)."""
    stat = row["statistic"]
    nan = float("nan")
    f = lambda x: nan if na_to_none(x) is None else float(x)  # noqa: E731
    if stat == "count":
        n = na_to_none(row["n"])
        return (f(row["events"]) / float(n) if n else nan), nan, nan, "proportion"
    if stat in ("proportion", "survival_at"):
        return f(row["percent"]) / 100, f(row["ci_low"]) / 100, f(row["ci_high"]) / 100, "proportion"
    if stat in RATIO_STATS:
        return f(row["estimate"]), f(row["ci_low"]), f(row["ci_high"]), "ratio"
    if stat == "median_time":
        return f(row["estimate"]), f(row["ci_low"]), f(row["ci_high"]), "time"
    if stat == "median_of_studies":
        scale = "proportion" if row["unit"] == "percent" else "time"
        div = 100 if scale == "proportion" else 1
        return f(row["estimate"]) / div, nan, nan, scale
    if stat == "range":
        scale = "proportion" if row["unit"] == "percent" else "time"
        div = 100 if scale == "proportion" else 1
        return nan, f(row["low"]) / div, f(row["high"]) / div, scale
    return nan, nan, nan, "none"


def _is_published(row: dict) -> bool:
    return row["design"] in REVIEW_DESIGNS or row["aggregation"] in ACROSS_STUDIES


def select_rows(evidence: EvidenceBase, spec: AnalysisSpec) -> pd.DataFrame:
    """The rows an analysis considers, each with ``role`` and ``reason`` (see the module docstring)."""
    outcomes = considered_outcomes(evidence, spec)
    base = outcomes[_matches(outcomes, spec)].copy()
    base["row"] = base.index.astype(int)
    measure = {"count": spec.model.measure, "proportion": spec.model.measure}
    if len(base):
        rungs = spec.model.survival_variance
        effective = spec.model.survival_n == "effective" and "n" in rungs
        sourced = landmark_sources(evidence, base, greenwood="greenwood" in rungs, follow_up=effective)
        effects = from_outcomes(sourced, measure, errors="refuse", survival_variance=rungs, effective_n=effective)
        for col in ("yi", "vi", "measure", "flags", "refused", "derivation"):
            base[col] = effects[col]
        base["n_study"] = sourced["n_study"]
    else:
        base["n_study"] = pd.Series(dtype=float)
        for col in ("yi", "vi", "measure", "flags", "refused", "derivation"):
            base[col] = pd.Series(dtype=object)
    base = base.reset_index(drop=True)
    records = base.to_dict("records")
    role = ["study"] * len(records)
    reason: list[str | None] = [None] * len(records)

    def mark(i: int, r: str, why: str) -> None:
        if reason[i] is None and role[i] == "study":
            role[i], reason[i] = r, why

    ranks = _cut_rank(evidence)
    for i, row in enumerate(records):
        est, lo, hi, scale = _display(row)
        row.update(value=est, value_low=lo, value_high=hi, scale=scale)
        if scale == "none":
            mark(i, "excluded", f"reports no estimate: {row['refused'] or row['statistic']}")
        elif row["study_id"] in spec.select.exclude_studies:
            mark(i, "excluded", "excluded by the specification")
        elif na_to_none(row["subgroup"]) is not None and not spec.select.subgroups:
            mark(i, "excluded", f"a patient subgroup ({row['subgroup']}); the study's whole population is "
                                "analysed instead")

    # earlier data cuts of the same quantity
    if spec.data_cut == "latest":
        groups: dict[tuple, list[int]] = {}
        for i, row in enumerate(records):
            if role[i] == "study" and na_to_none(row["data_cut"]) is not None:
                key = tuple(na_to_none(row[c]) for c in QUANTITY_KEY)
                groups.setdefault(key, []).append(i)
        for members in groups.values():
            cuts = {records[i]["data_cut"] for i in members}
            if len(cuts) < 2:
                continue
            latest = max(cuts, key=lambda c: ranks.get((records[members[0]]["study_id"], c), (0.0, 0)))
            for i in members:
                if records[i]["data_cut"] != latest:
                    mark(i, "excluded", f"earlier data cut {records[i]['data_cut']!r} of the same patients; "
                                        f"the latest cut {latest!r} is used")

    # the same quantity reported again
    groups = {}
    for i, row in enumerate(records):
        if role[i] == "study":
            key = tuple(na_to_none(row[c]) for c in QUANTITY_KEY + ("data_cut",))
            groups.setdefault(key, []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        best = min(members, key=lambda i: (records[i]["source_kind"] != "primary",
                                           records[i]["verified"] is not True,
                                           na_to_none(records[i]["yi"]) is None, i))
        for i in members:
            if i != best:
                mark(i, "excluded", f"the same quantity reported again (source {records[i]['source']!r}); "
                                    f"the report from {records[best]['source']!r} is used")

    # one publication per cohort
    _one_per_cohort(evidence, spec, records, role, mark)

    # published summaries
    published = [i for i, row in enumerate(records) if role[i] == "study" and _is_published(row)]
    if spec.published.mode == "umbrella":
        for i in published:
            mark(i, "umbrella", "a published summary across studies: shown as its own row, never pooled "
                                "with the primary studies")
    else:
        _published_pool_rules(evidence, records, published, role, reason, mark)

    # rows without a variance
    for i, row in enumerate(records):
        if role[i] == "study" and na_to_none(row["yi"]) is None:
            why = row["refused"] or "no within-study variance"
            shown = not (math.isnan(row["value"]) and math.isnan(row["value_low"]))
            mark(i, "shown" if shown else "excluded", f"not poolable: {why}")

    frame = pd.DataFrame.from_records(records) if records else base.assign(
        value=pd.Series(dtype=float), value_low=pd.Series(dtype=float), value_high=pd.Series(dtype=float),
        scale=pd.Series(dtype=object))
    frame["role"] = role
    frame["reason"] = reason
    frame["published"] = [bool(_is_published(r)) for r in records] if records else pd.Series(dtype=bool)
    return frame


def _size(evidence_record, row: dict) -> int:
    """The size a publication brings to a quantity: the row's n, else its arm's patients, else the record's."""
    n = na_to_none(row["n"])
    if n is not None:
        return int(n)
    pop = evidence_record.population
    if pop is None:
        return 0
    arm = na_to_none(row["arm"])
    if arm is not None and arm in pop.arms:
        return int(pop.arms[arm])
    return int(pop.patients or 0) if arm is None or not pop.arms else 0


def _link_text(link: CohortLink) -> str:
    if link.kind == "declared":
        return f"declared overlap: {link.reason}"
    return f"possible overlap, not declared: {link.reason}; resolve it with overlaps_with or distinct_from"


def _one_per_cohort(evidence: EvidenceBase, spec: AnalysisSpec, records: list[dict], role, mark) -> None:
    """Rows of publications of one cohort (declared or possible overlaps): for each quantity, publications
    are taken in order of preference, the largest (``overlap: largest``: n of the row, else its arm's or
    the record's patients; then the latest) or the latest (``overlap: latest``: publication year; then the
    largest); a publication is kept unless it is linked to one already kept, whose rows it then gives way to."""
    links = cohort_links(evidence.records, evidence.citations)
    if not links:
        return
    groups = cohort_groups(links)
    adjacent: dict[tuple[str, str], CohortLink] = {}
    for link in links:
        adjacent.setdefault((link.first, link.second), link)
        adjacent.setdefault((link.second, link.first), link)
    by_id = {rec.id: rec for rec in evidence.records}
    buckets: dict[tuple, list[int]] = {}
    for i, row in enumerate(records):
        sid = row["study_id"]
        if role[i] != "study" or sid not in groups or _is_published(row):
            continue
        fams = tuple(sorted(modality_families(by_id[sid]) if na_to_none(row["arm"]) is None else
                            {modality_family(m) for m in str(row["modality"]).split("+")}))
        key = (groups[sid], row["endpoint"], na_to_none(row["qualifier"]), na_to_none(row["time"]), na_to_none(row["time_unit"]),
               row["scale"], na_to_none(row["comparator"]) is not None, fams)
        buckets.setdefault(key, []).append(i)
    for members in buckets.values():
        studies = sorted({records[i]["study_id"] for i in members})
        if len(studies) < 2:
            continue
        size = {s: max(_size(by_id[s], records[i]) for i in members if records[i]["study_id"] == s) for s in studies}
        year = {s: na_to_none(next(records[i]["year"] for i in members if records[i]["study_id"] == s)) or 0
                for s in studies}
        if spec.overlap == "largest":
            order = sorted(studies, key=lambda s: (size[s], year[s], s), reverse=True)
        else:
            order = sorted(studies, key=lambda s: (year[s], size[s], s), reverse=True)
        kept: list[str] = []
        gives_way: dict[str, str] = {}
        for s in order:
            winner = next((k for k in kept if (s, k) in adjacent), None)
            if winner is None:
                kept.append(s)
            else:
                gives_way[s] = winner
        names = {records[i]["study_id"]: records[i]["study_name"] for i in members}
        for i in members:
            sid = records[i]["study_id"]
            if sid not in gives_way:
                continue
            k = gives_way[sid]
            if spec.overlap == "largest":
                why, other = f"the largest (n = {size[k]})", f"n = {size[sid]}"
            else:
                why = f"the latest ({year[k]})" if year[k] else "the latest"
                other = str(year[sid]) if year[sid] else "year unknown"
            mark(i, "excluded", f"the same cohort as {names[k]} ({_link_text(adjacent[(sid, k)])}); one "
                                f"publication per cohort is pooled: {names[k]}, {why}, not this one ({other})")


def _published_pool_rules(evidence, records, published, role, reason, mark) -> None:
    """Meta-analyses that may be pooled: listed inclusions, no overlap; their included studies leave."""
    by_study = {rec.id: rec for rec in evidence.records}
    candidates = []
    for i in published:
        row = records[i]
        rec = by_study[row["study_id"]]
        included = tuple(rec.review.included_ids) if rec.review is not None else ()
        if row["aggregation"] != "pooled" or na_to_none(row["yi"]) is None:
            mark(i, "umbrella", "a published summary without a pooled estimate and its variance: shown as "
                                "its own row")
        elif not included:
            mark(i, "umbrella", "a meta-analysis whose included studies are not listed (review.included_ids): "
                                "pooling it could count patients twice, so it is shown as its own row")
        else:
            candidates.append((i, set(included) | set(rec.related)))
    # two meta-analyses sharing an included study: keep the larger (more studies), then the later
    candidates.sort(key=lambda c: (-(na_to_none(records[c[0]]["k"]) or 0), -(na_to_none(records[c[0]]["year"]) or 0), c[0]))
    kept: list[tuple[int, set]] = []
    for i, inc in candidates:
        clash = next((j for j, other in kept if inc & other), None)
        if clash is not None:
            mark(i, "umbrella", f"overlaps with meta-analysis {records[clash]['study_id']!r} (shared studies: "
                                f"{', '.join(sorted(inc & dict(kept)[clash]))}); shown as its own row")
        else:
            kept.append((i, inc))
    for i, row in enumerate(records):
        if role[i] != "study" or i in dict(kept):
            continue
        for j, inc in kept:
            if row["study_id"] in inc:
                mark(i, "excluded", f"included in meta-analysis {records[j]['study_id']!r}, which is pooled")
                break


def same_patients(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[tuple[int, str]]:
    """Pooled rows that repeat the patients of an earlier pooled row within the same ``columns`` group."""
    out = []
    seen: dict[tuple, int] = {}
    for i, row in frame.iterrows():
        if row["role"] != "study":
            continue
        key = tuple(na_to_none(row[c]) for c in columns) + (row["study_id"], na_to_none(row["arm"]), na_to_none(row["comparator"]))
        if key in seen:
            first = frame.loc[seen[key]]
            what = ", ".join(str(x) for x in (na_to_none(first["qualifier"]), na_to_none(first["data_cut"])) if x) or "another row"
            out.append((i, f"the same patients as another pooled row of this study ({what}); pooling both "
                           "would count them twice"))
        else:
            seen[key] = i
    return out


__all__ = ["select_rows", "same_patients", "PROPORTION_STATS", "RATIO_STATS", "TIME_STATS"]
