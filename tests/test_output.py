"""Output directories: inputs are never touched, swaps are atomic, builds are locked, leftovers go."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from netevidence.cli import main
from netevidence.output import (MARKER, OutputError, atomic_directory, exchange, output_lock, recover)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _snapshot(*dirs: Path) -> dict[str, str]:
    out = {}
    for d in dirs:
        for p in sorted(d.rglob("*")):
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A project folder with a small evidence directory (a record with digitised curves) and analyses."""
    shutil.copytree(FIXTURES / "curves", tmp_path / "evidence")
    shutil.copy(FIXTURES / "valid" / "demo-study.yaml", tmp_path / "evidence" / "demo-study.yaml")
    (tmp_path / "analyses").mkdir()
    return tmp_path


def _clashes(ws: Path) -> list[tuple[list[str], str]]:
    ev, an = ws / "evidence", ws / "analyses"
    (ws / "link-to-evidence").symlink_to(ev, target_is_directory=True)
    report = ["report", "--evidence", str(ev), "--analyses", str(an), "--quiet"]
    return [
        (report + ["--out", str(ev)], "is the input"),
        (report + ["--out", str(ws)], "contains the input"),
        (report + ["--out", str(ev / "site")], "lies inside the input directory"),
        (report + ["--out", str(ev / "curves")], "lies inside the input directory"),
        (report + ["--out", str(an)], "is the input"),
        (report + ["--out", str(ws / "link-to-evidence")], "is the input"),
        (report + ["--out", str(ws / "site"), "--cache", str(ev / "cache")], "cache directory"),
        (report + ["--out", str(ws / "site"), "--cache", str(ev)], "cache directory"),
        (["tables", str(ev), "--out", str(ev)], "is the input"),
        (["tables", str(ev), "--out", str(ws)], "contains the input"),
        (["tables", str(ev), "--out", str(ev / "tables")], "lies inside the input directory"),
        (["tables", str(ev / "demo-study.yaml"), "--out", str(ev / "demo-study.yaml")], "is the input"),
        (["tables", str(ev / "radiant-4.yaml"), "--out", str(ev / "curves")], "contains the input"),
    ]


def test_no_clashing_out_ever_touches_the_evidence(workspace, capsys):
    before = _snapshot(workspace / "evidence", workspace / "analyses")
    for argv, reason in _clashes(workspace):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert reason in err and "Fix:" in err and "Traceback" not in err, (argv, err)
        assert _snapshot(workspace / "evidence", workspace / "analyses") == before, argv
    assert sorted(p.name for p in (workspace / "evidence").iterdir()) == ["curves", "demo-study.yaml", "radiant-4.yaml"]


def test_a_directory_not_written_by_netevidence_is_refused(workspace, capsys):
    mine = workspace / "my-notes"
    mine.mkdir()
    (mine / "todo.txt").write_text("keep me")
    assert main(["tables", str(workspace / "evidence"), "--out", str(mine)]) == 1
    err = capsys.readouterr().err
    assert "was not written by netevidence" in err and MARKER in err
    assert (mine / "todo.txt").read_text() == "keep me"
    empty = workspace / "empty"
    empty.mkdir()
    assert main(["tables", str(workspace / "evidence"), "--out", str(empty)]) == 0
    assert (empty / MARKER).is_file() and (empty / "outcomes.csv").is_file()
    assert main(["tables", str(workspace / "evidence"), "--out", str(empty)]) == 0  # ours now: replaced


def test_an_existing_file_as_output_is_refused(workspace, capsys):
    f = workspace / "file.txt"
    f.write_text("x")
    assert main(["tables", str(workspace / "evidence"), "--out", str(f)]) == 1
    assert "is not a directory" in capsys.readouterr().err
    assert f.read_text() == "x"


