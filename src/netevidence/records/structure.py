"""Structural validation: schema errors turned into located, readable problems.

pydantic checks a parsed record against :mod:`netevidence.records.schema`; this module maps each of
its errors to the line and column of the offending key or value, names the field path as the curator
wrote it, and says how to fix it (with a did-you-mean for misspelt keys and vocabulary terms).
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from .problems import Problem, field_path
from .vocabulary import did_you_mean
from .yamlsource import ParsedYaml

_TYPE_WORDS = {
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "string_type": "text",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping of fields",
    "model_type": "a mapping of fields",
    "model_attributes_type": "a mapping of fields",
    "date_type": "a date (YYYY-MM-DD)",
    "literal_error": "one of the listed terms",
}


def validate_structure(parsed: ParsedYaml, model: type[BaseModel]) -> tuple[BaseModel | None, list[Problem]]:
    """Validate ``parsed.data`` against ``model``; return the instance (or None) and the problems."""
    try:
        return model.model_validate(parsed.data), []
    except ValidationError as exc:
        merged: dict[tuple[object, ...], list[dict[str, Any]]] = {}
        for error in exc.errors(include_url=False):
            loc = _data_path(parsed.data, error["loc"], error["type"])
            merged.setdefault((loc, error["type"] == "extra_forbidden"), []).append(error)
        problems = [
            _problem(parsed, model, loc, errors) for (loc, _), errors in merged.items()
        ]
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        return None, problems


def _data_path(data: Any, loc: tuple[Any, ...], kind: str) -> tuple[object, ...]:
    """Keep the parts of pydantic's ``loc`` that index the data (drop union member names)."""
    out: list[object] = []
    current = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(current, dict) and part in current:
            out.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            out.append(part)
            current = current[part]
        elif last and kind == "missing" and isinstance(current, dict):
            out.append(part)
        else:
            continue
    return tuple(out)


def _problem(parsed: ParsedYaml, model: type[BaseModel], loc: tuple[object, ...],
             errors: list[dict[str, Any]]) -> Problem:
    kind = errors[0]["type"]
    field = field_path(loc)
    if kind == "extra_forbidden":
        pos = parsed.locate(loc, key=True)
        allowed = _allowed_keys(model, parsed.data, loc[:-1])
        hint = did_you_mean(str(loc[-1]), allowed)
        fix = f"remove it or use one of: {', '.join(sorted(allowed))}" if allowed else "remove it"
        return Problem("error", "unknown-key", f"unknown key {loc[-1]!r}{hint}", parsed.file,
                       pos.line, pos.column, field, fix)
    if kind == "missing":
        pos = parsed.locate(loc[:-1])
        return Problem("error", "missing-field", f"required field {loc[-1]!r} is missing", parsed.file,
                       pos.line, pos.column, field, f"add '{loc[-1]}: ...'")
    pos = parsed.locate(loc)
    value = _value_at(parsed.data, loc)
    if kind in ("literal_error", "union_tag_invalid"):
        expected = errors[0].get("ctx", {}).get("expected") or errors[0].get("ctx", {}).get("expected_tags", "")
        terms = re.findall(r"'([^']*)'", expected)
        bad = errors[0].get("ctx", {}).get("tag", value)
        return Problem("error", "unknown-term", f"{bad!r} is not a known term{did_you_mean(str(bad), terms)}",
                       parsed.file, pos.line, pos.column, field,
                       f"use one of: {', '.join(terms)} (see docs/evidence-format.md)")
    if kind == "union_tag_not_found":
        return Problem("error", "missing-field", "the statistic has no 'kind'", parsed.file, pos.line,
                       pos.column, field, "add 'kind: ...' (count, proportion, hazard_ratio, ...)")
    if kind == "string_pattern_mismatch":
        pattern = errors[0].get("ctx", {}).get("pattern", "")
        if pattern.startswith("^10"):
            what, fix = "a DOI", "write the DOI as 10.xxxx/... without 'https://doi.org/', or leave it out"
        elif pattern.startswith("^PMC"):
            what, fix = "a PMC id", "write it as PMC followed by digits"
        else:
            what, fix = "an id", "use lower-case letters, digits and single '-' or '_' (e.g. netter-1)"
        return Problem("error", "bad-format", f"{value!r} is not {what}", parsed.file, pos.line,
                       pos.column, field, fix)
    if kind in ("greater_than_equal", "greater_than", "less_than", "less_than_equal", "too_short",
                "string_too_short", "string_too_long", "too_long"):
        return Problem("error", "out-of-range", f"{value!r}: {errors[0]['msg'].lower()}", parsed.file,
                       pos.line, pos.column, field, "correct the value")
    if kind == "finite_number":
        return Problem("error", "out-of-range", f"{value!r} is not a finite number", parsed.file, pos.line,
                       pos.column, field, "write a finite number (no .nan or .inf)")
    wanted = sorted({_TYPE_WORDS.get(e["type"], e["msg"].lower()) for e in errors})
    return Problem("error", "wrong-type",
                   f"expected {' or '.join(wanted)}, got {_describe(value)}",
                   parsed.file, pos.line, pos.column, field,
                   "write the value in that form (quote text, leave numbers unquoted)")


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "an empty value"
    return type(value).__name__


def _value_at(data: Any, loc: tuple[object, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _allowed_keys(model: type[BaseModel], data: Any, path: tuple[object, ...]) -> list[str]:
    """The field names accepted at ``path`` (resolving lists, mappings and the statistic union)."""
    target: Any = model
    for part in path:
        data = _value_at(data, (part,))
        target = _step(target, part, data)
        if target is None:
            return []
    target = _resolve(target, data)
    return list(target.model_fields) if isinstance(target, type) and issubclass(target, BaseModel) else []


def _step(target: Any, part: object, value: Any) -> Any:
    target = _resolve(target, value)
    if isinstance(target, type) and issubclass(target, BaseModel):
        field = target.model_fields.get(str(part))
        return field.annotation if field else None
    origin = typing.get_origin(target)
    args = typing.get_args(target)
    if origin is list and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _resolve(target: Any, value: Any) -> Any:
    """Unwrap Annotated and unions down to the member that fits ``value``."""
    while True:
        origin = typing.get_origin(target)
        if origin is typing.Annotated:
            target = typing.get_args(target)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(target) if a is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            kind = value.get("kind") if isinstance(value, dict) else None
            chosen = next((m for m in models if kind in _kinds(m)), None)
            if chosen is None and len(models) == 1:
                chosen = models[0]
            if chosen is None:
                chosen = next((m for m in members if typing.get_origin(m) in (list, dict)), members[0])
            target = chosen
            continue
        return target


def _kinds(model: type[BaseModel]) -> tuple[object, ...]:
    field = model.model_fields.get("kind")
    return typing.get_args(field.annotation) if field else ()
