"""The analysis specification: what to select from the evidence base, how to pool it and what to draw.

Specifications are YAML files in ``analyses/``; the schema is strict like the record schema (unknown
keys, wrong types and unknown vocabulary terms are refused). ``docs/analyses.md`` documents every field.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from ..records import vocabulary

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")]

ESTIMATORS = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "PM", "EB")
PROPORTION_MEASURES = ("PLO", "PR", "PAS", "PFT", "PLN")
GROUPING_COLUMNS = ("modality", "design", "data_cut", "endpoint", "qualifier", "subgroup", "time",
                    "statistic", "arm")
PLOTS = ("forest", "funnel", "survival_curves", "km")
SENSITIVITY = ("leave_one_out", "verified_only", "primary_sources_only", "exclude_high_risk_of_bias")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


def _terms(values: list[str] | None, vocab, what: str) -> list[str] | None:
    if values is None:
        return None
    for value in values:
        if value not in vocab:
            raise ValueError(f"unknown {what} {value!r}{vocabulary.did_you_mean(value, vocab)}")
    return values


class Selection(_Model):
    """Which rows of the outcomes table an analysis uses; every list is an OR, the fields an AND.

    ``modalities`` match a row when any of the row's modality terms (``tae+tace`` has two) is listed.
    ``subgroups``: ``false`` (default) drops rows that describe a patient subgroup, so that a study's
    whole population is not counted again through its subgroups; ``true`` keeps them.
    """

    endpoints: list[str] = Field(min_length=1)
    statistics: list[str] | None = None
    modalities: list[str] | None = None
    designs: list[str] | None = None
    data_cuts: list[str] | None = None
    qualifiers: list[str | None] | None = None
    arms: list[str] | None = None
    comparisons: bool | None = None
    times: list[Annotated[float, Field(strict=False)]] | None = None
    time_unit: Literal["days", "weeks", "months", "years"] | None = None
    studies: list[str] | None = None
    exclude_studies: list[str] = []
    subgroups: bool = False

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, v):
        return _terms(v, vocabulary.ENDPOINTS, "endpoint")

    @field_validator("modalities")
    @classmethod
    def _modalities(cls, v):
        return _terms(v, vocabulary.MODALITIES, "modality")

    @field_validator("designs")
    @classmethod
    def _designs(cls, v):
        return _terms(v, vocabulary.DESIGNS, "design")

    @model_validator(mode="after")
    def _unit(self):
        if self.times is not None and self.time_unit is None:
            raise ValueError("times needs time_unit (days, weeks, months or years)")
        return self


class BayesPrior(_Model):
    """Heterogeneity prior of the Bayesian model (:func:`netevidence.pooling.bayes_pool`; flat prior on mu).

    ``tau``: ``half_normal`` or ``half_cauchy`` with ``scale``, or ``turner`` (log-normal on tau^2, Turner et
    al. 2015) for ``outcome`` and ``comparison`` (see :func:`netevidence.pooling.turner_prior`).
    """

    tau: Literal["half_normal", "half_cauchy", "turner"] = "half_normal"
    scale: Annotated[float, Field(strict=False)] = Field(default=0.5, gt=0)
    outcome: str = "general"
    comparison: str = "any"

    @model_validator(mode="after")
    def _turner(self):
        if self.tau == "turner":
            from ..pooling.bayes import turner_prior

            turner_prior(self.outcome, self.comparison)
        return self


class Model(_Model):
    """The effect measure and the random-effects model (see :func:`netevidence.pooling.pool`).

    ``method: bayes`` makes the Bayesian model (``prior``) the analysis model; the frequentist REML fit is
    still drawn beside it. With fewer than ``bayes_below`` pooled studies the Bayesian pool is shown beside
    the frequentist one whatever the method.
    """

    measure: Literal["PLO", "PR", "PAS", "PFT", "PLN"] = "PLO"
    method: Literal["EE", "DL", "HE", "HS", "SJ", "ML", "REML", "PM", "EB", "bayes"] = "REML"
    prior: BayesPrior = BayesPrior()
    bayes_below: int = Field(default=5, ge=0)
    medians: Literal["median_of_medians", "qe", "none"] = "median_of_medians"
    proportion_model: Literal["glmm", "logit", "ft", "none"] = "glmm"
    study_ci: Literal["model", "exact"] = "model"
    medians_ci: Literal["exact", "normal"] = "exact"
    ci: Literal["z", "knha", "adhoc"] = "z"
    pi: Literal["default", "hts"] = "default"
    level: Annotated[float, Field(strict=False)] = Field(default=0.95, gt=0.5, lt=1.0)
    pool: bool = True
    min_studies: int = Field(default=2, ge=1)
    survival_variance: list[Literal["ci", "greenwood", "n_at_risk", "n"]] = Field(
        default=["ci", "greenwood", "n_at_risk"], min_length=1)
    """Variance sources allowed for landmark survival (netevidence.effects.landmark); ``n`` (the study size,
    no censoring assumed) only when listed."""
    survival_n: Literal["study", "effective"] = "study"
    """Rung (d): the study's ``n`` assuming no censoring before the landmark (``study``), or Peto's effective
    sample size ``n G(t)`` where the study reports its follow-up (``effective``; G from
    netevidence.effects.landmark.followed_share)."""


class Published(_Model):
    """How published pooled estimates (meta-analyses, reviews) are used.

    ``umbrella`` (default): shown as their own rows, never pooled. ``pool``: pooled instead of the
    primary studies they include; overlapping meta-analyses are never pooled together.
    """

    mode: Literal["umbrella", "pool"] = "umbrella"


class SurvivalCurves(_Model):
    """Model-based survival curves through reported landmarks and medians, and their summary curve."""

    endpoint: str = "os"
    model: Literal["exponential", "weibull"] = "weibull"
    group_by: Literal["modality", "study"] = "modality"
    horizon: Annotated[float, Field(strict=False)] = Field(default=60.0, gt=0)
    time_unit: Literal["months"] = "months"

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v):
        _terms((v,), vocabulary.ENDPOINTS, "endpoint")
        return v


class GradeOverride(_Model):
    """A curator's rating of one GRADE domain, with the reason the report shows beside it."""

    domain: Literal["risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias",
                    "large_effect", "dose_response", "plausible_confounding"]
    change: int = Field(ge=-2, le=2)
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _direction(self):
        upgrade = self.domain in ("large_effect", "dose_response", "plausible_confounding")
        if upgrade and self.change < 0 or not upgrade and self.change > 0:
            raise ValueError(f"{self.domain} can only rate {'up (0, 1, 2)' if upgrade else 'down (-2, -1, 0)'}")
        return self


