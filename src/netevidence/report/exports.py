"""Exports: every pooled result, sensitivity table and forest-plot table as CSV and XLSX; the sources as
BibTeX and RIS, and a formatted reference per citation.

Tables
    :func:`write_table` writes one pandas DataFrame as CSV (through :func:`netevidence.output.write_csv`) or
    XLSX (openpyxl), chosen by the file's suffix. In both, a text cell that a spreadsheet would run as a
    formula is neutralised (:func:`netevidence.output.spreadsheet_safe`); in XLSX numbers stay numbers,
    missing values are empty cells and flags are booleans. :func:`export_result` writes any result with
    ``to_frame()`` (``PoolResult``, ``LeaveOneOutResult``, ``TrimFillResult``...), :func:`analysis_tables`
    collects the tables of an analysis (pooled results, and per stratum the forest-plot rows, the
    sensitivity table and the leave-one-out table) and :func:`export_analysis` writes them: one CSV per table
    and one XLSX workbook with a sheet per table.

Sources
    :func:`bibtex` and :func:`ris` turn a mapping of source id to
    :class:`~netevidence.records.schema.Citation` into BibTeX (entry key = source id) and RIS (Research
    Information Systems tagged format) text; :func:`write_sources` writes both. :func:`format_reference`
    gives the reference of one citation in the Vancouver style of the National Library of Medicine
    (Patrias, *Citing Medicine*, 2nd ed., 2007): at most six authors then "et al.".
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..output import atomic_file, spreadsheet_safe, write_csv
from ..records.schema import Citation

__all__ = [
    "FORMATS", "analysis_tables", "bibtex", "export_analysis", "export_result", "format_reference", "ris",
    "write_sources", "write_table", "write_workbook",
]

FORMATS = ("csv", "xlsx")


# --------------------------------------------------------------------------- tables


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a meaningful index (named, or not 0..n-1) turned into leading columns."""
    named = any(n is not None for n in frame.index.names)
    plain = isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1
    out = frame.reset_index() if named or not plain else frame.reset_index(drop=True)
    out.columns = [str(c) for c in out.columns]
    return out


def cell_value(value: Any) -> Any:
    """A spreadsheet cell for ``value``: numbers as int/float (NaN and None empty), flags as bool, text
    neutralised by :func:`spreadsheet_safe`, anything else as its text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return None if math.isnan(v) else (str(v) if math.isinf(v) else v)
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return spreadsheet_safe(str(value))


def _sheet_title(name: str, used: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of ``[]:*?/\\``, unique in the workbook."""
    base = re.sub(r"[\[\]:*?/\\]", "-", name).strip("'") or "sheet"
    title, n = base[:31], 2
    while title.lower() in used:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(title.lower())
    return title


