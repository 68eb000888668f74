"""Pages whose content did not change are not rendered again.

Each page's key is the SHA-256 of its template's name, the package's code fingerprint (every module and
template) and everything the template is given (its whole context, serialised as JSON, with the site-wide
values); a page whose context cannot be serialised has no key and is always rendered. Every page's footer
shows the site's version number, which goes up with any change of content, so the page is kept in the cache
with a placeholder in its place: a rebuild after one record changed writes every page with the new number,
but renders only the pages whose content changed. Cache entries are written atomically and carry the
SHA-256 of their text; an entry that does not match is a miss.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

VERSION_PLACEHOLDER = "@@netevidence-site-version@@"


@dataclass
class BuildLog:
    """What one build of a site did: the analyses it computed and those it took from the cache, the
    figures it drew and those it copied from the figure cache, the pages it rendered and those it took from
    the page cache (paths relative to the site)."""

    analyses_computed: list[str] = field(default_factory=list)
    analyses_cached: list[str] = field(default_factory=list)
    figures_drawn: list[str] = field(default_factory=list)
    figures_copied: list[str] = field(default_factory=list)
    pages_rendered: list[str] = field(default_factory=list)
    pages_cached: list[str] = field(default_factory=list)

    def summary(self) -> str:
        n_a = len(self.analyses_computed) + len(self.analyses_cached)
        n_f = len(self.figures_drawn) + len(self.figures_copied)
        n_p = len(self.pages_rendered) + len(self.pages_cached)
        return (f"computed {len(self.analyses_computed)} of {n_a} analyses, drew {len(self.figures_drawn)} of "
                f"{n_f} figures and rendered {len(self.pages_rendered)} of {n_p} pages; the rest came from the cache")


def _plain(obj: Any) -> Any:
    if isinstance(obj, (_dt.date, _dt.datetime)):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):  # its fields are its whole state
        return {"__dataclass__": f"{type(obj).__module__}.{type(obj).__qualname__}",
                **{f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}}
    if isinstance(obj, np.generic):
        return {"__numpy__": obj.dtype.str, "value": obj.item()}
    if isinstance(obj, (set, frozenset)):
        return {"__set__": sorted(json.dumps(x, sort_keys=True, default=_plain) for x in obj)}
    raise TypeError(f"{type(obj).__name__} is not serialisable")


def page_key(template: str, code: str, context: dict[str, Any]) -> str | None:
    """The key of a page: its template, the code fingerprint and its whole context; None when the context
    holds a value with no JSON form (the page is then always rendered)."""
    try:
        text = json.dumps(context, sort_keys=True, ensure_ascii=False, default=_plain, allow_nan=True)
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(f"{template}\n{code}\n{text}".encode()).hexdigest()


class PageWriter:
    """Writes the pages of one build into ``staging``; with a cache directory, a page whose key is in
    ``<cache>/pages/`` is taken from there (see the module docstring), and entries no page of this build
    used are removed by :meth:`prune`."""

    def __init__(self, staging: Path, cache: str | Path | None, code: str, log: BuildLog):
        self.staging = staging
        self.directory = Path(cache) / "pages" if cache is not None else None
        self.code = code
        self.log = log
        self.used: set[str] = set()

    def write(self, env: jinja2.Environment, rel: str, template: str, **context: Any) -> None:
        target = self.staging / rel
        site = env.globals.get("site")
        key = None
        if self.directory is not None and isinstance(site, dict) and "version" in site:
            site = dict(site, version=VERSION_PLACEHOLDER)
            key = page_key(template, self.code, {"site": site, **context})
        text = self._load(key) if key is not None else None
        if text is not None:
            self.log.pages_cached.append(rel)
        else:
            self.log.pages_rendered.append(rel)
            if key is None:
                target.write_text(env.get_template(template).render(**context), encoding="utf-8")
                return
            text = env.get_template(template).render(**context, site=site)
            if text.count(VERSION_PLACEHOLDER) != 1:  # the placeholder is not only the footer's: render as is
                target.write_text(env.get_template(template).render(**context), encoding="utf-8")
                return
            self._store(key, text)
        target.write_text(text.replace(VERSION_PLACEHOLDER, str(env.globals["site"]["version"])), encoding="utf-8")

    def _load(self, key: str) -> str | None:
        self.used.add(key)
        try:
            digest, _, text = (self.directory / f"{key}.html").read_text(encoding="utf-8").partition("\n")
        except (OSError, UnicodeDecodeError):
            return None
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest or text.count(VERSION_PLACEHOLDER) != 1:
            return None
        return text

    def _store(self, key: str, text: str) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key}-", dir=self.directory)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(hashlib.sha256(text.encode("utf-8")).hexdigest() + "\n" + text)
            os.replace(tmp, self.directory / f"{key}.html")
        except OSError:
            pass

    def prune(self) -> None:
        """Remove the entries of pages this build did not write (older versions of changed pages)."""
        if self.directory is None or not self.directory.is_dir():
            return
        for entry in self.directory.iterdir():
            if entry.suffix == ".html" and entry.stem not in self.used:
                entry.unlink(missing_ok=True)
