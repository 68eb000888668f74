"""A parsed, structurally valid record with what checks need: its file positions and curve files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import pandas as pd

from .problems import Problem, field_path
from .schema import Characteristic, Curve, Outcome, Record
from .yamlsource import ParsedYaml


@dataclass(frozen=True)
class CurveData:
    """The contents of a record's digitised curve files (see :mod:`netevidence.records.curvefiles`)."""

    curve: pd.DataFrame
    at_risk: pd.DataFrame | None
    curve_file: str
    at_risk_file: str | None


@dataclass(frozen=True)
class LoadedRecord:
    """A validated record with the parsed file it came from (for positions) and its curve files."""

    record: Record
    parsed: ParsedYaml
    curves: Mapping[str, CurveData] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.parsed.file

    def line_of(self, path: tuple[object, ...]) -> int:
        return self.parsed.locate(path).line


class Reporter:
    """Collects problems of one file, locating each field path in it."""

    def __init__(self, parsed: ParsedYaml):
        self.parsed = parsed
        self.problems: list[Problem] = []

    def error(self, rule: str, path: tuple[object, ...], message: str, fix: str, *, key: bool = False) -> None:
        self._add("error", rule, path, message, fix, key)

    def warning(self, rule: str, path: tuple[object, ...], message: str, fix: str = "") -> None:
        self._add("warning", rule, path, message, fix, False)

    def _add(self, severity, rule, path, message, fix, key) -> None:
        pos = self.parsed.locate(path, key=key)
        self.problems.append(
            Problem(severity, rule, message, self.parsed.file, pos.line, pos.column, field_path(path), fix)
        )


def effective_data_cut(record: Record, outcome: Outcome | Characteristic | Curve) -> str | None:
    """The data cut an outcome belongs to: its own, or the record's only one."""
    if outcome.data_cut is not None:
        return outcome.data_cut
    return record.data_cuts[0].id if len(record.data_cuts) == 1 else None


def effective_aggregation(record: Record, outcome: Outcome | Characteristic) -> str:
    kind = outcome.statistic.kind
    if kind == "median_of_studies":
        return "median_of_studies"
    if kind == "range":
        return "range_of_studies"
    agg = getattr(outcome, "aggregation", None)
    return agg.type if agg is not None else record.aggregation
