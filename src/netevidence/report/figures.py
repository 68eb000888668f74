"""A content-hash cache of drawn figures: a figure whose plot did not change is copied, not drawn again.

Drawing dominates a report's build time (each forest plot is laid out, drawn and written as SVG, PNG at
300 dpi and PDF with embedded fonts), and a changed record changes only the few figures that show it. The
key of a figure is :func:`plot_fingerprint` of its plotnine plot (every layer's data, aesthetics and
parameters, scales, theme, coordinates, facets and labels, read from the object itself), its size, the
formats, the resolution, the matplotlib settings it is saved with and the package's code fingerprint
(every source module and template, and the versions of the libraries that draw). A plot holding anything
that cannot be serialised deterministically has no key and is always drawn.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import shutil
import tempfile
import types
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..plots.layout import FIGURE_FORMATS, PNG_DPI, SAVE_RC, save

# a plot's evaluation environment (the namespaces of the frame that built it) is left out of its key:
# netevidence's plots map data columns by name, never by a variable of that frame
SKIPPED_ATTRIBUTES = frozenset({"environment"})


class Unhashable(Exception):
    """An object in a plot that has no deterministic serialisation (the figure is then always drawn)."""


def _feed(h, obj: Any, seen: set[int], depth: int = 0) -> None:
    if depth > 200:
        raise Unhashable("nested too deeply")
    if obj is None or isinstance(obj, (bool, int, str, bytes)):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
        return
    if isinstance(obj, float):
        h.update(f"float:{obj.hex()};".encode())
        return
    if isinstance(obj, enum.Enum):
        h.update(f"enum:{type(obj).__qualname__}.{obj.name};".encode())
        return
    if isinstance(obj, (np.generic,)):
        h.update(f"np:{obj.dtype.str}:".encode() + obj.tobytes() + b";")
        return
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            h.update(f"ndarray-object:{obj.shape};".encode())
            for item in obj.ravel().tolist():
                _feed(h, item, seen, depth + 1)
            return
        h.update(f"ndarray:{obj.dtype.str}:{obj.shape};".encode() + np.ascontiguousarray(obj).tobytes())
        return
    if isinstance(obj, pd.DataFrame):
        # columns in name order: plotnine reads them by name, and builds some frames from sets of names
        h.update(f"frame:{obj.shape};".encode())
        _feed(h, obj.index, seen, depth + 1)
        columns = (obj.to_dict("series").items() if obj.columns.is_unique
                   else ((obj.columns[j], obj.iloc[:, j]) for j in range(obj.shape[1])))
        for name, column in sorted(columns, key=lambda item: str(item[0])):
            h.update(f"column:{name!r}:{column.dtype};".encode())
            _feed_values(h, column.to_numpy())
        return
    if isinstance(obj, pd.Series):
        _feed(h, obj.to_frame(name="_series_"), seen, depth + 1)
        return
    if isinstance(obj, (pd.Index, pd.Categorical)):
        h.update(f"{type(obj).__name__}:{obj.dtype};".encode())
        if isinstance(obj, pd.Categorical) or isinstance(obj.dtype, pd.CategoricalDtype):
            _feed_values(h, np.asarray(obj.categories if isinstance(obj, pd.Categorical) else obj.dtype.categories))
        _feed_values(h, np.asarray(obj))
        return
    if isinstance(obj, (types.FunctionType, types.MethodType, types.BuiltinFunctionType, type)):
        _feed_callable(h, obj, seen, depth)
        return
    key = id(obj)
    if key in seen:  # a shared or cyclic reference: its content is already in the key
        h.update(f"seen:{type(obj).__qualname__};".encode())
        return
    seen.add(key)
    if isinstance(obj, (list, tuple)):
        h.update(f"{type(obj).__name__}[{len(obj)}];".encode())
        for item in obj:
            _feed(h, item, seen, depth + 1)
        return
    if isinstance(obj, (set, frozenset)):
        h.update(f"set[{len(obj)}];".encode())
        for item in sorted(_digest(x) for x in obj):
            h.update(item.encode())
        return
    if isinstance(obj, Mapping):
        h.update(f"{type(obj).__qualname__}{{{len(obj)}}};".encode())
        items = [(_digest(k), k, v) for k, v in obj.items()]
        for _, k, v in sorted(items, key=lambda item: item[0]):
            _feed(h, k, seen, depth + 1)
            _feed(h, v, seen, depth + 1)
        return
    state = _state(obj)
    h.update(f"object:{type(obj).__module__}.{type(obj).__qualname__};".encode())
    for name in sorted(state):
        if name in SKIPPED_ATTRIBUTES:
            continue
        h.update(f"{name}=".encode())
        _feed(h, state[name], seen, depth + 1)


def _feed_values(h, values: np.ndarray) -> None:
    """One column's values: the bytes of a numeric array, else the repr of each value (an object whose repr
    shows its address has no deterministic serialisation)."""
    if values.dtype != object and values.dtype.kind in "biufcmMSU":
        h.update(f"values:{values.dtype.str}:{values.shape};".encode() + np.ascontiguousarray(values).tobytes())
        return
    text = "\x1f".join(repr(v) if not isinstance(v, float) else v.hex() for v in values.ravel().tolist())
    if " at 0x" in text:
        raise Unhashable("a value whose repr shows its address")
    h.update(f"objects:{values.shape};".encode() + text.encode())


def _state(obj: Any) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if hasattr(obj, "__dict__"):
        state.update(vars(obj))
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                state[name] = getattr(obj, name)
    if not state and type(obj).__module__ == "builtins":
        raise Unhashable(f"cannot serialise a {type(obj).__name__}")
    if not state and type(obj).__repr__ is object.__repr__:
        return {"__type__": type(obj).__qualname__}
    return state


def _feed_callable(h, fn: Any, seen: set[int], depth: int) -> None:
    if isinstance(fn, type) or isinstance(fn, types.BuiltinFunctionType):
        h.update(f"callable:{getattr(fn, '__module__', '')}.{fn.__qualname__};".encode())
        return
    if isinstance(fn, types.MethodType):
        _feed(h, fn.__self__, seen, depth + 1)
        fn = fn.__func__
    code = fn.__code__
    h.update(f"function:{fn.__module__}.{fn.__qualname__};".encode())
    h.update(code.co_code)
    _feed(h, [c for c in code.co_consts if not isinstance(c, types.CodeType)], seen, depth + 1)
    _feed(h, fn.__defaults__, seen, depth + 1)
    _feed(h, fn.__kwdefaults__, seen, depth + 1)
    for cell in fn.__closure__ or ():
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell
            contents = None
        _feed(h, contents, seen, depth + 1)


def _digest(obj: Any) -> str:
    h = hashlib.sha256()
    _feed(h, obj, set())
    return h.hexdigest()


def plot_fingerprint(plot: Any) -> str | None:
    """SHA-256 of everything a plotnine plot holds (see the module docstring); None when some part of it
    cannot be serialised deterministically."""
    try:
        return _digest(plot)
    except (Unhashable, RecursionError, TypeError, ValueError):
        return None


class FigureCache:
    """Drawn figures kept under ``<dir>/<key>/`` (``<key>.svg``, ``.png``, ``.pdf`` and ``manifest.json`` with
    their SHA-256). An entry is used only when every file it lists is present and matches its hash; anything
    else is a miss and the entry is drawn and stored again. Entries are written to a temporary folder and
    renamed into place, so a killed build never leaves half an entry. ``drawn`` and ``copied`` count the
    figures of this build (names of the stems written)."""

    MANIFEST = "manifest.json"

    def __init__(self, directory: str | Path | None, code: str):
        self.directory = Path(directory) if directory is not None else None
        self.code = code
        self.drawn: list[str] = []
        self.copied: list[str] = []
        self.used: set[str] = set()
        self.requested: list[str] = []   # the key of every figure saved through the cache, in order

    def key(self, plot: Any, width: float, height: float, formats: tuple[str, ...], dpi: int,
            rc: Mapping[str, object] | None) -> str | None:
        fp = plot_fingerprint(plot)
        if fp is None:
            return None
        settings = json.dumps({"width": float(width).hex(), "height": float(height).hex(), "formats": list(formats),
                               "dpi": dpi, "rc": {k: repr(v) for k, v in {**SAVE_RC, **(rc or {})}.items()}},
                              sort_keys=True)
        return hashlib.sha256(f"{self.code}\n{settings}\n{fp}".encode()).hexdigest()[:32]

    def save(self, plot: Any, stem: Path, width: float, height: float, *, formats: tuple[str, ...] = FIGURE_FORMATS,
             dpi: int = PNG_DPI, rc: Mapping[str, object] | None = None) -> list[Path]:
        """Write the figure as :func:`netevidence.plots.layout.save` does, from the cache when its key is there."""
        stem = Path(stem)
        key = self.key(plot, width, height, formats, dpi, rc) if self.directory is not None else None
        if key is not None:
            self.used.add(key)
            self.requested.append(key)
            files = self._load(key, formats)
            if files is not None:
                stem.parent.mkdir(parents=True, exist_ok=True)
                out = []
                for fmt in formats:
                    path = stem.with_suffix("." + fmt)
                    path.write_bytes(files[fmt])
                    out.append(path)
                self.copied.append(stem.name)
                return out
        out = save(plot, stem, width, height, formats=formats, dpi=dpi, rc=rc)
        self.drawn.append(stem.name)
        if key is not None:
            self._store(key, {fmt: stem.with_suffix("." + fmt).read_bytes() for fmt in formats})
        return out

    def _load(self, key: str, formats: tuple[str, ...]) -> dict[str, bytes] | None:
        path = self.directory / key
        if not path.is_dir():
            return None
        try:
            manifest = json.loads((path / self.MANIFEST).read_text(encoding="utf-8"))
            files = {}
            for fmt in formats:
                data = (path / f"figure.{fmt}").read_bytes()
                if hashlib.sha256(data).hexdigest() != manifest[fmt]:
                    raise ValueError(f"figure.{fmt} does not match its hash")
                files[fmt] = data
        except (OSError, ValueError, KeyError, TypeError):
            shutil.rmtree(path, ignore_errors=True)
            return None
        return files

    def _store(self, key: str, files: dict[str, bytes]) -> None:
        final = self.directory / key
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=self.directory))
        except OSError:
            return
        try:
            for fmt, data in files.items():
                (tmp / f"figure.{fmt}").write_bytes(data)
            manifest = {fmt: hashlib.sha256(data).hexdigest() for fmt, data in files.items()}
            (tmp / self.MANIFEST).write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
            if final.exists():
                shutil.rmtree(final)
            os.rename(tmp, final)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)

    def prune(self) -> None:
        """Remove the entries this build did not use (figures of records or analyses that changed)."""
        if self.directory is None or not self.directory.is_dir():
            return
        for entry in self.directory.iterdir():
            if entry.is_dir() and entry.name not in self.used:
                shutil.rmtree(entry, ignore_errors=True)
