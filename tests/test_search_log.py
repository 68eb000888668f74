"""The search and screening log: schema, arithmetic, ids, dates and the PRISMA flow counts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from netevidence import load_evidence, validate_evidence
from netevidence.records.searchlog import prisma_flow

ROOT = Path(__file__).resolve().parent.parent
VALID = Path(__file__).parent / "fixtures" / "valid"

LOG = """\
last_searched: 2026-12-01
searches:
  - id: sirt-1
    topic: sirt
    source: PubMed
    query: radioembolization neuroendocrine liver metastases
    date: 2026-11-30
    records_found: 12
  - id: sirt-2
    topic: sirt
    source: conference abstracts
    query: SIRT NET liver
    date: 2026-12-01
    records_found: 8
screening:
  - topic: sirt
    duplicates_removed: 5
    records_screened: 15
    records_excluded: 10
    full_texts_assessed: 5
    full_texts_excluded:
      - {reason: no extractable outcome numbers, count: 3}
      - {reason: overlapping cohort, count: 1}
    included: [demo-study]
"""


def _evidence(tmp_path: Path, log: str) -> Path:
    target = tmp_path / "evidence"
    shutil.copytree(VALID, target)
    (target / "search.yaml").write_text(log)
    return target


def _errors(report):
    return [(p.rule, Path(p.file).name, p.line, p.column, p.field) for p in report.errors]


def test_valid_log_loads_and_is_not_a_record(tmp_path):
    report = validate_evidence(_evidence(tmp_path, LOG))
    assert report.ok, [p.format() for p in report.errors]
    assert [r.record.id for r in report.records] == ["demo-study"]
    assert report.search_log is not None and len(report.search_log.searches) == 2
    assert str(tmp_path / "evidence" / "search.yaml") in report.files


def test_flow_counts_follow_the_log(tmp_path):
    log = validate_evidence(_evidence(tmp_path, LOG)).search_log
    flow = prisma_flow(log)
    assert flow.identified == (("PubMed", 12), ("conference abstracts", 8))
    assert (flow.databases, flow.other_methods, flow.total_identified) == (12, 8, 20)
    assert (flow.duplicates_removed, flow.screened, flow.excluded_screening, flow.assessed) == (5, 15, 10, 5)
    assert flow.full_text_reasons == (("no extractable outcome numbers", 3), ("overlapping cohort", 1))
    assert (flow.excluded_full_text, flow.included) == (4, 1)
    assert flow.included_by_topic == (("sirt", 1),)
    frame = flow.to_frame()
    assert frame.loc[frame["box"] == "records screened", "count"].item() == 15
    # the boxes chain: each stage is the previous one minus its exclusions
    assert flow.total_identified - flow.duplicates_removed == flow.screened
    assert flow.screened - flow.excluded_screening == flow.assessed
    assert flow.assessed - flow.excluded_full_text == flow.included


@pytest.mark.parametrize("old, new, expected", [
    ("records_screened: 15", "records_screened: 16",
     [("screening-arithmetic", 18, 23, "screening[0].records_screened"),
      ("screening-arithmetic", 20, 26, "screening[0].full_texts_assessed")]),
    ("records_excluded: 10", "records_excluded: 11",
     [("screening-arithmetic", 20, 26, "screening[0].full_texts_assessed")]),
    ("count: 3}", "count: 2}", [("screening-arithmetic", 24, 15, "screening[0].included")]),
    ("included: [demo-study]", "included: [demo-study, demo-studdy]",
     [("screening-arithmetic", 24, 15, "screening[0].included"),
      ("unknown-reference", 24, 28, "screening[0].included[1]")]),
    ("included: [demo-study]", "included: []",
     [("not-in-search-log", None, None, "id"), ("screening-arithmetic", 24, 15, "screening[0].included")]),
    ("last_searched: 2026-12-01", "last_searched: 2026-11-30", [("search-date", 1, 16, "last_searched")]),
    ("  - id: sirt-2", "  - id: sirt-1", [("duplicate-id", 9, 9, "searches[1].id")]),
])
def test_violations_are_errors_at_their_place(tmp_path, old, new, expected):
    assert old in LOG
    report = validate_evidence(_evidence(tmp_path, LOG.replace(old, new)))
    got = sorted((rule, line, col, field) for rule, name, line, col, field in _errors(report)
                 if name == "search.yaml" or rule == "not-in-search-log")
    want = sorted((r, l, c, f) if r != "not-in-search-log" else (r, _id_line(), 5, f) for r, l, c, f in expected)
    assert got == want


def _id_line() -> int:
    lines = (VALID / "demo-study.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.startswith("id:"))


def test_messages_say_what_and_how(tmp_path):
    report = validate_evidence(_evidence(tmp_path, LOG.replace("records_screened: 15", "records_screened: 16")
                                         .replace("records_excluded: 10", "records_excluded: 11")))
    (err,) = report.errors
    assert err.message == ("topic 'sirt': records found (20) - duplicates removed (5) = 15, but 16 records were "
                           "screened")
    report = validate_evidence(_evidence(tmp_path / "b", LOG.replace("included: [demo-study]", "included: []")))
    missing = next(p for p in report.errors if p.rule == "not-in-search-log")
    assert missing.file.endswith("demo-study.yaml")
    assert "add its id to the 'included' list" in missing.fix


def test_record_in_two_blocks_and_screening_without_search(tmp_path):
    log = LOG + """\
  - topic: prrt
    duplicates_removed: 0
    records_screened: 1
    records_excluded: 0
    full_texts_assessed: 1
    included: [demo-study]
