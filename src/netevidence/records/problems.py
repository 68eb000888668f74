"""Problems found in evidence files: what is wrong, where, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One validation error or consistency warning.

    ``rule`` is a stable short code (e.g. ``events-exceed-n``) that tests and tools can match on;
    ``field`` is the dotted path inside the record (``outcomes[3].statistic.events``); ``line`` and
    ``column`` are 1-based and refer to ``file``.
    """

    severity: Severity
    rule: str
    message: str
    file: str
    line: int | None = None
    column: int | None = None
    field: str = ""
    fix: str = ""

    @property
    def location(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def format(self) -> str:
        """One line: ``file:line:column: severity [rule] field: message. Fix: ...``."""
        where = f" {self.field}:" if self.field else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.location}: {self.severity} [{self.rule}]{where} {self.message}{fix}"

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "rule": self.rule,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
        }


class EvidenceError(Exception):
    """Raised when evidence files cannot be loaded; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        head = f"{len(errors)} error(s) in the evidence files"
        super().__init__(head + ":\n" + "\n".join(p.format() for p in errors))


def field_path(path: tuple[object, ...]) -> str:
    """Render a path tuple as ``outcomes[3].statistic.events``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


MAX_WARNINGS_PER_RULE = 20


def cap_warnings(problems: list[Problem] | tuple[Problem, ...], limit: int = MAX_WARNINGS_PER_RULE) -> list[Problem]:
    """Keep at most ``limit`` warnings of one rule per file; the rest become one warning that counts them.
    Errors are never dropped."""
    counts: dict[tuple[str, str], int] = {}
    out: list[Problem] = []
    for p in problems:
        if p.severity == "warning":
            key = (p.file, p.rule)
            counts[key] = counts.get(key, 0) + 1
            if counts[key] > limit:
                continue
        out.append(p)
    for (file, rule), n in counts.items():
        if n > limit:
            out.append(Problem("warning", rule, f"{n - limit} more [{rule}] warnings in this file are not listed",
                               file, fix="resolve the ones listed, then validate again to see the rest"))
    return out
