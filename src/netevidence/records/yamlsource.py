"""Safe YAML parsing that remembers where every value came from.

Records are parsed with PyYAML's safe loader only: no Python tags, no custom tags and no aliases
(an alias can multiply a small file into an enormous document). Every mapping key and value keeps its
1-based line and column so that a validation error can point at ``file:line:column``.
Malformed input never raises anything but :class:`YamlError`, whose ``problem`` is a one-line
:class:`~netevidence.records.problems.Problem`.
"""

from __future__ import annotations

import re
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
    """A file that is not a well-formed, safe YAML mapping. ``problems`` lists every problem found in it
    (one for a syntax error, which stops the parser; every unreadable value otherwise)."""

    def __init__(self, problem: Problem | list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problem) if isinstance(problem, (list, tuple)) else (problem,)
        self.problem = self.problems[0]
        super().__init__("\n".join(p.format() for p in self.problems))


def _fail(file: str, message: str, fix: str, line: int | None = None, column: int | None = None,
          rule: str = "yaml-syntax") -> YamlError:
    return YamlError(Problem("error", rule, message, file, line, column, "", fix))


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases instead of expanding them, and nesting deeper than MAX_DEPTH
    (PyYAML's composer recurses once per level, so a deep document would exhaust Python's stack)."""

    depth = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in evidence files", event.start_mark
            )
        if self.depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nesting deeper than {MAX_DEPTH} levels", self.peek_event().start_mark
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


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
    if problem.startswith("nesting deeper"):
        return problem, "flatten the structure"
    if problem.startswith("expected a single document"):
        return ("the file holds more than one YAML document",
                "keep one record per file (remove the extra '---' separator)")
    if "mapping values are not allowed" in problem:
        return (problem, "check the indentation of this line and quote values that contain ': '")
    if "could not find expected ':'" in problem or "expected <block end>" in problem:
        return problem, "check the indentation: keys of one mapping must start in the same column"
    return problem, "correct the YAML syntax at this position"


_CLoader = getattr(yaml, "CSafeLoader", None)  # libyaml's parser and composer, where PyYAML was built with it
_STARTS = (yaml.events.MappingStartEvent, yaml.events.SequenceStartEvent)
_ENDS = (yaml.events.MappingEndEvent, yaml.events.SequenceEndEvent)


def _fast_loader(text: str):
    """A libyaml loader positioned to compose ``text``, or None when libyaml is missing or the text needs the
    pure-Python parser's error message (any syntax error, an alias, nesting deeper than MAX_DEPTH).

    libyaml composes about eight times faster and keeps every node's line and column; a first pass over its
    event stream (also in C) refuses what the pure-Python composer refuses while composing, so that the
    result and every error are the same whichever parser is used."""
    if _CLoader is None:
        return None
    try:
        scan = _CLoader(text)
        try:
            depth = 0
            while scan.check_event():
                event = scan.get_event()
                if isinstance(event, yaml.events.AliasEvent):
                    return None
                if isinstance(event, _STARTS):
                    depth += 1
                    if depth > MAX_DEPTH:
                        return None
                elif isinstance(event, _ENDS):
                    depth -= 1
        finally:
            scan.dispose()
    except yaml.YAMLError:
        return None
    return _CLoader(text)


def parse_yaml_text(text: str, file: str) -> ParsedYaml:
    """Parse ``text`` (the content of ``file``) into data and positions, or raise :class:`YamlError`."""
    loader = _fast_loader(text)
    if loader is None:
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
        problems: list[Problem] = []
        data = _convert(root, (), loader, file, positions, depth=0, problems=problems)
        if problems:
            raise YamlError(problems)
    except RecursionError:
        raise _fail(file, "the document is nested too deeply to read", "flatten the structure", 1, 1) from None
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


MAX_INTEGER = 2**53  # larger integers cannot be held exactly as the float64 numbers the tables use

_BOOL_WORDS = frozenset({"yes", "no", "on", "off", "y", "n"})
_OCTAL = re.compile(r"^[-+]?0[0-9_]+$")


def _yaml11_surprise(node: ScalarNode) -> tuple[str, str] | None:
    """A plain value that YAML 1.1 reads differently from what most people mean: (message, fix)."""
    if node.style:  # quoted or block text (plain is None in PyYAML's composer, "" in libyaml's)
        return None
    text, tag = node.value, node.tag
    if tag == _TAG + "int":
        if ":" in text:
            return (f"{text} is read as a base-60 number by YAML 1.1",
                    f'write the value in one unit (e.g. minutes as a plain number) or quote it ("{text}")')
        if _OCTAL.match(text):
            return (f"{text} is read as an octal number by YAML 1.1 (a leading zero)",
                    f"write it without the leading zero ({text.lstrip('+-0') or '0'}) or quote it")
        if text.lower().lstrip("+-").startswith(("0x", "0b")) or "_" in text:
            return (f"{text} is read as a non-decimal or grouped number by YAML 1.1",
                    "write a plain decimal number")
    if tag == _TAG + "float" and (":" in text or "_" in text):
        return (f"{text} is read as a base-60 or grouped number by YAML 1.1", "write a plain decimal number")
    if tag == _TAG + "bool" and text.lower() in _BOOL_WORDS:
        return (f"{text!r} is read as a yes/no value by YAML 1.1",
                f'write true or false, or quote it ("{text}") if it is text')
    return None


def _scalar(node: ScalarNode, loader: yaml.SafeLoader, file: str, problems: list[Problem]) -> Any:
    """Construct one scalar; an unreadable one is recorded as a problem (and None returned)."""
    line, column = _mark(node)
    tag = node.tag or ""
    if tag not in _SCALAR_TAGS:
        problems.append(_fail(file, f"the tag {_short_tag(tag)} is not allowed in evidence files",
                              "remove the tag; write a plain value", line, column, rule="yaml-tag").problem)
        return None
    surprise = _yaml11_surprise(node)
    if surprise is not None:
        problems.append(_fail(file, surprise[0], surprise[1], line, column, rule="yaml-ambiguous").problem)
        return None
    try:
        value = loader.construct_object(node, deep=True)
    except Exception as exc:  # noqa: BLE001 - every constructor failure is a problem at this value
        what = {"timestamp": "a date", "int": "a whole number", "float": "a number",
                "bool": "true or false"}.get(tag[len(_TAG):], _short_tag(tag))
        reason = _construct_reason(tag, exc)
        problems.append(_fail(file, f"{node.value!r} cannot be read as {what}" + (f" ({reason})" if reason else ""),
                              _construct_fix(tag), line, column, rule="bad-value").problem)
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        problems.append(_fail(file, f"the number {node.value} is too large (at most {MAX_INTEGER:,} in size)",
                              "check the value; write it in a larger unit if it is really this large",
                              line, column, rule="out-of-range").problem)
        return None
    return value


def _construct_reason(tag: str, exc: Exception) -> str:
    """Why a value could not be constructed, in words (not the constructor's internals)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    if tag != _TAG + "timestamp":
        return ""
    if "offset" in text:
        return "the time-zone offset must be less than 24 hours"
    if isinstance(exc, ValueError) and text:
        return text
    return "not a date of the form YYYY-MM-DD"


def _construct_fix(tag: str) -> str:
    if tag == _TAG + "timestamp":
        return "write a real calendar date as YYYY-MM-DD (times as HH:MM:SS with an offset of at most +/-23:59)"
    if tag in (_TAG + "int", _TAG + "float", _TAG + "bool"):
        return "remove the explicit tag and write a plain value of that type, or quote it as text"
    return "write a plain value"


def _convert(node: Node, path: Path_, loader: yaml.SafeLoader, file: str,
             positions: dict[Path_, Position], depth: int, problems: list[Problem]) -> Any:
    if depth > MAX_DEPTH:
        line, column = _mark(node)
        raise _fail(file, f"nesting deeper than {MAX_DEPTH} levels", "flatten the structure", line, column)
    line, column = _mark(node)
    if path not in positions:
        positions[path] = Position(line, column)
    tag = node.tag or ""
    if isinstance(node, ScalarNode):
        return _scalar(node, loader, file, problems)
    if isinstance(node, SequenceNode):
        if tag != _TAG + "seq":
            raise _fail(file, f"the tag {_short_tag(tag)} is not allowed in evidence files",
                        "remove the tag; write a plain list of values", line, column, rule="yaml-tag")
        return [
            _convert(item, path + (i,), loader, file, positions, depth + 1, problems)
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
            out[key] = _convert(value_node, path + (key,), loader, file, positions, depth + 1, problems)
        return out
    raise _fail(file, "unsupported YAML node", "write plain mappings, lists and values", line, column)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


def _describe(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return f"the value {node.value!r} of type {_short_tag(node.tag)}"
    return "a list" if isinstance(node, SequenceNode) else "a mapping"
