"""Records' digitised curve files: safe paths, existence, and contents consistent with the record."""

from __future__ import annotations

from pathlib import Path

from .curvefiles import check_curve_points, read_at_risk_csv, read_curve_csv
from .loaded import CurveData, LoadedRecord, Reporter
from .problems import Problem
from .references import check_provenance, unknown


def load_curves(loaded: LoadedRecord) -> tuple[dict[str, CurveData], list[Problem]]:
    """Read the curve files a record points to; every unreadable or inconsistent file is a problem."""
    record, report = loaded.record, Reporter(loaded.parsed)
    base = Path(loaded.file).parent
    curves: dict[str, CurveData] = {}
    for i, curve in enumerate(record.curves):
        path = ("curves", i)
        files = [("file", curve.file), ("at_risk", curve.at_risk)]
        if any(name is not None and _unsafe_path(name) for _, name in files):
            continue  # already reported by check_record
        escaped = [name for _, name in files if name is not None and not _inside(base / name, base)]
        if escaped:
            report.error("curve-file", path,
                         f"{escaped[0]} resolves outside the evidence directory (through a symbolic link)",
                         "copy the CSV into the evidence directory instead of linking to it")
            continue
        missing = [name for _, name in files if name is not None and not (base / name).is_file()]
        if missing:
            report.error("curve-file", path, f"the file {base / missing[0]} does not exist",
                         "put the CSV under the evidence directory (e.g. curves/) and give its relative path")
            continue
        try:
            points = read_curve_csv(base / curve.file)
            check_curve_points(points, base / curve.file)
            at_risk = read_at_risk_csv(base / curve.at_risk) if curve.at_risk else None
        except ValueError as exc:
            report.error("curve-file", path, str(exc), "correct the CSV at that line")
            continue
        if at_risk is not None:
            first = at_risk.iloc[0]
            if first["time"] == 0 and int(first["n_at_risk"]) != curve.n:
                report.error("curve-file", path + ("n",),
                             f"n is {curve.n} but {curve.at_risk}:{at_risk.index[0]} has {int(first['n_at_risk'])} at risk at time 0",
                             "make n equal to the number at risk at time 0")
                continue
            if int(at_risk["n_at_risk"].max()) > curve.n:
                report.error("curve-file", path + ("n",), f"the at-risk table exceeds n ({curve.n})",
                             "check n and the at-risk table")
                continue
        if curve.total_events is not None and curve.total_events > curve.n:
            report.error("events-exceed-n", path + ("total_events",),
                         f"total_events ({curve.total_events}) exceed n ({curve.n})", "check both numbers")
            continue
        curves[curve.id] = CurveData(points, at_risk, str(base / curve.file),
                                     str(base / curve.at_risk) if curve.at_risk else None)
    return curves, report.problems


def _inside(path: Path, base: Path) -> bool:
    """Whether ``path``, with every symbolic link resolved, lies inside ``base``."""
    return path.resolve().is_relative_to(base.resolve())


def _unsafe_path(name: str) -> bool:
    path = Path(name)
    return path.is_absolute() or ".." in path.parts or path.suffix.lower() != ".csv"


def check_curve_reference(report: Reporter, path, curve, sources: set[str], arms: set[str],
                           cuts: set[str]) -> None:
    check_provenance(report, path, curve.provenance, sources)
    if curve.arm is not None and curve.arm not in arms:
        unknown(report, path + ("arm",), "arm", curve.arm, arms)
    if curve.data_cut is not None and curve.data_cut not in cuts:
        unknown(report, path + ("data_cut",), "data cut", curve.data_cut, cuts)
    if curve.data_cut is None and len(cuts) > 1:
        report.error("missing-data-cut", path, "the record has several data cuts and this curve names none",
                     f"add 'data_cut: ...' with one of: {', '.join(sorted(cuts))}")
    for name in ("file", "at_risk"):
        value = getattr(curve, name)
        if value is not None and _unsafe_path(value):
            report.error("curve-file", path + (name,),
                         f"{value!r} must be a relative path to a .csv file inside the evidence directory",
                         "write e.g. curves/<record-id>-<endpoint>-<arm>.csv")
