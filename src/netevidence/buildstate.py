"""Whether a built site is up to date: nothing it was built from has changed, and it is intact.

After a build, the state of the site is kept in the cache directory: the SHA-256 of everything the build
read (every file under the evidence directory, every specification, the package's code and the versions of
the libraries it uses, the earlier build it was compared with, the fixed build time if one was set) and the
SHA-256 of every file the site holds. A later build with the same inputs, of a site whose every file still
matches, would write the same bytes, so it leaves the site as it is. Anything else (a changed or added
input, a missing, extra or altered file in the site, an unreadable state) is a full build. The check reads
files and hashes them; it imports nothing heavy, so it takes a fraction of a second at 1,000 records.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from . import __version__
from .fingerprint import source_fingerprint

STATE_PREFIX = "site-"
LIBRARIES = ("plotnine", "matplotlib", "numpy", "pandas", "scipy", "jinja2", "pydantic", "pyyaml")


def _tree_digest(h, root: Path, label: str) -> None:
    """Add every file under ``root`` (relative path, size and bytes; hidden files and folders included)."""
    h.update(f"{label}\n".encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        h.update(f"{path.relative_to(root).as_posix()} {len(data)}\n".encode())
        h.update(data)


def site_inputs(evidence: str | Path, analyses: str | Path, previous: str | Path | None,
                build_time: str | None) -> str | None:
    """SHA-256 of everything a build reads; None when it cannot be told (the evidence is not a directory, or
    a file cannot be read), in which case the site is always rebuilt."""
    evidence, analyses = Path(evidence), Path(analyses)
    if not evidence.is_dir() or not analyses.is_dir():
        return None
    h = hashlib.sha256()
    try:
        h.update(f"netevidence {__version__}\n{source_fingerprint(libraries=LIBRARIES)}\n".encode())
        h.update(f"build time {build_time}\n".encode())
        _tree_digest(h, evidence, "evidence")
        _tree_digest(h, analyses, "analyses")
        if previous is None:
            h.update(b"previous: the site being replaced\n")
        else:
            p = Path(previous)
            _tree_digest(h, p, "previous") if p.is_dir() else h.update(b"previous file\n" + p.read_bytes())
    except OSError:
        return None
    return h.hexdigest()


def _site_files(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


class BuildState:
    """The state of the site ``out`` kept in ``cache``, for the build whose inputs hash to ``inputs``."""

    def __init__(self, cache: str | Path, out: str | Path, inputs: str | None):
        self.out = Path(out)
        self.inputs = inputs
        key = hashlib.sha256(str(self.out.resolve()).encode()).hexdigest()[:16]
        self.file = Path(cache) / f"{STATE_PREFIX}{key}.json"

    def is_current(self) -> bool:
        """Whether the last build of ``out`` had these inputs and every file of the site is as it wrote it."""
        if self.inputs is None or not self.out.is_dir():
            return False
        try:
            state = json.loads(self.file.read_text(encoding="utf-8"))
            if not isinstance(state, dict) or state.get("inputs") != self.inputs:
                return False
            return state.get("files") == _site_files(self.out)
        except (OSError, ValueError):
            return False

    def remember(self) -> None:
        """Keep the state of the site just built (atomically); a failure only costs the next check."""
        if self.inputs is None:
            return
        try:
            payload = json.dumps({"out": str(self.out.resolve()), "inputs": self.inputs,
                                  "files": _site_files(self.out)}, sort_keys=True)
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".site-", dir=self.file.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(payload)
            os.replace(tmp, self.file)
        except OSError:
            pass

    def forget(self) -> None:
        try:
            self.file.unlink()
        except OSError:
            pass

