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
SENSITIVITY = ("leave_one_out", "verified_only", "primary_sources_only")


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


class Model(_Model):
    """The effect measure and the random-effects model (see :func:`netevidence.pooling.pool`)."""

    measure: Literal["PLO", "PR", "PAS", "PFT", "PLN"] = "PLO"
    method: Literal["EE", "DL", "HE", "HS", "SJ", "ML", "REML", "PM", "EB"] = "REML"
    ci: Literal["z", "knha", "adhoc"] = "z"
    pi: Literal["default", "hts"] = "default"
    level: Annotated[float, Field(strict=False)] = Field(default=0.95, gt=0.5, lt=1.0)
    pool: bool = True
    min_studies: int = Field(default=2, ge=1)


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
    sensitivity: list[Literal["leave_one_out", "verified_only", "primary_sources_only"]] = []
    estimators: list[Literal["EE", "DL", "HE", "HS", "SJ", "ML", "REML", "PM", "EB"]] = []
    plots: list[Literal["forest", "funnel", "survival_curves", "km"]] = ["forest"]
    survival_curves: SurvivalCurves | None = None
    summary_label: str | None = None

    @model_validator(mode="after")
    def _consistent(self):
        if self.subgroup is not None and self.subgroup in self.stratify:
            raise ValueError(f"subgroup {self.subgroup!r} is also a stratum; choose one")
        if "survival_curves" in self.plots and self.survival_curves is None:
            raise ValueError("plots lists survival_curves but survival_curves is not configured")
        return self
