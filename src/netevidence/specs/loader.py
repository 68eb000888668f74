"""Reading analysis specifications from YAML (the same safe loader as the evidence records)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from pydantic import ValidationError

from ..records.vocabulary import did_you_mean
from ..records.yamlsource import YamlError, parse_yaml_file
from .schema import AnalysisSpec

SPEC_SUFFIXES = (".yaml", ".yml")


def _format_error(parsed, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        path = tuple(err.get("loc", ()))
        pos = parsed.locate(path, key=err.get("type") == "extra_forbidden")
        field = ".".join(str(p) for p in path) or "(document)"
        message = err.get("msg", "invalid value")
        if err.get("type") == "extra_forbidden":
            message = _unknown_key(path)
        lines.append(f"{parsed.file}:{pos.line}:{pos.column}: {field}: {message}")
    return "\n".join(lines)


def _unknown_key(path: tuple) -> str:
    """``unknown key`` with the closest field of the model at that place and the fields it has."""
    model: type = AnalysisSpec
    for part in path[:-1]:
        field = getattr(model, "model_fields", {}).get(part) if isinstance(part, str) else None
        annotation = getattr(field, "annotation", None)
        inner = [a for a in getattr(annotation, "__args__", (annotation,)) if hasattr(a, "model_fields")]
        if field is None and isinstance(part, int):
            continue
        if not inner:
            return "unknown key"
        model = inner[0]
    names = sorted(getattr(model, "model_fields", {}))
    key = str(path[-1]) if path else ""
    return f"unknown key{did_you_mean(key, names)}. Fix: use one of: {', '.join(names)}"


def _check_studies(parsed, spec: AnalysisSpec, known: Iterable[str]) -> list[str]:
    """Study ids in ``select.studies``, ``select.exclude_studies`` and ``forest.labels`` that no record has."""
    known = sorted(set(known))
    lines = []
    for name in ("studies", "exclude_studies"):
        for i, sid in enumerate(getattr(spec.select, name) or []):
            if sid not in known:
                pos = parsed.locate(("select", name, i))
                lines.append(f"{parsed.file}:{pos.line}:{pos.column}: select.{name}[{i}]: no study has the id "
                             f"{sid!r}{did_you_mean(sid, known)}. Fix: use the id of a record in the evidence "
                             "directory (its file name)")
    for sid in spec.forest.labels:
        if sid not in known:
            pos = parsed.locate(("forest", "labels", sid), key=True)
            lines.append(f"{parsed.file}:{pos.line}:{pos.column}: forest.labels.{sid}: no study has the id "
                         f"{sid!r}{did_you_mean(sid, known)}. Fix: key each label by the id of a record in the "
                         "evidence directory (its file name)")
    return lines


def load_spec(path: str | Path, *, studies: Iterable[str] | None = None) -> AnalysisSpec:
    """Read and validate one specification; any problem raises ``ValueError`` naming file:line:column.

    ``studies``: the ids of the records the specification will run on; a study it names in
    ``select.studies``, ``select.exclude_studies`` or ``forest.labels`` that is not among them is an error
    (with the closest id), so that a misspelt exclusion cannot silently fail to exclude and a misspelt
    label cannot silently be ignored."""
    path = Path(path)
    try:
        parsed = parse_yaml_file(path)
    except YamlError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(parsed.data, dict):
        raise ValueError(f"{path}:1:1: a specification must be a YAML mapping")
    try:
        spec = AnalysisSpec.model_validate(parsed.data)
    except ValidationError as exc:
        raise ValueError(_format_error(parsed, exc)) from None
    if spec.id != path.stem:
        pos = parsed.locate(("id",))
        raise ValueError(f"{path}:{pos.line}:{pos.column}: id: {spec.id!r} must equal the file name "
                         f"{path.stem!r}")
    if studies is not None:
        problems = _check_studies(parsed, spec, studies)
        if problems:
            raise ValueError("\n".join(problems))
    return spec


def spec_files(directory: str | Path) -> tuple[Path, ...]:
    """The specification files of a directory, sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no analyses directory {directory}")
    return tuple(sorted(p for p in directory.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file()))


def load_specs(directory: str | Path, *, studies: Iterable[str] | None = None) -> tuple[AnalysisSpec, ...]:
    """Every specification in ``directory`` (sorted by file name); all problems are reported at once."""
    specs, problems = [], []
    for path in spec_files(directory):
        try:
            specs.append(load_spec(path, studies=studies))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("\n".join(problems))
    return tuple(specs)
