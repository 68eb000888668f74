"""The evidence record schema (pydantic models).

A record is one study or one publication group. Its numbers are kept **as they were reported**, each
statistic in its own kind (a count, a printed percent, a hazard ratio with CI, a median time, ...), and
every block that holds a number carries a :class:`Provenance`. These models check structure, types and
vocabularies; the rules that relate fields to each other (events <= n, estimate inside its CI, known
references, ...) live in :mod:`netevidence.records.checks`, where each can point at its own line.
The format is documented for curators in ``docs/evidence-format.md``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from . import vocabulary as vocab
from .appraisal_tools import JUDGED_FROM, TOOLS


def _literal(terms):
    return Literal[tuple(terms)]  # type: ignore[valid-type]


Design = _literal(vocab.DESIGNS)
Modality = _literal(vocab.MODALITIES)
Endpoint = _literal(vocab.ENDPOINTS)
TimeUnit = _literal(vocab.TIME_UNITS)
ValueUnit = _literal(vocab.VALUE_UNITS)
SourceKind = _literal(vocab.SOURCE_KINDS)
PRelation = _literal(vocab.P_RELATIONS)
AggregationType = _literal(vocab.AGGREGATIONS)
PooledModel = _literal(vocab.POOLED_MODELS)
SearchTopic = _literal(vocab.SEARCH_TOPICS)
SearchSource = _literal(vocab.SEARCH_SOURCES)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$", max_length=80)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Doi = Annotated[str, StringConstraints(pattern=r"^10\.\d{4,9}/\S+$")]
Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Provenance(_Model):
    """Where a number was read: the source (an id in ``sources``), the place in it, and how sure we are."""

    source: Slug
    location: Text
    kind: SourceKind
    verified: bool
    note: Text | None = None
    seen_at: Text | None = None


class Citation(_Model):
    """A publication or page. Unknown fields stay empty; nothing is guessed."""

    authors: list[Text] = []
    title: Text | None = None
    year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    journal: Text | None = None
    volume: Text | Positive | None = None
    issue: Text | Positive | None = None
    pages: Text | None = None
    doi: Doi | None = None
    pmid: Positive | None = None
    pmcid: Annotated[str, StringConstraints(pattern=r"^PMC\d+$")] | None = None
    seen_at: list[Text] = []
    note: Text | None = None


class Arm(_Model):
    id: Slug
    label: Text
    modality: Modality
    description: Text | None = None


class Population(_Model):
    """Who was studied. ``arms`` maps arm ids to their number of patients."""

    patients: Count | None = None
    lesions: Count | None = None
    procedures: Count | None = None
    sessions: Count | None = None
    sites: Count | None = None
    arms: dict[Slug, Count] = {}
    grade: Text | None = None
    primary_site: Text | None = None
    description: Text | None = None
    provenance: Provenance | None = None


class DataCut(_Model):
    """One analysis of a study at one time (e.g. the primary analysis, the final overall survival)."""

    id: Slug
    label: Text
    year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    cutoff_date: _dt.date | None = None
    source: Slug | None = None
    description: Text | None = None
    population: Population | None = None


YearMonth = Annotated[int, Field(ge=1900, le=2100)] | Annotated[
    str, StringConstraints(pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$")
]


class Accrual(_Model):
    """When the patients were treated or enrolled: a year (``2008``) or a month (``"2008-03"``)."""

    start: YearMonth
    end: YearMonth | None = None


class Cohort(_Model):
    """Who treated the patients and when, as printed; used to find publications of one cohort."""

    centres: list[Text] = []
    countries: list[Text] = []
    accrual: Accrual | None = None
    provenance: Provenance | None = None


class Overlap(_Model):
    """Another record that reports (some of) the same patients, and why we think so."""

    id: Slug
    reason: Text


class Distinct(_Model):
    """Another record that looks like the same cohort (``possible-overlap``) but was checked and is not."""

    id: Slug
    reason: Text


class ReportedNumber(_Model):
    value: Count
    provenance: Provenance | None = None


class IncludedStudy(_Model):
    """A primary study that a review includes and that has no record here: its citation as printed."""

    citation: Text
    modality: list[Modality] = []
    note: Text | None = None


class Review(_Model):
    """What a systematic review or meta-analysis included. Several sources may report the counts.

    ``included_ids`` are the included studies that have a record here, ``included_other`` the ones that do
    not (their citations), so that the share of a review's evidence held here can be shown.
    """

    studies: list[ReportedNumber] = []
    abstracts: list[ReportedNumber] = []
    patients: list[ReportedNumber] = []
    procedures: list[ReportedNumber] = []
    included_ids: list[Slug] = []
    included_other: list[IncludedStudy] = []
    included_note: Text | None = None


# --- statistics, as reported -------------------------------------------------------------------


class _Ci(_Model):
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: Annotated[float, Field(gt=0, lt=1)] = 0.95


class CountStat(_Model):
    kind: Literal["count"]
    events: Count
    n: Positive
    percent: float | None = None


class EventsStat(_Model):
    kind: Literal["events"]
    events: Count
    percent: float | None = None


class ProportionStat(_Ci):
    kind: Literal["proportion"]
    percent: float
    n: Positive | None = None


class RatioStat(_Ci):
    kind: Literal["hazard_ratio", "odds_ratio"]
    estimate: float
    p: float | None = None
    p_relation: PRelation = "="
    method: Text | None = None


class MedianTimeStat(_Ci):
    kind: Literal["median_time"]
    estimate: float | None = None
    not_reached: bool = False
    ci_high_not_reached: bool = False
    unit: TimeUnit
    range_low: float | None = None
    range_high: float | None = None


class SurvivalAtStat(_Ci):
    kind: Literal["survival_at"]
    percent: float


class RmstStat(_Ci):
    kind: Literal["rmst", "rmst_difference"]
    estimate: float
    unit: TimeUnit


class RangeStat(_Model):
    kind: Literal["range"]
    low: float
    high: float
    unit: ValueUnit


class MedianOfStudiesStat(_Model):
    kind: Literal["median_of_studies"]
    estimate: float
    unit: ValueUnit


class PValueStat(_Model):
    kind: Literal["p_value"]
    p: float
    p_relation: PRelation = "="
    test: Text | None = None


Statistic = Annotated[
    Union[
        CountStat,
        EventsStat,
        ProportionStat,
        RatioStat,
        MedianTimeStat,
        SurvivalAtStat,
        RmstStat,
        RangeStat,
        MedianOfStudiesStat,
        PValueStat,
    ],
    Field(discriminator="kind"),
]

COMPARATIVE_KINDS = frozenset({"hazard_ratio", "odds_ratio", "rmst_difference", "p_value"})
RATIO_KINDS = frozenset({"hazard_ratio", "odds_ratio"})


class Aggregation(_Model):
    type: AggregationType
    model: PooledModel | None = None
    k: Positive | None = None


class Outcome(_Model):
    """One reported quantity: an endpoint, for an arm (or a comparison of two), at a time, in one data cut."""

    endpoint: Endpoint
    qualifier: Slug | None = None
    subgroup: Text | None = None
    data_cut: Slug | None = None
    arm: Slug | None = None
    comparator: Slug | None = None
    time: Annotated[float, Field(ge=0)] | None = None
    time_unit: TimeUnit | None = None
    definition: Text | None = None
    aggregation: Aggregation | None = None
    statistic: Statistic
    provenance: Provenance | None = None


class Characteristic(_Model):
    """A baseline or procedural characteristic of the population (e.g. share of symptomatic patients)."""

    name: Slug
    label: Text | None = None
    data_cut: Slug | None = None
    statistic: Statistic
    provenance: Provenance | None = None


class Curve(_Model):
    """A digitised Kaplan-Meier curve of one arm (CSV: time, survival) and, optionally, its numbers at
    risk (CSV: time, n_at_risk). Paths are relative to the record's directory (e.g. ``curves/x.csv``)."""

    id: Slug
    endpoint: Endpoint
    data_cut: Slug | None = None
    arm: Slug | None = None
    subgroup: Text | None = None
    time_unit: TimeUnit
    file: Text
    at_risk: Text | None = None
    n: Positive
    total_events: Count | None = None
    provenance: Provenance | None = None


