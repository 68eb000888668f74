"""Rebuilding a living review: the parsed-record cache, the up-to-date check of a built site, and that a
warm rebuild writes the same bytes as a build from scratch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from netevidence.buildstate import BuildState, site_inputs
from netevidence.cli import main
from netevidence.records import validate_evidence
from netevidence.records.cache import CACHE_FILE, RecordCache

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ("braat-2020", "sartori-laser", "pickens-2021", "strosberg-2006")
EPOCH = "1767225600"  # 2026-01-01 00:00 UTC: the build time printed on the pages


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    ev = tmp_path / "evidence"
    ev.mkdir()
    for sid in STUDIES:
        shutil.copy(ROOT / "evidence" / f"{sid}.yaml", ev)
    shutil.copy(ROOT / "evidence" / "sources.yaml", ev)
    an = tmp_path / "analyses"
    an.mkdir()
    shutil.copy(ROOT / "analyses" / "symptom-response.yaml", an)
    return tmp_path


def _report(ws: Path, out: str, *extra: str) -> str:
    argv = ["report", "--evidence", str(ws / "evidence"), "--analyses", str(ws / "analyses"),
            "--out", str(ws / out), "--quiet", *extra]
    assert main(argv) == 0
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_warm_rebuild_is_byte_identical_to_a_build_from_scratch(workspace, capsys):
    cache = ["--cache", str(workspace / "cache")]
    _report(workspace, "site", *cache)
    assert "wrote" in capsys.readouterr().out
    _report(workspace, "site", *cache)  # nothing changed: the site is left as it is
    assert "is up to date" in capsys.readouterr().out
    _report(workspace, "scratch", "--no-cache")
    assert _files(workspace / "site") == _files(workspace / "scratch")

    # one record changed: both rebuilt (the warm one from the caches), compared with their earlier build
    f = workspace / "evidence" / "pickens-2021.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("events: 19", "events: 18"), encoding="utf-8")
    _report(workspace, "site", *cache)
    assert "wrote" in capsys.readouterr().out
    _report(workspace, "scratch", "--no-cache")
    warm, scratch = _files(workspace / "site"), _files(workspace / "scratch")
    assert warm == scratch
    assert b"18/20" in warm["studies/pickens-2021.html"] and warm["manifest.json"].count(b'"version":2') == 1


def test_a_damaged_site_or_any_changed_input_means_a_rebuild(workspace, capsys):
    cache = ["--cache", str(workspace / "cache")]
    _report(workspace, "site", *cache)
    _report(workspace, "scratch", "--no-cache")
    _report(workspace, "scratch", "--no-cache")  # a rebuild compares with the site it replaces: nothing changed
    expected = _files(workspace / "scratch")
    page = workspace / "site" / "studies" / "braat-2020.html"
    for damage in (lambda: page.write_bytes(page.read_bytes()[:-10]), page.unlink,
                   lambda: (workspace / "site" / "extra.html").write_text("x")):
        capsys.readouterr()
        damage()
        _report(workspace, "site", *cache)
        assert "wrote" in capsys.readouterr().out
        assert _files(workspace / "site") == expected
    inputs = site_inputs(workspace / "evidence", workspace / "analyses", None, EPOCH)
    for path in (workspace / "analyses" / "symptom-response.yaml", workspace / "evidence" / "sources.yaml",
                 workspace / "evidence" / "curves" / "new.csv"):
        path.parent.mkdir(exist_ok=True)
        original = path.read_bytes() if path.exists() else None
        path.write_bytes((original or b"") + b"\n# changed\n")
        assert site_inputs(workspace / "evidence", workspace / "analyses", None, EPOCH) != inputs, path
        path.write_bytes(original) if original is not None else path.unlink()
    assert site_inputs(workspace / "evidence", workspace / "analyses", None, EPOCH) == inputs
    assert site_inputs(workspace / "evidence", workspace / "analyses", None, "0") != inputs
    assert site_inputs(workspace / "evidence", workspace / "analyses", workspace / "scratch", EPOCH) != inputs
    state = BuildState(workspace / "cache", workspace / "site", inputs)
    assert state.is_current()
    state.file.write_text("{not json")
    assert not state.is_current()


def _same(a, b) -> None:
    assert a.problems == b.problems
    assert [r.record for r in a.records] == [r.record for r in b.records]
    assert [r.parsed for r in a.records] == [r.parsed for r in b.records]
    assert [{k: (v.curve.to_csv(), v.curve_file) for k, v in r.curves.items()} for r in a.records] == \
           [{k: (v.curve.to_csv(), v.curve_file) for k, v in r.curves.items()} for r in b.records]


def test_cached_records_give_the_same_report_and_a_damaged_cache_is_a_miss(tmp_path):
    ev = tmp_path / "evidence"
    shutil.copytree(ROOT / "tests" / "fixtures" / "curves", ev)
    for sid in STUDIES:
        shutil.copy(ROOT / "evidence" / f"{sid}.yaml", ev)
    fresh = validate_evidence(ev)
    assert any(r.curves for r in fresh.records)
    cache_dir = tmp_path / "cache"
    _same(validate_evidence(ev, cache=RecordCache(cache_dir)), fresh)
    cache = RecordCache(cache_dir)
    assert len(cache) == len(fresh.records)
    _same(validate_evidence(ev, cache=cache), fresh)
    # a damaged cache file is a miss, and is written again
    raw = (cache_dir / CACHE_FILE).read_bytes()
    (cache_dir / CACHE_FILE).write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    assert len(RecordCache(cache_dir)) == 0
    _same(validate_evidence(ev, cache=RecordCache(cache_dir)), fresh)
    assert len(RecordCache(cache_dir)) == len(fresh.records)
    # another version of the code does not use the entries
    f = ev / "braat-2020.yaml"
    shared = (ev / "sources.yaml").read_bytes() if (ev / "sources.yaml").is_file() else b""
    assert RecordCache(cache_dir).key(f, f.read_bytes(), shared) in RecordCache(cache_dir).stored_keys()
    assert RecordCache(cache_dir, code="other").key(f, f.read_bytes(), shared) not in RecordCache(cache_dir).stored_keys()
    # a changed curve file is read again, and its problem reported
    csv = next((ev / "curves").glob("*at-risk.csv"))
    csv.write_text(csv.read_text().replace("\n0.0,", "\n0.0,9", 1))
    changed = validate_evidence(ev, cache=RecordCache(cache_dir))
    _same(changed, validate_evidence(ev))
    assert any(p.rule == "curve-file" for p in changed.errors)
