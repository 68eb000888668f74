"""The netevidence command: exit codes, output formats, atomic outputs."""

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from netevidence.cli import main
from netevidence.output import atomic_directory

ROOT = Path(__file__).resolve().parent.parent
EVIDENCE = ROOT / "evidence"


def test_validate_shipped_evidence_exits_0_and_lists_warnings(capsys):
    assert main(["validate", str(EVIDENCE)]) == 0
    out = capsys.readouterr().out
    assert "warning [conflicting-values]" in out
    n_records = sum(1 for p in EVIDENCE.glob("*.yaml") if p.name not in ("sources.yaml", "search.yaml"))
    assert n_records >= 15
    assert out.strip().splitlines()[-1].startswith(f"{EVIDENCE}: {n_records} record(s), 0 error(s)")


def test_validate_json(capsys, fixtures):
    assert main(["validate", str(fixtures / "invalid" / "events-exceed-n.yaml"), "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False
    assert [w["rule"] for w in payload["warnings"]] == ["no-risk-of-bias"]  # the fixture is not appraised
    (error,) = payload["errors"]
    assert error["rule"] == "events-exceed-n" and (error["line"], error["column"]) == (26, 38)
    assert error["field"] == "outcomes[0].statistic.events"


def test_validate_invalid_exits_1_with_location(capsys, fixtures):
    path = fixtures / "invalid" / "ci-order.yaml"
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:37:57: error [ci-order]" in out


def test_missing_path_is_a_clear_error(capsys, tmp_path):
    assert main(["validate", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert "no such file or directory" in err and "Traceback" not in err


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_tables_writes_every_table(tmp_path, capsys):
    out = tmp_path / "tables"
    assert main(["tables", str(EVIDENCE), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == sorted(f"{n}.csv" for n in
                           ("outcomes", "studies", "arms", "data_cuts", "characteristics", "review_counts", "sources",
                            "curves", "risk_of_bias"))
    outcomes = pd.read_csv(out / "outcomes.csv")
    assert {"study_id", "endpoint", "statistic", "source", "location", "source_kind", "verified", "file", "line"} <= set(outcomes)


def test_failed_run_leaves_previous_output_intact(tmp_path, capsys, fixtures):
    out = tmp_path / "tables"
    assert main(["tables", str(EVIDENCE), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["tables", str(fixtures / "invalid"), "--out", str(out)]) == 1
    assert "error(s)" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tables.lock", "tables"]  # no staging folder left


def test_atomic_directory_keeps_target_on_failure(tmp_path):
    target = tmp_path / "site"
    with atomic_directory(target) as staging:
        (staging / "index.html").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as staging:
            (staging / "index.html").write_text("half")
            raise RuntimeError("boom")
    assert (target / "index.html").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "site"]
    with atomic_directory(target) as staging:
        (staging / "index.html").write_text("new")
    assert (target / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "site"]


def test_report_lists_studies_and_escapes_record_text(tmp_path, capsys, fixtures):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    text = (fixtures / "valid" / "demo-study.yaml").read_text()
    (evidence / "demo.yaml").write_text(text.replace("name: Demo study", 'name: "<script>alert(1)</script>"'))
    out = tmp_path / "site"
    (tmp_path / "analyses").mkdir()
    assert main(["report", "--evidence", str(evidence), "--analyses", str(tmp_path / "analyses"),
                 "--out", str(out)]) == 0
    html = (out / "index.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_on_shipped_evidence(tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["report", "--evidence", str(EVIDENCE), "--out", str(out)]) == 0
    html = (out / "index.html").read_text()
    for name in ("NETTER-1", "Jia 2018", "Frilling 2019 (case series)", "Frilling 2019 (meta-analysis)",
                 "Braat 2020", "Mohan 2015", "Pickens 2021"):
        assert name in html
    assert "https://doi.org/10.1056/NEJMoa1607427" in html


def _write_curve(path):
    path.write_text("time,survival\n0,1\n2,0.9\n4,0.7\n6,0.5\n8,0.45\n")


def test_reconstruct_writes_ipd_and_prints_diagnostics(tmp_path, capsys):
    _write_curve(tmp_path / "curve.csv")
    (tmp_path / "risk.csv").write_text("time,n_at_risk\n0,50\n4,35\n8,20\n")
    out = tmp_path / "ipd.csv"
    assert main(["reconstruct", str(tmp_path / "curve.csv"), "--n", "50", "--at-risk", str(tmp_path / "risk.csv"),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "numbers at risk" in printed and "wrote 50 patients" in printed
    ipd = pd.read_csv(out)
    assert list(ipd.columns) == ["time", "event"] and len(ipd) == 50
    assert set(ipd.event) <= {0, 1}


@pytest.mark.parametrize("target", ["curve.csv", "risk.csv"])
def test_reconstruct_never_overwrites_its_inputs(tmp_path, capsys, target):
    _write_curve(tmp_path / "curve.csv")
    (tmp_path / "risk.csv").write_text("time,n_at_risk\n0,50\n4,35\n8,20\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(["reconstruct", str(tmp_path / "curve.csv"), "--n", "50", "--at-risk", str(tmp_path / "risk.csv"),
                 "--out", str(tmp_path / target)]) == 1
    err = capsys.readouterr().err
    assert "is the input" in err and "Fix:" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_reconstruct_bad_file_names_the_line(tmp_path, capsys):
    (tmp_path / "curve.csv").write_text("time,survival\n0,1\n2,abc\n")
    out = tmp_path / "ipd.csv"
    assert main(["reconstruct", str(tmp_path / "curve.csv"), "--n", "50", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'curve.csv'}:3:" in err and "Traceback" not in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["curve.csv"]


def test_reconstruct_rejects_increasing_at_risk(tmp_path, capsys):
    _write_curve(tmp_path / "curve.csv")
    (tmp_path / "risk.csv").write_text("time,n_at_risk\n0,50\n4,35\n8,40\n")
    assert main(["reconstruct", str(tmp_path / "curve.csv"), "--n", "50", "--at-risk", str(tmp_path / "risk.csv"),
                 "--out", str(tmp_path / "ipd.csv")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'risk.csv'}:4:" in err


def test_reconstruct_rejects_non_positive_n(tmp_path, capsys):
    _write_curve(tmp_path / "curve.csv")
    with pytest.raises(SystemExit) as info:
        main(["reconstruct", str(tmp_path / "curve.csv"), "--n", "0", "--out", str(tmp_path / "ipd.csv")])
    assert info.value.code == 2
    assert "0 must be at least 1" in capsys.readouterr().err


def test_site_never_shows_the_absolute_evidence_path(tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["report", "--evidence", str(EVIDENCE.resolve()), "--out", str(out), "--no-cache", "--quiet"]) == 0
    pages = list(out.rglob("*.html"))
    assert len(pages) > 15
    leaks = [p.name for p in pages if str(EVIDENCE.resolve()) in p.read_text()]
    assert leaks == []
    assert "frilling-2019-meta-analysis.yaml:14" in (out / "studies" / "frilling-2019-meta-analysis.html").read_text()


def test_csv_cells_are_safe_for_spreadsheets_and_rows_stay_whole(tmp_path, fixtures):
    import csv as csvmod

    evidence = tmp_path / "evidence"
    evidence.mkdir()
    text = (fixtures / "valid" / "demo-study.yaml").read_text()
    text = text.replace("name: Demo study", 'name: "=HYPERLINK(\\"http://x\\",\\"y\\")"')
    text = text.replace("location: table 2,", 'location: "@SUM(A1)\\rsecond line",', 1)
    (evidence / "demo.yaml").write_text(text)
    out = tmp_path / "tables"
    assert main(["tables", str(evidence), "--out", str(out)]) == 0
    raw = (out / "outcomes.csv").read_text()
    with (out / "outcomes.csv").open(newline="") as f:
        rows = list(csvmod.DictReader(f))
    frame = pd.read_csv(out / "outcomes.csv")
    assert len(rows) == len(frame) == 4  # the carriage return did not split a row
    assert {r["study_name"] for r in rows} == {"'=HYPERLINK(\"http://x\",\"y\")"}
    assert rows[0]["location"] == "'@SUM(A1)\rsecond line"
    assert frame["events"].dtype.kind in "if" and frame["events"].iloc[0] == 4  # numbers stay numbers
    assert ',4,10,' in raw.replace(".0", "")  # unquoted numeric cells


@pytest.mark.parametrize("value, safe", [("=1+1", "'=1+1"), ("+1", "'+1"), ("-2", "'-2"), ("@A1", "'@A1"),
                                         ("\tx", "'\tx"), ("\rx", "'\rx"), ("plain", "plain"), (3.5, 3.5),
                                         (-2, -2)])
def test_spreadsheet_safe(value, safe):
    from netevidence.output import spreadsheet_safe

    assert spreadsheet_safe(value) == safe


def _many_records(tmp_path, fixtures, n):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    text = (fixtures / "valid" / "demo-study.yaml").read_text()
    for i in range(n):
        (evidence / f"s{i:03d}.yaml").write_text(text.replace("id: demo-study", f"id: s{i:03d}"))
    return evidence


@pytest.mark.parametrize("command", ["validate", "tables"])
def test_progress_is_shown_on_a_terminal_for_large_inputs(tmp_path, fixtures, capsys, monkeypatch, command):
    from netevidence.cli import PROGRESS_FROM

    evidence = _many_records(tmp_path, fixtures, PROGRESS_FROM)
    argv = [command, str(evidence)] + (["--out", str(tmp_path / "t")] if command == "tables" else [])
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "records:   0%|" in err and f"| 0/{PROGRESS_FROM} [" in err
    assert main(argv + ["--quiet"]) == 0
    assert "records:" not in capsys.readouterr().err