AppraisalToolId = _literal(TOOLS)


class DomainJudgement(_Model):
    """One domain (item) of an appraisal tool and its judgement, in the tool's own terms."""

    domain: Slug
    judgement: Slug
    support: Text | None = None


class RiskOfBias(_Model):
    """A risk-of-bias (or quality) assessment with one tool of :mod:`netevidence.records.appraisal_tools`.

    ``endpoints`` limits it to some outcomes (empty: the whole study); ``judged_from`` says whether the
    full text, the abstract or only a review's description of the study (``secondary_report``) was read,
    ``seen_at`` where."""

    tool: AppraisalToolId
    endpoints: list[Endpoint] = []
    domains: list[DomainJudgement]
    overall: Slug
    support: Text
    judged_from: _literal(JUDGED_FROM)  # type: ignore[valid-type]
    seen_at: Text | None = None


class Record(_Model):
    """One study (or publication group) with everything reported about it."""

    schema_version: Literal[1] = 1
    id: Slug
    name: Text
    title: Text | None = None
    design: Design
    modality: Annotated[list[Modality], Field(min_length=1)]
    citation: Slug
    sources: dict[Slug, Citation] = {}
    aggregation: AggregationType = "primary"
    related: list[Slug] = []
    notes: Text | None = None
    cohort: Cohort | None = None
    overlaps_with: list[Overlap] = []
    distinct_from: list[Distinct] = []
    population: Population | None = None
    arms: list[Arm] = []
    data_cuts: list[DataCut] = []
    review: Review | None = None
    characteristics: list[Characteristic] = []
    outcomes: list[Outcome] = []
    curves: list[Curve] = []
    risk_of_bias: list[RiskOfBias] = []


class SharedSources(_Model):
    """``evidence/sources.yaml``: citations used by several records (e.g. a review that reports many)."""

    sources: dict[Slug, Citation]


# --- the search and screening log (evidence/search.yaml) --------------------------------------------


class Search(_Model):
    """One search: where, what was asked, when, and how many results it returned."""

    id: Slug
    topic: SearchTopic
    source: SearchSource
    query: Text
    date: _dt.date
    records_found: Count
    note: Text | None = None


class ExclusionReason(_Model):
    reason: Text
    count: Count


class Screening(_Model):
    """The screening of one topic's search results (one block per topic and curator)."""

    topic: SearchTopic
    duplicates_removed: Count
    records_screened: Count
    records_excluded: Count
    full_texts_assessed: Count
    full_texts_excluded: list[ExclusionReason] = []
    included: list[Slug] = []
    note: Text | None = None


class SearchLog(_Model):
    """``evidence/search.yaml``: every search, the screening counts and the records each topic produced."""

    last_searched: _dt.date
    searches: Annotated[list[Search], Field(min_length=1)]
    screening: Annotated[list[Screening], Field(min_length=1)]