class Grade(_Model):
    """Inputs of the GRADE proposal that the data cannot give: the decision ``threshold`` (reporting scale,
    e.g. a hazard ratio of 0.8 or a proportion of 0.2), the ``optimal_information_size`` (participants),
    the ``baseline_risk`` of the comparator (0-1, for absolute effects per 1,000) and ``overrides``."""

    threshold: Annotated[float, Field(strict=False)] | None = None
    optimal_information_size: int | None = Field(default=None, ge=1)
    baseline_risk: Annotated[float, Field(strict=False)] | None = Field(default=None, gt=0, lt=1)
    overrides: list[GradeOverride] = []


class SmallStudy(_Model):
    """Funnel plots and tests for small-study effects (Egger's test). The Cochrane Handbook (section
    13.3.5.4) advises against them with fewer than 10 studies: below ``min_k`` pooled studies they are not
    drawn or run, and the page says why, unless ``force`` is true (they still need 3 studies)."""

    min_k: int = Field(default=10, ge=3)
    force: bool = False


FOREST_SORTS = ("year", "effect", "weight", "label")
FOREST_COLUMNS = ("year", "design", "risk_of_bias")


class Forest(_Model):
    """How the forest plots of an analysis are drawn (``forest:`` in a specification; docs/analyses.md).

    ``sort``: the order of the study rows within each subgroup (``year``, the default, then label;
    ``effect``, smallest first; ``weight``, heaviest first; ``label``, alphabetical). ``labels``: a study id
    to the label its rows show instead of the study's name. ``xlim`` and ``ticks``: the axis limits and
    tick marks, in the unit the axis shows (percent with ``scale: percent``). ``scale``: proportions as
    0-1 (``proportion``, the default) or as percent; strata on other scales ignore it. ``favours``: the
    two labels under the sides of the null line of a ratio plot (left, right), instead of the ones derived
    from the compared arms. ``columns``: extra text columns (``year``, ``design``, ``risk_of_bias``).
    The study intervals themselves (the measure's scale or exact Clopper-Pearson) are ``model.study_ci``.
    """

    sort: Literal["year", "effect", "weight", "label"] = "year"
    labels: dict[str, Annotated[str, StringConstraints(min_length=1)]] = {}
    xlim: list[Annotated[float, Field(strict=False)]] | None = None
    ticks: list[Annotated[float, Field(strict=False)]] | None = None
    scale: Literal["proportion", "percent"] = "proportion"
    favours: list[Annotated[str, StringConstraints(min_length=1)]] | None = None
    columns: list[Literal["year", "design", "risk_of_bias"]] = []

    @field_validator("xlim")
    @classmethod
    def _xlim(cls, v):
        if v is not None and (len(v) != 2 or not v[0] < v[1]):
            raise ValueError(f"xlim must be two numbers, the lower first (e.g. [0, 1]); got {v}")
        return v

    @field_validator("ticks")
    @classmethod
    def _ticks(cls, v, info):
        if v is None:
            return v
        if not v or any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError(f"ticks must be increasing numbers (e.g. [0, 0.5, 1]); got {v}")
        xlim = info.data.get("xlim")
        if xlim and (v[0] < xlim[0] or v[-1] > xlim[1]):
            raise ValueError(f"ticks {v} leave xlim {xlim}; keep every tick within the limits")
        return v

    @field_validator("favours")
    @classmethod
    def _favours(cls, v):
        if v is not None and len(v) != 2:
            raise ValueError(f"favours takes two labels, the left side of the null line first (e.g. "
                             f"[favours treatment, favours control]); got {len(v)}")
        return v

    @field_validator("columns")
    @classmethod
    def _columns(cls, v):
        twice = sorted({c for c in v if v.count(c) > 1})
        if twice:
            raise ValueError(f"columns lists {', '.join(twice)} more than once")
        return v

    def plot_options(self) -> dict:
        """The keyword arguments of :func:`netevidence.plots.forest_plot` that this block sets (the labels
        and the order are applied to the stratum's rows when the specification runs)."""
        return {"xlim": tuple(self.xlim) if self.xlim else None, "ticks": tuple(self.ticks) if self.ticks else None,
                "scale": self.scale, "favours": tuple(self.favours) if self.favours else None,
                "columns": tuple(self.columns)}


