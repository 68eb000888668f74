"""Output directories that can never cost the user an input file or a half-written site.

``atomic_directory(target, protect=...)`` is the one way netevidence writes a directory:

- **Inputs are protected.** A target that is, contains or lies inside a protected path (the evidence
  directory, the analyses directory) is refused before anything is written, and so is an existing,
  non-empty directory that netevidence did not write (it carries no :data:`MARKER` file).
- **One build at a time.** An exclusive lock on ``.<name>.lock`` beside the target refuses a second
  build into the same directory; the lock dies with its process, so a killed build never blocks the
  next one.
- **The swap is atomic at every instant.** The new tree is written into a staging folder beside the
  target and exchanged with it in one ``renameat2(RENAME_EXCHANGE)`` call (Linux), so the target path
  always holds the previous or the new tree. Where the file system cannot exchange, the fallback is two
  renames, and a build killed between them is repaired by the next run (the previous tree is put back).
- **Nothing is left behind.** Staging folders of killed builds (``.<name>.new-*``, ``.<name>.old-*``)
  are removed by the next run, under the lock.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

MARKER = ".netevidence-output"
_MARKER_TEXT = "This directory is written by netevidence and replaced on every build.\n"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(Exception):
    """An output location that cannot be used safely; the message says why and what to do."""


def _resolved(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def refuse_inputs(target: str | Path, protect: Iterable[str | Path] = (), *, what: str = "output directory") -> Path:
    """Refuse a path to write that is, contains or (for a directory input) lies inside a protected input.

    Returns the resolved target (symbolic links followed, so a link cannot smuggle a write into an input).
    """
    shown = Path(target)
    real = _resolved(target)
    example = " (e.g. reports/site)" if what == "output directory" else ""
    for item in protect:
        p = _resolved(item)
        if real == p:
            raise OutputError(f"the {what} {shown} is the input {item}; writing there would delete it. "
                              f"Fix: choose another location{example}.")
        if _inside(p, real):
            raise OutputError(f"the {what} {shown} contains the input {item}; replacing it would delete "
                              "that input. Fix: choose a location outside it.")
        if p.is_dir() and _inside(real, p):
            raise OutputError(f"the {what} {shown} lies inside the input directory {item}; netevidence "
                              f"never writes into its inputs. Fix: choose a location outside it{example}.")
    return real


def check_target(target: str | Path, protect: Iterable[str | Path] = ()) -> Path:
    """Refuse an output directory that would overwrite, delete or write into an input
    (:func:`refuse_inputs`), or replace a directory netevidence did not write: an existing target must
    hold :data:`MARKER` or be empty. Returns the resolved target."""
    shown = Path(target)
    real = refuse_inputs(target, protect)
    if real.exists() or real.is_symlink():
        if not real.is_dir():
            raise OutputError(f"{shown} exists and is not a directory. Fix: choose another output "
                              "directory or remove the file.")
        if not (real / MARKER).is_file() and any(real.iterdir()):
            raise OutputError(f"{shown} exists and was not written by netevidence (it has no {MARKER} "
                              "file); it would be replaced. Fix: choose a new or empty directory, or move "
                              "its contents away.")
    return real


@contextlib.contextmanager
def output_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock for building ``target``; refuse if another build holds it."""
    import fcntl

    lock_path = target.parent / f".{target.name}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise OutputError(f"another netevidence build is writing {target} (it holds {lock_path}). "
                                  "Fix: wait for it to finish, or write to another directory.") from None
            raise
        yield
    finally:
        os.close(fd)


def _stale(target: Path) -> list[Path]:
    prefixes = (f".{target.name}.new-", f".{target.name}.old-")
    return sorted(p for p in target.parent.iterdir() if p.name.startswith(prefixes) and p.is_dir())


def recover(target: Path) -> None:
    """Repair what a killed build left: put a retired tree back if the target is missing (the fallback
    swap was cut between its two renames), then remove every staging folder. Call under the lock."""
    stale = _stale(target)
    if not target.exists():
        retired = [p for p in stale if p.name.startswith(f".{target.name}.old-") and (p / MARKER).is_file()]
        if retired:
            newest = max(retired, key=lambda p: p.stat().st_mtime)
            os.rename(newest, target)
            stale.remove(newest)
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)


def _libc():
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name else None


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with ``renameat2(RENAME_EXCHANGE)``; False where that is unsupported."""
    libc = _libc()
    fn = getattr(libc, "renameat2", None) if libc is not None else None
    if fn is None:
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _swap(staging: Path, target: Path) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    if exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous tree
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rmdir(retired)
    os.rename(target, retired)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(target: str | Path, *, protect: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a fresh staging directory; when the block succeeds it replaces ``target`` atomically.

    See the module docstring for what is checked and guaranteed. If the block raises, the staging
    directory is removed and ``target`` is left as it was. Raises :class:`OutputError` for an unsafe
    target or a concurrent build.
    """
    shown = Path(target)
    real = check_target(target, protect)
    real.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(real):
        recover(real)
        check_target(shown, protect)
        staging = Path(tempfile.mkdtemp(prefix=f".{real.name}.new-", dir=real.parent))
        try:
            (staging / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
            yield staging
            os.chmod(staging, 0o755)
            _swap(staging, real)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula (it starts with ``= + - @``, a tab or a carriage
    return) gets a leading apostrophe, as OWASP's CSV-injection guidance recommends; other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(frame, path: str | Path) -> None:
    """Write a pandas DataFrame as CSV for people and programs alike: numbers unquoted (so they stay
    numbers), every text cell quoted (so embedded line breaks, including a bare carriage return, stay in
    their cell) and neutralised with :func:`spreadsheet_safe`."""
    import csv

    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or str(safe[column].dtype) in ("string", "str"):
            safe[column] = safe[column].map(spreadsheet_safe, na_action="ignore")
    safe.to_csv(path, index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)


@contextlib.contextmanager
def atomic_file(target: str | Path, *, protect: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is renamed over ``target``.

    A target that is one of the ``protect`` paths, or lies inside a protected directory, is refused.
    """
    target = Path(target)
    real = refuse_inputs(target, protect, what="output file")
    if real.is_dir():
        raise OutputError(f"{target} is a directory. Fix: give a file name for the output.")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    staging = Path(name)
    try:
        yield staging
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    os.chmod(staging, 0o644)
    os.replace(staging, target)
