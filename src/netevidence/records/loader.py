"""Reading an evidence directory: parse every file, validate it, and collect every problem at once.

An evidence directory holds one YAML file per study or publication group (``*.yaml`` or ``*.yml``),
optionally ``sources.yaml`` with citations shared by several records and ``search.yaml``, the search and
screening log (:mod:`netevidence.records.searchlog`). Files are only ever read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

from .checks import check_collection, check_record
from .cache import CachedRecord, RecordCache, file_digest
from .curves import load_curves
from .loaded import LoadedRecord
from .overlap import check_overlaps
from .problems import Problem, cap_warnings
from .schema import Citation, Record, SearchLog, SharedSources
from .searchlog import SEARCH_LOG_FILE, check_search_log
from .structure import validate_structure
from .yamlsource import YamlError, parse_yaml_file

SHARED_SOURCES_FILE = "sources.yaml"


@dataclass(frozen=True)
class ValidationReport:
    """Everything found in an evidence directory: the valid records and every problem."""

    root: str
    files: tuple[str, ...]
    records: tuple[LoadedRecord, ...]
    shared_sources: Mapping[str, Citation] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    search_log: SearchLog | None = None

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors


def evidence_files(path: str | Path) -> tuple[Path, Path | None]:
    """The record files under ``path`` (a directory or one file) and the shared sources file, if any."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        shared = path / SHARED_SOURCES_FILE
    elif path.is_file():
        files = [path]
        shared = path.parent / SHARED_SOURCES_FILE
    else:
        raise FileNotFoundError(f"{path}: no such file or directory")
    shared_path = shared if shared.is_file() else None
    return tuple(p for p in files if p.name not in (SHARED_SOURCES_FILE, SEARCH_LOG_FILE)), shared_path


def search_log_file(path: str | Path) -> Path | None:
    """The search log of an evidence directory (``search.yaml``), if there is one."""
    path = Path(path)
    log = path / SEARCH_LOG_FILE if path.is_dir() else None
    return log if log is not None and log.is_file() else None


def validate_evidence(path: str | Path, *, progress: Callable[[Iterable, int], Iterable] | None = None,
                      cache: RecordCache | None = None) -> ValidationReport:
    """Parse and validate every record under ``path``; never raises for bad content.

    ``progress``, when given, wraps the iteration over the record files (called with the files and their
    number), e.g. to show a progress bar; the result does not depend on it. ``cache``, when given, supplies
    the unchanged record files parsed and checked by an earlier run (and is updated); the result is the same
    as without it."""
    record_paths, shared_path = evidence_files(path)
    problems: list[Problem] = []
    shared: dict[str, Citation] = {}
    shared_bytes = b""
    if shared_path is not None:
        try:
            shared_bytes = shared_path.read_bytes()
        except OSError:
            shared_bytes = b"unreadable"
        model, _ = _read_model(shared_path, SharedSources, problems)
        if model is not None:
            shared = dict(model.sources)

    loaded: list[LoadedRecord] = []
    root = Path(path).resolve() if Path(path).is_dir() else None
    for file in (progress(record_paths, len(record_paths)) if progress is not None else record_paths):
        if root is not None and not file.resolve().is_relative_to(root):
            problems.append(Problem("error", "unreadable", "the file is a link that resolves outside the evidence "
                                    "directory", str(file), 1, 1,
                                    fix="copy the record into the evidence directory instead of linking to it"))
            continue
        if cache is not None:
            try:
                data = file.read_bytes()
            except OSError:
                data = None
            key = cache.key(file, data, shared_bytes) if data is not None else None
            hit = cache.get(key) if key is not None else None
            if hit is not None:
                problems.extend(hit.problems)
                loaded.append(hit.record)
                continue
        record, found = _load_record(file, shared)
        problems.extend(found)
        if record is not None:
            loaded.append(record)
            if cache is not None and key is not None:
                cache.put(key, CachedRecord(record, tuple(found), curve_digests(record)))
    problems.extend(check_collection(loaded))
    problems.extend(check_overlaps(loaded, shared))
    search_log: SearchLog | None = None
    log_path = search_log_file(path)
    if log_path is not None:
        search_log, log_parsed = _read_model(log_path, SearchLog, problems)
        if search_log is not None:
            problems.extend(check_search_log(search_log, log_parsed, loaded))
    if not record_paths:
        problems.append(Problem("error", "no-records", "no evidence files (*.yaml) found", str(path),
                                fix="point to the evidence directory or a record file"))
    if cache is not None:
        cache.save()
    return ValidationReport(
        root=str(path),
        files=tuple(str(p) for p in record_paths) + ((str(shared_path),) if shared_path else ())
        + ((str(log_path),) if log_path else ()),
        records=tuple(loaded),
        shared_sources=MappingProxyType(shared),
        problems=tuple(cap_warnings(problems)),
        search_log=search_log,
    )


def _load_record(file: Path, shared: Mapping[str, Citation]) -> tuple[LoadedRecord | None, list[Problem]]:
    """Parse, validate and check one record file on its own (with its curve files): the loaded record, or
    None, and the problems found."""
    try:
        parsed = parse_yaml_file(file)
    except YamlError as exc:
        return None, list(exc.problems)
    model, problems = validate_structure(parsed, Record)
    problems = list(problems)
    if not isinstance(model, Record):
        return None, problems
    record = LoadedRecord(model, parsed)
    problems.extend(check_record(record, shared))
    curves, found = load_curves(record)
    problems.extend(found)
    return replace(record, curves=curves), problems


def curve_digests(loaded: LoadedRecord) -> tuple[tuple[str, str], ...]:
    """Every curve file a record names (resolved path, and SHA-256 or ``"missing"``): what its checks read."""
    base = Path(loaded.file).parent
    out = []
    for curve in loaded.record.curves:
        for name in (curve.file, curve.at_risk):
            if name is not None:
                path = (base / name).resolve()
                out.append((str(path), file_digest(path) or "missing"))
    return tuple(out)


def _read_model(path: Path, model_type, problems: list[Problem]):
    """Parse one YAML file and validate it as ``model_type``: (model, parsed), or (None, parsed or None)
    with every problem appended to ``problems``."""
    try:
        parsed = parse_yaml_file(path)
    except YamlError as exc:
        problems.extend(exc.problems)
        return None, None
    model, found = validate_structure(parsed, model_type)
    problems.extend(found)
    return (model if isinstance(model, model_type) else None), parsed


def records_of(report: ValidationReport) -> tuple[Record, ...]:
    return tuple(r.record for r in report.records)
