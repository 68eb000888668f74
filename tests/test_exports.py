"""Exports: tables as CSV and XLSX (numbers as numbers, formula cells neutralised), an analysis' tables,
sources as BibTeX and RIS, and the formatted reference of a citation."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from netevidence import load_evidence
from netevidence.pooling import leave_one_out, pool
from netevidence.records.schema import Citation
from netevidence.report.exports import (
    analysis_tables, bibtex, export_analysis, export_result, format_reference, ris, write_sources, write_table,
)
from netevidence.specs import load_spec, run_spec

ROOT = Path(__file__).resolve().parent.parent
NASTY = ["=HYPERLINK(\"http://x\")", "+1", "-cmd", "@SUM(A1)", "plain", None]


def frame():
    return pd.DataFrame({"label": NASTY, "value": [0.5, np.nan, -1.25, 3.0, 1e-300, 2.0],
                         "n": np.array([1, 2, 3, 4, 5, 6], dtype=np.int64), "flag": [True, False] * 3})


def sheet_rows(path, sheet=None):
    wb = load_workbook(path)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    return [[c for c in row] for row in ws.iter_rows()]


def test_xlsx_keeps_numbers_and_neutralises_formulas(tmp_path):
    path = write_table(frame(), tmp_path / "t.xlsx")
    rows = sheet_rows(path)
    assert [c.value for c in rows[0]] == ["label", "value", "n", "flag"]
    assert all(c.data_type != "f" for row in rows for c in row)
    labels = [r[0].value for r in rows[1:]]
    assert labels == ["'=HYPERLINK(\"http://x\")", "'+1", "'-cmd", "'@SUM(A1)", "plain", None]
    assert [r[1].value for r in rows[1:]] == [0.5, None, -1.25, 3.0, 1e-300, 2.0]
    assert all(r[1].data_type == "n" for r in rows[1:] if r[1].value is not None)
    assert [r[2].value for r in rows[1:]] == [1, 2, 3, 4, 5, 6]
    assert [r[3].value for r in rows[1:]] == [True, False] * 3


def test_csv_goes_through_write_csv(tmp_path):
    path = write_table(frame(), tmp_path / "t.csv")
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[1][:2] == ["'=HYPERLINK(\"http://x\")", "0.5"]
    back = pd.read_csv(path)
    np.testing.assert_array_equal(back["value"], frame()["value"])


def test_bad_suffix_and_formats(tmp_path):
    with pytest.raises(ValueError, match=r"suffix must be \.csv or \.xlsx \(got '\.ods'\)"):
        write_table(frame(), tmp_path / "t.ods")
    with pytest.raises(ValueError, match="formats must be a non-empty selection"):
        export_result(frame(), tmp_path / "t", formats=("pdf",))


def test_export_result_writes_the_result_table(tmp_path):
    y = np.array([0.1, 0.3, -0.2, 0.5, 0.4])
    v = np.array([0.02, 0.05, 0.03, 0.08, 0.04])
    loo = leave_one_out(pool(y, v), labels=["a", "b", "c", "d", "e"])
    csv_path, xlsx_path = export_result(loo, tmp_path / "loo")
    expected = loo.to_frame().reset_index()
    back = pd.read_csv(csv_path, float_precision="round_trip")
    assert list(back.columns) == list(expected.columns)
    np.testing.assert_array_equal(back["estimate"], expected["estimate"])  # CSV: exact doubles
    rows = sheet_rows(xlsx_path)
    assert [c.value for c in rows[0]] == list(expected.columns)
    assert [r[0].value for r in rows[1:]] == ["a", "b", "c", "d", "e"]
    # XLSX: numbers as numbers at openpyxl's 16 significant digits
    assert all(r[1].data_type == "n" for r in rows[1:])
    np.testing.assert_allclose([r[1].value for r in rows[1:]], expected["estimate"], rtol=1e-15, atol=0)


@pytest.fixture(scope="module")
def sirt():
    ev = load_evidence(ROOT / "evidence")
    return ev, run_spec(ev, load_spec(ROOT / "analyses" / "sirt-response.yaml"))


def test_export_analysis_writes_every_table(sirt, tmp_path):
    _, res = sirt
    tables = analysis_tables(res)
    assert {"pooled", "forest-1", "sensitivity-1", "leave-one-out-1"} <= set(tables)
    written = export_analysis(res, tmp_path)
    assert {p.name for p in written} == {f"{n}.csv" for n in tables} | {"sirt-response.xlsx"}
    wb = load_workbook(tmp_path / "sirt-response.xlsx")
    assert wb.sheetnames == list(tables)
    pooled = res.summary_frame()
    rows = list(wb["pooled"].iter_rows(values_only=True))
    col = rows[0].index("estimate")
    np.testing.assert_allclose([np.nan if r[col] is None else r[col] for r in rows[1:]], pooled["estimate"],
                               rtol=1e-15, atol=0)
    shared = export_analysis(res, tmp_path / "img", prefix="sirt-response-", formats=("xlsx",))
    assert [p.name for p in shared] == ["sirt-response-tables.xlsx"]
    assert load_workbook(shared[0]).sheetnames == list(tables)
    forest = pd.read_csv(tmp_path / "forest-1.csv")
    assert list(forest["label"]) == list(res.strata[0].rows["label"])
    fit = res.strata[0].fit
    loo = pd.read_csv(tmp_path / "leave-one-out-1.csv")
    np.testing.assert_allclose(loo["estimate"], leave_one_out(fit).estimate, rtol=1e-15)


CITE = Citation(authors=["Smith AB", "O'Neil C", "World Health Organization"], title="Rates & 50% of {x}_y",
                year=2020, journal="J Test", volume=3, issue=2, pages="10-19", doi="10.1000/xyz_1", pmid=123)


def test_bibtex_entry():
    text = bibtex({"smith-2020": CITE, "a-page": Citation(title="A page", seen_at=["https://example.org/a"])})
    assert text == (
        "@misc{a-page,\n  title = {{A page}},\n  url = {https://example.org/a}\n}\n\n"
        "@article{smith-2020,\n"
        "  author = {Smith, A. B. and O'Neil, C. and {World Health Organization}},\n"
        "  title = {{Rates \\& 50\\% of \\{x\\}\\_y}},\n  journal = {J Test},\n  year = {2020},\n"
        "  volume = {3},\n  number = {2},\n  pages = {10--19},\n  doi = {10.1000/xyz\\_1},\n  pmid = {123}\n}\n")


def test_ris_records():
    text = ris({"smith-2020": CITE})
    assert text.endswith("ER  - \r\n") and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[:2] == ["TY  - JOUR", "ID  - smith-2020"]
    tags = [(l[:2], l[6:]) for l in lines if l]
    assert ("AU", "Smith, A.B.") in tags and ("AU", "World Health Organization") in tags
    assert ("SP", "10") in tags and ("EP", "19") in tags and ("AN", "PMID:123") in tags
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]  - .*", l) for l in lines if l)


def test_every_source_exports(sirt, tmp_path):
    ev, _ = sirt
    bib, rs = write_sources(ev.citations, tmp_path)
    text = bib.read_text(encoding="utf-8")
    keys = re.findall(r"^@\w+\{([^,]+),$", text, re.M)
    assert keys == sorted(ev.citations)
    for entry in text.split("\n\n"):
        depth = 0
        for ch in re.sub(r"\\[{}]", "", entry):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0
        assert depth == 0, entry
    records = rs.read_bytes().decode("utf-8").split("ER  - \r\n")
    assert len([r for r in records if r.strip()]) == len(ev.citations)


def test_format_reference():
    cazzato = Citation(authors=["Cazzato RL"], title="Liver-Directed Therapy for Neuroendocrine Metastases", year=2021,
                       journal="Cancers", volume=13, issue=24, pages="6368", doi="10.3390/cancers13246368")
    assert format_reference(cazzato) == ("Cazzato RL. Liver-Directed Therapy for Neuroendocrine Metastases. Cancers. "
                                         "2021;13(24):6368. doi: 10.3390/cancers13246368.")
    many = Citation(authors=[f"A{i} B" for i in range(7)], title="Why?", year=2019)
    assert format_reference(many) == "A0 B, A1 B, A2 B, A3 B, A4 B, A5 B, et al. Why? 2019."
    assert format_reference(Citation(title="Only a title")) == "Only a title."
    assert format_reference(Citation(title="T", pmid=5, pmcid="PMC7")) == "T. PMID: 5; PMCID: PMC7."
    assert format_reference(Citation(title="Page", seen_at=["https://x.org"])) == "Page. Available from: https://x.org"


def test_a_workbook_is_the_same_bytes_whenever_it_is_written(tmp_path):
    import time

    import pandas as pd

    from netevidence.report.exports import write_workbook

    frame = pd.DataFrame({"estimate": [0.5, 1.25], "label": ["a", "=b"]})
    write_workbook({"pooled": frame}, tmp_path / "one.xlsx")
    time.sleep(1.1)  # the zip entries' dates and the document properties would differ by then
    write_workbook({"pooled": frame}, tmp_path / "two.xlsx")
    assert (tmp_path / "one.xlsx").read_bytes() == (tmp_path / "two.xlsx").read_bytes()
