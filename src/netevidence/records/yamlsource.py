"""Safe YAML parsing that remembers where every value came from.

Records are parsed with PyYAML's safe loader only: no Python tags, no custom tags and no aliases
(an alias can multiply a small file into an enormous document). Every mapping key and value keeps its
1-based line and column so that a validation error can point at ``file:line:column``.
Malformed input never raises anything but :class:`YamlError`, whose ``problem`` is a one-line
:class:`~netevidence.records.problems.Problem`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .problems import Problem

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 40

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}

Path_ = tuple[object, ...]


@dataclass(frozen=True)
class Position:
    """Where a value starts (``line``, ``column``) and, for a mapping entry, where its key starts."""

    line: int
    column: int
    key_line: int | None = None
    key_column: int | None = None


@dataclass(frozen=True)
class ParsedYaml:
    """A parsed document: plain Python data plus the position of every value, keyed by its path."""

    file: str
    data: Any
    positions: Mapping[Path_, Position]

    def locate(self, path: Path_, *, key: bool = False) -> Position:
        """The position of ``path``, or of its nearest ancestor that exists in the file."""
        probe = tuple(path)
        while probe and probe not in self.positions:
            probe = probe[:-1]
        pos = self.positions.get(probe, Position(1, 1))
        if key and probe == tuple(path) and pos.key_line is not None:
            return Position(pos.key_line, pos.key_column or 1)
        return pos


class YamlError(Exception):
    """A file that is not a well-formed, safe YAML mapping."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(problem.format())


def _fail(file: str, message: str, fix: str, line: int | None = None, column: int | None = None,
          rule: str = "yaml-syntax") -> YamlError:
    return YamlError(Problem("error", rule, message, file, line, column, "", fix))


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases instead of expanding them."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in evidence files", event.start_mark
            )
        return super().compose_node(parent, index)


