"""A cache of parsed and checked record files, so that an unchanged record is not parsed again.

One entry per record file, keyed by the SHA-256 of the file's bytes, its path, the shared sources file and
the package's code (:func:`netevidence.fingerprint.source_fingerprint`). An entry holds the loaded record
(data, positions, digitised curves) and the problems found in that file alone, with the SHA-256 of each
curve file it read: it is used only when those files are unchanged too. The checks across records (ids,
overlaps, the search log) always run on the full set. The cache is one file, written atomically with its
own SHA-256 beside the contents: a damaged or unreadable cache is a miss, never a wrong record.
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from ..fingerprint import source_fingerprint
from .loaded import LoadedRecord
from .problems import Problem

CACHE_FILE = "records.pickle"
MAGIC = b"netevidence-records-1\n"


@dataclass(frozen=True)
class CachedRecord:
    """One record file's outcome: the loaded record (None when it failed), its own problems, and the
    SHA-256 of every curve file it read (path -> digest)."""

    record: LoadedRecord | None
    problems: tuple[Problem, ...]
    curve_files: tuple[tuple[str, str], ...]  # (resolved path, SHA-256 or "missing")


def read_only(data: dict) -> MappingProxyType:
    """A read-only view of ``data`` (how the positions of a parsed file are kept), rebuilt on unpickling."""
    return MappingProxyType(data)


def _reduce_proxy(proxy: MappingProxyType):
    return read_only, (dict(proxy),)


def file_digest(path: str | Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


class RecordCache:
    """The parsed-record cache in ``directory`` (created when first written)."""

    def __init__(self, directory: str | Path, code: str | None = None):
        self.directory = Path(directory)
        self.code = code if code is not None else source_fingerprint()
        self._entries = self._read()
        self._used: dict[str, CachedRecord] = {}

    def __len__(self) -> int:
        """How many entries the cache held when it was opened."""
        return len(self._entries)

    def stored_keys(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def key(self, file: Path, data: bytes, shared: bytes) -> str:
        h = hashlib.sha256()
        for part in (self.code.encode(), str(file).encode(), hashlib.sha256(shared).digest(), data):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        return h.hexdigest()

    def get(self, key: str) -> CachedRecord | None:
        entry = self._entries.get(key)
        if not isinstance(entry, CachedRecord):
            return None
        if any((file_digest(path) or "missing") != digest for path, digest in entry.curve_files):
            return None
        self._used[key] = entry
        return entry

    def put(self, key: str, entry: CachedRecord) -> None:
        self._used[key] = entry

    def _read(self) -> dict[str, CachedRecord]:
        try:
            raw = (self.directory / CACHE_FILE).read_bytes()
        except OSError:
            return {}
        head = len(MAGIC) + 64
        if not raw.startswith(MAGIC) or hashlib.sha256(raw[head:]).hexdigest().encode() != raw[len(MAGIC):head]:
            return {}
        try:
            entries = pickle.loads(raw[head:])
        except Exception:  # noqa: BLE001 - a cache written by other code is only a miss
            return {}
        return entries if isinstance(entries, dict) else {}

    def save(self) -> None:
        """Write the entries used in this run (so that entries of removed or changed files go), atomically;
        a failure to write only costs the cache."""
        if self._used.keys() == self._entries.keys():
            return
        try:
            buffer = io.BytesIO()
            pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = {**copyreg.dispatch_table, MappingProxyType: _reduce_proxy}
            pickler.dump(self._used)
            payload = buffer.getvalue()
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".records-", dir=self.directory)
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + hashlib.sha256(payload).hexdigest().encode() + payload)
            os.replace(tmp, self.directory / CACHE_FILE)
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            try:
                os.unlink(tmp)
            except (OSError, NameError):
                pass