MODERATORS = ("year", "n", "design", "modality")


class MetaRegression(_Model):
    """A meta-regression of the pooled effect sizes on study-level ``moderators`` (metafor's
    ``rma(yi, vi, mods = ~ ...)``): ``year`` (publication year) and ``n`` (patients of the row) enter as
    numbers, ``design`` and ``modality`` as indicator variables against their first level in alphabetical
    order (R's ``factor()``). The Cochrane Handbook (section 10.11.5.1) advises against it with fewer than
    10 studies per moderator: with fewer than ``min_k_per_moderator`` pooled studies per coefficient it is
    not fitted and the page says why, unless ``force`` is true."""

    moderators: list[Literal["year", "n", "design", "modality"]] = Field(min_length=1)
    min_k_per_moderator: int = Field(default=10, ge=2)
    force: bool = False

    @field_validator("moderators")
    @classmethod
    def _distinct(cls, v):
        if len(set(v)) != len(v):
            raise ValueError(f"moderators are listed twice: {v}")
        return v


class Cumulative(_Model):
    """Cumulative meta-analysis (metafor's ``cumul(res, order = ...)``): studies added one at a time in
    order of their publication ``year``."""

    order: Literal["year"] = "year"


class Analyses(_Model):
    """Analyses run after the pooled fit of each stratum and shown on its page, named after the functions
    that compute them (metafor's names in brackets): ``egger_test`` (``regtest``), ``begg_test``
    (``ranktest``) and ``trim_and_fill`` (``trimfill``, estimator L0, side estimated) follow the
    ``small_study`` rule (k >= ``min_k`` unless forced); ``meta_regression`` (``rma(mods = ...)``) and
    ``cumulative`` (``cumul``; on by default, ``null`` switches it off)."""

    egger_test: bool = False
    begg_test: bool = False
    trim_and_fill: bool = False
    meta_regression: MetaRegression | None = None
    cumulative: Cumulative | None = Cumulative()