"""
    report = validate_evidence(_evidence(tmp_path, log))
    rules = sorted(p.rule for p in report.errors)
    assert rules == ["duplicate-id", "unknown-reference"]
    dup = next(p for p in report.errors if p.rule == "duplicate-id")
    assert dup.field == "screening[1].included[0]" and "screening[0].included[0]" in dup.message


def test_search_without_screening_block(tmp_path):
    log = LOG.replace("  - id: sirt-2\n    topic: sirt", "  - id: prrt-1\n    topic: prrt").replace(
        "records_found: 8", "records_found: 0")
    log = log.replace("duplicates_removed: 5", "duplicates_removed: 0").replace("records_screened: 15",
                                                                              "records_screened: 12")
    log = log.replace("records_excluded: 10", "records_excluded: 7")
    report = validate_evidence(_evidence(tmp_path, log))
    assert [(p.rule, p.field) for p in report.errors] == [("missing-screening", "searches[1].topic")]


@pytest.mark.parametrize("old, new, rule", [
    ("source: PubMed", "source: Pubmed", "unknown-term"),
    ("topic: sirt\n    duplicates", "topic: sirtt\n    duplicates", "unknown-term"),
    ("records_found: 12", "records_found: -1", "out-of-range"),
    ("date: 2026-11-30", "date: yesterday", "wrong-type"),
    ("    query: SIRT NET liver\n", "", "missing-field"),
    ("last_searched: 2026-12-01\n", "", "missing-field"),
])
def test_structure_errors(tmp_path, old, new, rule):
    report = validate_evidence(_evidence(tmp_path, LOG.replace(old, new)))
    assert rule in {p.rule for p in report.errors}
    if rule == "unknown-term" and "Pubmed" in new:
        assert "did you mean 'PubMed'" in next(p.message for p in report.errors if p.rule == rule)


def test_without_a_log_records_need_no_search(tmp_path):
    assert validate_evidence(VALID).ok
    assert validate_evidence(VALID).search_log is None


def test_shipped_log_includes_every_record_once():
    report = validate_evidence(ROOT / "evidence")
    assert report.ok
    log = report.search_log
    assert log is not None
    included = [rid for block in log.screening for rid in block.included]
    assert sorted(included) == sorted(r.record.id for r in report.records)
    seed = [s for s in log.searches if s.topic == "seed"]
    assert seed and {s.source for s in seed} == {"citation searching"}
    raw = yaml.safe_load((ROOT / "evidence" / "search.yaml").read_text())
    assert raw["last_searched"] == max(s["date"] for s in raw["searches"])


def test_evidence_base_carries_the_log():
    ev = load_evidence(ROOT / "evidence")
    assert ev.search_log is not None
    assert prisma_flow(ev.search_log).included == len(ev.records)


def test_cli_reports_log_errors_with_their_place(tmp_path, capsys):
    from netevidence.cli import main

    target = _evidence(tmp_path, LOG.replace("records_excluded: 10", "records_excluded: 11"))
    assert main(["validate", str(target)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "[screening-arithmetic]" in x)
    assert line.startswith(f"{target / 'search.yaml'}:20:26: error [screening-arithmetic] "
                           "screening[0].full_texts_assessed: records screened (15) - excluded (11) = 4")
    assert "Fix: correct the counts" in line


def test_every_unreadable_value_of_the_log_is_reported(tmp_path):
    log = LOG.replace("date: 2026-11-30", "date: 2026-02-30").replace("date: 2026-12-01", "date: 2026-13-01")
    report = validate_evidence(_evidence(tmp_path, log))
    bad = [(p.rule, Path(p.file).name, p.line) for p in report.errors if p.rule == "bad-value"]
    assert bad == [("bad-value", "search.yaml", 7), ("bad-value", "search.yaml", 13)]
