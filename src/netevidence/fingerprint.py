"""The fingerprint of the package's own code: a hash of every source module and template.

Caches of derived results (parsed records, analyses) include it in their keys, so that any change to any
source file invalidates them, with no list of modules to keep up to date.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
SOURCE_SUFFIXES = (".py", ".j2")


def source_fingerprint(root: Path = PACKAGE_ROOT, libraries: tuple[str, ...] = ()) -> str:
    """SHA-256 of every source file under ``root`` (path and bytes, in sorted order) and of the installed
    versions of ``libraries`` (read from their metadata, without importing them)."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SOURCE_SUFFIXES
                       and "__pycache__" not in p.parts):
        data = path.read_bytes()
        h.update(f"{path.relative_to(root).as_posix()} {len(data)}\n".encode())
        h.update(data)
    for name in libraries:
        h.update(f"{name} {library_version(name)}".encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def library_version(name: str) -> str:
    """The installed version of a distribution, or ``"missing"``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"