class KaplanMeierPlot(_Model):
    """How the reconstructed Kaplan-Meier curves (``plots: [km]``) are drawn, with lifelines' option names:
    the numbers-at-risk table under the time axis (``at_risk_counts``), ``+`` marks at censoring times
    (``show_censors``), the pointwise confidence band (``ci_show``), the digitised points under the curves
    (``show_points``) and the time-axis ticks, which are also the table's columns (``xticks``, in the
    curves' time unit; chosen from the follow-up when not given)."""

    at_risk_counts: bool = True
    show_censors: bool = True
    ci_show: bool = True
    show_points: bool = True
    xticks: list[Annotated[float, Field(strict=False, ge=0)]] | None = Field(default=None, min_length=2)


class AnalysisSpec(_Model):
    """One analysis specification (one YAML file in ``analyses/``)."""

    id: Slug
    title: str = Field(min_length=1)
    description: str = ""
    select: Selection
    stratify: list[Literal["modality", "design", "data_cut", "endpoint", "qualifier", "subgroup", "time",
                           "statistic", "arm"]] = []
    subgroup: Literal["modality", "design", "data_cut", "endpoint", "qualifier", "subgroup", "time",
                      "statistic", "arm"] | None = None
    data_cut: Literal["latest", "all"] = "latest"
    overlap: Literal["largest", "latest"] = "largest"
    model: Model = Model()
    published: Published = Published()
    sensitivity: list[Literal["leave_one_out", "verified_only", "primary_sources_only",
                              "exclude_high_risk_of_bias"]] = []
    estimators: list[Literal["EE", "DL", "HE", "HS", "SJ", "ML", "REML", "PM", "EB"]] = []
    plots: list[Literal["forest", "funnel", "survival_curves", "km"]] = ["forest"]
    small_study: SmallStudy = SmallStudy()
    forest: Forest = Forest()
    survival_curves: SurvivalCurves | None = None
    km: KaplanMeierPlot = KaplanMeierPlot()
    analyses: Analyses = Analyses()
    summary_label: str | None = None
    grade: Grade = Grade()
    # the "What changed" page flags a pooled estimate that moved by more than this share of its previous value
    change_threshold: Annotated[float, Field(strict=False)] = Field(default=0.10, gt=0)

    @model_validator(mode="after")
    def _consistent(self):
        if self.subgroup is not None and self.subgroup in self.stratify:
            raise ValueError(f"subgroup {self.subgroup!r} is also a stratum; choose one")
        if "survival_curves" in self.plots and self.survival_curves is None:
            raise ValueError("plots lists survival_curves but survival_curves is not configured")
        return self
