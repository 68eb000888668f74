"""Reading analysis specifications from YAML (the same safe loader as the evidence records)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

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
            message = "unknown key"
        lines.append(f"{parsed.file}:{pos.line}:{pos.column}: {field}: {message}")
    return "\n".join(lines)


def load_spec(path: str | Path) -> AnalysisSpec:
    """Read and validate one specification; any problem raises ``ValueError`` naming file:line:column."""
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
    return spec


def spec_files(directory: str | Path) -> tuple[Path, ...]:
    """The specification files of a directory, sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no analyses directory {directory}")
    return tuple(sorted(p for p in directory.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file()))


def load_specs(directory: str | Path) -> tuple[AnalysisSpec, ...]:
    """Every specification in ``directory`` (sorted by file name); all problems are reported at once."""
    specs, problems = [], []
    for path in spec_files(directory):
        try:
            specs.append(load_spec(path))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("\n".join(problems))
    return tuple(specs)