def write_workbook(sheets: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Write DataFrames as the sheets of one XLSX workbook (header row bold and frozen; cells as
    :func:`cell_value`). The file is replaced atomically."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    if not sheets:
        raise ValueError(f"no table to write to {path}; give at least one sheet")
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, frame in sheets.items():
        flat = _flat(frame)
        ws = wb.create_sheet(_sheet_title(str(name), used))
        ws.append([cell_value(c) for c in flat.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in flat.itertuples(index=False, name=None):
            ws.append([cell_value(v) for v in row])
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    with atomic_file(path) as staging:
        staging.write_bytes(_reproducible_zip(buffer.getvalue()))
    return Path(path)


_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def _reproducible_zip(data: bytes) -> bytes:
    """The same workbook with its build time taken out (the zip entries' dates and the document properties'
    created/modified), so that the same tables give the same bytes, as every file of the site does."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _STAMP.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", body)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, body)
    return out.getvalue()


def write_table(frame: pd.DataFrame, path: str | Path, *, sheet: str = "table") -> Path:
    """Write one table as CSV or XLSX, by the suffix of ``path`` (``.csv`` or ``.xlsx``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with atomic_file(path) as staging:
            write_csv(_flat(frame), staging)
        return path
    if suffix == ".xlsx":
        return write_workbook({sheet: frame}, path)
    raise ValueError(f"cannot write {path}: the suffix must be .csv or .xlsx (got {path.suffix or 'none'!r})")


def _check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    formats = tuple(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"formats must be a non-empty selection of {FORMATS} (got {formats!r})")
    return formats


def export_result(result: Any, stem: str | Path, *, formats: Sequence[str] = FORMATS) -> tuple[Path, ...]:
    """Write ``result.to_frame()`` (any netevidence result, or a DataFrame) as ``<stem>.csv`` and
    ``<stem>.xlsx``; returns the paths written."""
    frame = result if isinstance(result, pd.DataFrame) else result.to_frame()
    stem = Path(stem)
    return tuple(write_table(frame, stem.with_name(f"{stem.name}.{f}"), sheet=stem.name) for f in
                 _check_formats(formats))


def analysis_tables(result: Any) -> dict[str, pd.DataFrame]:
    """The tables of an :class:`~netevidence.specs.run.AnalysisResult`, by file-name stem: ``pooled`` (one row
    per stratum, :meth:`AnalysisResult.summary_frame`), ``excluded`` (rows not pooled, with the reason), and
    per stratum ``i`` (1-based) ``forest-i`` (the forest-plot rows), ``sensitivity-i`` and, when k >= 2,
    ``leave-one-out-i``. Empty tables are left out."""
    from ..pooling import leave_one_out

    tables: dict[str, pd.DataFrame] = {"pooled": result.summary_frame(), "excluded": result.exclusions}
    for i, st in enumerate(result.strata, start=1):
        forest = st.rows.copy()
        forest.insert(0, "stratum", st.title)
        tables[f"forest-{i}"] = forest
        if len(st.sensitivity):
            sens = st.sensitivity.copy()
            sens.insert(0, "stratum", st.title)
            tables[f"sensitivity-{i}"] = sens
        if st.fit is not None and st.fit.k >= 2:
            studies = st.rows[st.rows["role"] == "study"]
            loo = _flat(leave_one_out(st.fit, labels=list(studies["label"])).to_frame())
            loo.insert(0, "stratum", st.title)
            tables[f"leave-one-out-{i}"] = loo
    return {name: frame for name, frame in tables.items() if len(frame.columns) and len(frame)}


def export_analysis(result: Any, directory: str | Path, *, formats: Sequence[str] = FORMATS,
                    prefix: str = "") -> tuple[Path, ...]:
    """Write every table of :func:`analysis_tables` into ``directory``: ``<prefix><stem>.csv`` per table and
    one workbook with a sheet per table, ``<prefix>tables.xlsx`` (``<analysis id>.xlsx`` without a prefix).
    A prefix such as ``"<analysis id>-"`` lets several analyses share one directory. Returns the paths
    written."""
    formats = _check_formats(formats)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tables = analysis_tables(result)
    written: list[Path] = []
    if "csv" in formats:
        written += [write_table(frame, directory / f"{prefix}{name}.csv") for name, frame in tables.items()]
    if "xlsx" in formats:
        book = f"{prefix}tables.xlsx" if prefix else f"{result.spec.id}.xlsx"
        written.append(write_workbook(tables, directory / book))
    return tuple(written)


# --------------------------------------------------------------------------- sources

_INITIALS = re.compile(r"^(?P<family>.+?)\s+(?P<initials>[A-Z]{1,4})$")


def _split_author(author: str) -> tuple[str, str] | None:
    """``"Frilling A"`` -> ``("Frilling", "A")``; None for a group author (no trailing initials)."""
    m = _INITIALS.match(author.strip())
    return (m["family"], m["initials"]) if m else None


_BIB_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
                "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _bib_escape(text: str) -> str:
    return "".join(_BIB_SPECIAL.get(ch, ch) for ch in " ".join(str(text).split()))


def _bib_author(author: str) -> str:
    parts = _split_author(author)
    if parts is None:
        return "{" + _bib_escape(author) + "}"  # a group author is one name, never split
    family, initials = parts
    return f"{_bib_escape(family)}, {' '.join(c + '.' for c in initials)}"


def _pages(pages: str | None) -> tuple[str | None, str | None]:
    if not pages:
        return None, None
    first, _, last = str(pages).partition("-")
    return first.strip() or None, last.strip() or None


def _citations(citations: Mapping[str, Citation]) -> list[tuple[str, Citation]]:
    return sorted(citations.items())


def bibtex(citations: Mapping[str, Citation]) -> str:
    """BibTeX entries for the citations, sorted by id (the entry key); ``@article`` when a journal is
    known, else ``@misc``. Special characters are escaped; text is kept in UTF-8 (biber, bibtex8)."""
    out = []
    for key, c in _citations(citations):
        fields: list[tuple[str, str]] = []
        if c.authors:
            fields.append(("author", " and ".join(_bib_author(a) for a in c.authors)))
        if c.title:
            fields.append(("title", "{" + _bib_escape(c.title) + "}"))
        if c.journal:
            fields.append(("journal", _bib_escape(c.journal)))
        for name in ("year", "volume"):
            if getattr(c, name) is not None:
                fields.append((name, _bib_escape(str(getattr(c, name)))))
        if c.issue is not None:
            fields.append(("number", _bib_escape(str(c.issue))))
        if c.pages:
            fields.append(("pages", _bib_escape(str(c.pages).replace("-", "--"))))
        if c.doi:
            fields.append(("doi", _bib_escape(c.doi)))
        if c.pmid is not None:
            fields.append(("pmid", str(c.pmid)))
        if c.pmcid:
            fields.append(("pmcid", c.pmcid))
        if c.seen_at:
            fields.append(("url", _bib_escape(c.seen_at[0])))
        if c.note:
            fields.append(("note", _bib_escape(c.note)))
        kind = "article" if c.journal else "misc"
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        out.append(f"@{kind}{{{key},\n{body}\n}}\n")
    return "\n".join(out)


def _ris_line(tag: str, value: Any) -> str:
    return f"{tag}  - {' '.join(str(value).split())}"


def ris(citations: Mapping[str, Citation]) -> str:
    """RIS records for the citations, sorted by id (kept in ``ID``); ``TY - JOUR`` when a journal is known,
    else ``GEN``. Lines end in CR LF as the format asks."""
    lines: list[str] = []
    for key, c in _citations(citations):
        lines.append(_ris_line("TY", "JOUR" if c.journal else "GEN"))
        lines.append(_ris_line("ID", key))
        for a in c.authors:
            parts = _split_author(a)
            lines.append(_ris_line("AU", a if parts is None else f"{parts[0]}, {'.'.join(parts[1])}."))
        if c.title:
            lines.append(_ris_line("TI", c.title))
        if c.journal:
            lines.append(_ris_line("JO", c.journal))
        if c.year is not None:
            lines.append(_ris_line("PY", c.year))
        if c.volume is not None:
            lines.append(_ris_line("VL", c.volume))
        if c.issue is not None:
            lines.append(_ris_line("IS", c.issue))
        first, last = _pages(c.pages)
        if first:
            lines.append(_ris_line("SP", first))
        if last:
            lines.append(_ris_line("EP", last))
        if c.doi:
            lines.append(_ris_line("DO", c.doi))
        if c.pmid is not None:
            lines.append(_ris_line("AN", f"PMID:{c.pmid}"))
        for url in c.seen_at:
            lines.append(_ris_line("UR", url))
        if c.note:
            lines.append(_ris_line("N1", c.note))
        lines.append("ER  - ")
        lines.append("")
    return "\r\n".join(lines)


def format_reference(citation: Citation) -> str:
    """The reference of one citation in the NLM/Vancouver style, as PubMed cites: ``Authors. Title. Journal.
    Year;Volume(Issue):Pages. doi: ... PMID: ...; PMCID: ...``; unknown parts are left out, never guessed."""
    parts: list[str] = []
    if citation.authors:
        names = list(citation.authors[:6]) + (["et al"] if len(citation.authors) > 6 else [])
        parts.append(", ".join(names) + ".")
    if citation.title:
        title = " ".join(citation.title.split())
        parts.append(title if title.endswith((".", "?", "!")) else title + ".")
    source = ""
    if citation.journal:
        source = citation.journal.rstrip(".") + "."
    where = "" if citation.year is None else str(citation.year)
    if citation.volume is not None:
        where += f";{citation.volume}"
    if citation.issue is not None:
        where += f"({citation.issue})"
    if citation.pages:
        where += f":{citation.pages}"
    if where:
        source = f"{source} {where}." if source else f"{where}."
    if source:
        parts.append(source)
    if citation.doi:
        parts.append(f"doi: {citation.doi}.")
    ids = ([f"PMID: {citation.pmid}"] if citation.pmid is not None else []) + (
        [f"PMCID: {citation.pmcid}"] if citation.pmcid else [])
    if ids:
        parts.append("; ".join(ids) + ".")
    if not citation.doi and citation.pmid is None and citation.seen_at:
        parts.append(f"Available from: {citation.seen_at[0]}")
    return " ".join(parts)


def write_sources(citations: Mapping[str, Citation], directory: str | Path, *,
                  stem: str = "sources") -> tuple[Path, Path]:
    """Write ``<stem>.bib`` (BibTeX) and ``<stem>.ris`` (RIS) into ``directory``; returns both paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    bib, rs = directory / f"{stem}.bib", directory / f"{stem}.ris"
    with atomic_file(bib) as staging:
        staging.write_text(bibtex(citations), encoding="utf-8")
    with atomic_file(rs) as staging:
        staging.write_bytes(ris(citations).encode("utf-8"))
    return bib, rs