def _decode(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _fail(
            file,
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            "save the file as UTF-8",
            line,
            column,
            rule="encoding",
        ) from None


def _syntax_message(exc: yaml.MarkedYAMLError) -> tuple[str, str]:
    problem = (exc.problem or exc.context or "invalid YAML").strip()
    if (exc.context or "").startswith("expected a single document"):
        problem = "expected a single document"
    if "'\\t'" in problem or "\\t" in problem:
        return ("a tab character is used where YAML needs spaces",
                "indent with spaces only (replace every tab with spaces)")
    if "aliases" in problem:
        return problem, "write the values out in full instead of using &anchor / *alias"
    if problem.startswith("expected a single document"):
        return ("the file holds more than one YAML document",
                "keep one record per file (remove the extra '---' separator)")
    if "mapping values are not allowed" in problem:
        return (problem, "check the indentation of this line and quote values that contain ': '")
    if "could not find expected ':'" in problem or "expected <block end>" in problem:
        return problem, "check the indentation: keys of one mapping must start in the same column"
    return problem, "correct the YAML syntax at this position"


def parse_yaml_text(text: str, file: str) -> ParsedYaml:
    """Parse ``text`` (the content of ``file``) into data and positions, or raise :class:`YamlError`."""
    try:
        loader = _NoAliasLoader(text)
    except yaml.YAMLError as exc:
        raise _reader_error(exc, text, file) from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            message, fix = _syntax_message(exc)
            line = mark.line + 1 if mark else None
            column = mark.column + 1 if mark else None
            rule = "yaml-alias" if "aliases" in message else "yaml-syntax"
            raise _fail(file, message, fix, line, column, rule) from None
        except yaml.YAMLError as exc:
            raise _reader_error(exc, text, file) from None
        if root is None:
            raise _fail(file, "the file is empty", "write a record mapping (see docs/evidence-format.md)",
                        1, 1, rule="empty-file")
        positions: dict[Path_, Position] = {}
        data = _convert(root, (), loader, file, positions, depth=0)
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise _fail(file, f"the top level is a {type(data).__name__}, not a mapping of fields",
                    "start the file with 'id: ...' and the other record fields", 1, 1,
                    rule="not-a-mapping")
    return ParsedYaml(file, data, MappingProxyType(positions))


def _reader_error(exc: yaml.YAMLError, text: str, file: str) -> YamlError:
    """Errors of PyYAML's reader (control characters) carry a character offset, not a mark."""
    position = getattr(exc, "position", None)
    character = getattr(exc, "character", None)
    if isinstance(character, int):
        message = f"the control character U+{character:04X} is not allowed in YAML"
    else:
        message = str(exc).splitlines()[0] if str(exc) else "unreadable YAML"
    line = column = None
    if isinstance(position, int):
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
    return _fail(file, message, "remove the character", line, column)


def parse_yaml_file(path: Path, *, display: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> ParsedYaml:
    """Read and parse one file; see :func:`parse_yaml_text`. The file is opened read-only."""
    file = display or str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _fail(file, f"the file is {size:,} bytes; an evidence file may hold at most {max_bytes:,}",
                        "split the record into several files", 1, 1, rule="file-too-large")
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(file, f"cannot read the file: {exc.strerror or exc}", "check the path and permissions",
                    rule="unreadable") from None
    return parse_yaml_text(_decode(raw, file), file)


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _convert(node: Node, path: Path_, loader: yaml.SafeLoader, file: str,
             positions: dict[Path_, Position], depth: int) -> Any:
    if depth > MAX_DEPTH:
        line, column = _mark(node)
        raise _fail(file, f"nesting deeper than {MAX_DEPTH} levels", "flatten the structure", line, column)
    line, column = _mark(node)
    if path not in positions:
        positions[path] = Position(line, column)
    tag = node.tag or ""
    if isinstance(node, ScalarNode):
        if tag not in _SCALAR_TAGS:
            raise _fail(file, f"the tag {_short_tag(tag)} is not allowed in evidence files",
                        "remove the tag; write a plain value", line, column, rule="yaml-tag")
        return loader.construct_object(node, deep=True)
    if isinstance(node, SequenceNode):
        if tag != _TAG + "seq":
            raise _fail(file, f"the tag {_short_tag(tag)} is not allowed in evidence files",
                        "remove the tag; write a plain list of values", line, column, rule="yaml-tag")
        return [
            _convert(item, path + (i,), loader, file, positions, depth + 1)
            for i, item in enumerate(node.value)
        ]
    if isinstance(node, MappingNode):
        if tag != _TAG + "map":
            raise _fail(file, f"the tag {_short_tag(tag)} is not allowed in evidence files",
                        "remove the tag; write a plain mapping", line, column, rule="yaml-tag")
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            kline, kcol = _mark(key_node)
            if not isinstance(key_node, ScalarNode) or key_node.tag != _TAG + "str":
                if isinstance(key_node, ScalarNode) and key_node.tag == _TAG + "merge":
                    raise _fail(file, "merge keys (<<) are not allowed in evidence files",
                                "write the fields out in full", kline, kcol, rule="yaml-alias")
                raise _fail(file, f"a key must be a plain word, not {_describe(key_node)}",
                            "use a field name such as 'endpoint' as the key", kline, kcol,
                            rule="yaml-key")
            key = key_node.value
            if key in out:
                first = positions[path + (key,)]
                raise _fail(file, f"the key {key!r} appears twice in one mapping (first at line {first.key_line})",
                            "remove or rename one of them", kline, kcol, rule="duplicate-key")
            vline, vcol = _mark(value_node)
            positions[path + (key,)] = Position(vline, vcol, kline, kcol)
            out[key] = _convert(value_node, path + (key,), loader, file, positions, depth + 1)
        return out
    raise _fail(file, "unsupported YAML node", "write plain mappings, lists and values", line, column)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


def _describe(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return f"the value {node.value!r} of type {_short_tag(node.tag)}"
    return "a list" if isinstance(node, SequenceNode) else "a mapping"