def test_a_concurrent_build_is_refused_with_a_clear_message(workspace, capsys):
    out = workspace / "tables"
    with output_lock(out.resolve()):
        assert main(["tables", str(workspace / "evidence"), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "another netevidence build is writing" in err and "Fix: wait" in err
    assert not out.exists()
    assert main(["tables", str(workspace / "evidence"), "--out", str(out)]) == 0


def test_stale_staging_folders_are_removed_by_the_next_run(workspace):
    out = workspace / "tables"
    assert main(["tables", str(workspace / "evidence"), "--out", str(out)]) == 0
    for name in (".tables.new-abc", ".tables.old-def", ".tables.new-ghi"):
        (workspace / name).mkdir()
        (workspace / name / "x").write_text("left by a killed build")
    (workspace / ".other.new-keep").mkdir()
    assert main(["tables", str(workspace / "evidence"), "--out", str(out)]) == 0
    names = sorted(p.name for p in workspace.iterdir() if p.name.startswith("."))
    assert names == [".other.new-keep", ".tables.lock"]


def test_a_build_killed_between_the_fallback_renames_is_repaired(tmp_path):
    target = tmp_path / "site"
    with atomic_directory(target) as staging:
        (staging / "index.html").write_text("previous")
    os.rename(target, tmp_path / ".site.old-x1")  # the state after the first of two renames
    (tmp_path / ".site.new-x2").mkdir()
    recover(target)
    assert (target / "index.html").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "site"]


def test_exchange_swaps_two_directories(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("A")
    (b / "f").write_text("B")
    if not exchange(a, b):
        pytest.skip("the file system cannot exchange directories")
    assert (a / "f").read_text() == "B" and (b / "f").read_text() == "A"


def test_fallback_swap_without_exchange(tmp_path, monkeypatch):
    import netevidence.output as output

    monkeypatch.setattr(output, "exchange", lambda a, b: False)
    target = tmp_path / "site"
    for text in ("one", "two"):
        with atomic_directory(target) as staging:
            (staging / "index.html").write_text(text)
        assert (target / "index.html").read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "site"]


def test_protected_output_error_is_raised_by_the_python_api(workspace):
    with pytest.raises(OutputError, match="is the input"):
        with atomic_directory(workspace / "evidence", protect=[workspace / "evidence"]):
            pass


def _build_forever(ev: str, out: str, an: str, ready) -> None:
    from netevidence import load_evidence
    from netevidence.report import write_site

    evidence = load_evidence(ev)
    ready.set()
    while True:
        write_site(evidence, out, analyses=an, cache_dir=None, build_time="fixed")


def test_killing_builds_at_random_points_always_leaves_a_complete_site(workspace):
    """SIGKILL a child process that rebuilds the site in a loop, at random instants: the site path always
    holds a complete build (the same files as a clean build), and the next run leaves no staging folder."""
    import multiprocessing

    out = workspace / "site"
    ev, an = workspace / "evidence", workspace / "analyses"
    from netevidence import load_evidence
    from netevidence.report import write_site

    for _ in range(2):  # the second build compares itself with the first, as every later one does
        write_site(load_evidence(ev), out, analyses=an, cache_dir=None, build_time="fixed")
    expected = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    rng = random.Random(20261201)
    ctx = multiprocessing.get_context("fork")
    for _ in range(12):
        ready = ctx.Event()
        proc = ctx.Process(target=_build_forever, args=(str(ev), str(out), str(an), ready))
        proc.start()
        assert ready.wait(60)
        time.sleep(rng.uniform(0.0, 0.5))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        assert got == expected
    write_site(load_evidence(ev), out, analyses=an, cache_dir=None, build_time="fixed")
    assert sorted(p.name for p in workspace.iterdir() if p.name.startswith(".")) == [".site.lock"]


@pytest.fixture
def one_spec(tmp_path: Path) -> Path:
    an = tmp_path / "analyses"
    an.mkdir()
    shutil.copy(ROOT / "analyses" / "symptom-response.yaml", an)
    return an


def _analysis_entries(cache: Path) -> list[Path]:
    """The analysis cache's entries (beside them the cache keeps its figure and page caches)."""
    return [p for p in cache.iterdir() if p.is_dir() and (p / "result.json").is_file()]


def _site_files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


@pytest.mark.parametrize("damage", ["truncate-result", "delete-png", "alter-svg", "result-not-object"])
def test_a_damaged_cache_entry_is_a_miss_and_is_rebuilt(tmp_path, one_spec, damage):
    from netevidence import load_evidence
    from netevidence.report import write_site

    ev = load_evidence(ROOT / "evidence")
    cache, out = tmp_path / "cache", tmp_path / "site"
    for _ in range(2):  # the second build compares itself with the first, as every later one does
        write_site(ev, out, analyses=one_spec, cache_dir=cache, build_time="fixed")
    expected = _site_files(out)
    (entry,) = _analysis_entries(cache)
    pngs, svgs = sorted((entry / "img").glob("*.png")), sorted((entry / "img").glob("*.svg"))
    assert pngs and svgs
    if damage == "truncate-result":
        (entry / "result.json").write_bytes((entry / "result.json").read_bytes()[:50])
    elif damage == "garbage-result":
        (entry / "result.json").write_bytes(b"\xff\xfe not json")
    elif damage == "delete-png":
        pngs[0].unlink()
    elif damage == "alter-svg":
        svgs[0].write_text("<svg/>")
    elif damage == "delete-manifest":
        (entry / "manifest.json").unlink()
    else:
        (entry / "result.json").write_text("[1, 2]")
    write_site(ev, out, analyses=one_spec, cache_dir=cache, build_time="fixed")
    assert _site_files(out) == expected
    # the rebuilt entry was stored again and is used as is
    (entry,) = _analysis_entries(cache)
    assert (entry / "manifest.json").is_file() and sorted((entry / "img").glob("*.png"))
