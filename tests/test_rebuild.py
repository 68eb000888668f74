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
EPOCH = "1767225600"  # 2026-01-01 00:00 UTC: the build time printed on the pages


@pytest.fixture(autouse=True)
def fixed_build_time(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


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


def test_cached_records_give_the_same_report_and_a_damaged_cache_is_a_miss(tmp_path, workspace_studies):
    ev = tmp_path / "evidence"
    shutil.copytree(ROOT / "tests" / "fixtures" / "curves", ev)
    for sid in workspace_studies:
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


def test_a_changed_record_redraws_and_renders_only_what_shows_it(workspace):
    """One number of one record changed: the analyses that select the record (as the specs module tells)
    are recomputed, and of their figures only those whose plot changed are drawn again; of the pages, only
    the record's own, the pages of analyses whose content changed and the pages that list every study or
    analysis are rendered. The site equals a build from scratch byte for byte."""
    from netevidence import load_evidence
    from netevidence.report import write_site
    from netevidence.report.pages import BuildLog
    from netevidence.specs import load_spec, spec_files, spec_studies

    shutil.copy(ROOT / "analyses" / "ablation-complications.yaml", workspace / "analyses")
    shutil.copy(ROOT / "analyses" / "sirt-response.yaml", workspace / "analyses")

    def build(out: str, cache: bool) -> BuildLog:
        log = BuildLog()
        write_site(load_evidence(workspace / "evidence"), workspace / out, analyses=workspace / "analyses",
                   cache_dir=workspace / "cache" if cache else None, log=log)
        return log

    first = build("site", cache=True)
    assert first.analyses_cached == [] and first.figures_copied == [] and first.pages_cached == []
    n_pages = len(first.pages_rendered)
    # nothing changed: nothing computed or drawn; only the pages that compare with the site being replaced
    # (the first build had none to compare with) are rendered
    again = build("site", cache=True)
    assert (again.analyses_computed, again.figures_drawn) == ([], [])
    assert "changes.html" in again.pages_rendered and set(again.pages_rendered) <= {"changes.html", "index.html"}
    assert len(again.pages_cached) == n_pages - len(again.pages_rendered) and sorted(again.analyses_cached) == sorted(first.analyses_computed)

    build("scratch", cache=False)  # the same builds without a cache, to compare with
    build("scratch", cache=False)
    f = workspace / "evidence" / "braat-2020.yaml"
    text = f.read_text(encoding="utf-8")
    assert text.count("events: 15, n: 23") == 2
    f.write_text(text.replace("events: 15, n: 23", "events: 14, n: 23", 1), encoding="utf-8")
    log = build("site", cache=True)

    evidence = load_evidence(workspace / "evidence")
    selecting = sorted(spec.id for spec in (load_spec(p, studies=[r.id for r in evidence.records])
                                            for p in spec_files(workspace / "analyses"))
                       if "braat-2020" in spec_studies(evidence, spec))
    assert selecting == ["sirt-response", "symptom-response"]  # not ablation-complications
    assert sorted(log.analyses_computed) == selecting
    assert sorted(log.analyses_cached) == ["ablation-complications"]
    assert log.figures_drawn and all(name.startswith(tuple(selecting)) for name in log.figures_drawn)
    assert len(log.figures_drawn) < len(first.figures_drawn) - len(log.analyses_cached)
    assert "studies/braat-2020.html" in log.pages_rendered and "index.html" in log.pages_rendered
    allowed = {"studies/braat-2020.html", "index.html", "methods.html", "changes.html"} | {
        f"analyses/{a}.html" for a in selecting}
    assert set(log.pages_rendered) <= allowed, set(log.pages_rendered) - allowed
    assert len(log.pages_rendered) + len(log.pages_cached) == n_pages

    build("scratch", cache=False)
    warm, scratch = _files(workspace / "site"), _files(workspace / "scratch")
    assert warm == scratch  # the manifests too: same inputs, same fixed build time, same version
    assert b"Version 2 " in warm["studies/pickens-2021.html"]  # a page from the cache shows the new version


def test_a_damaged_figure_or_page_in_the_cache_is_a_miss(workspace):
    from netevidence import load_evidence
    from netevidence.report import write_site
    from netevidence.report.pages import BuildLog

    def build(out: str) -> BuildLog:
        log = BuildLog()
        write_site(load_evidence(workspace / "evidence"), workspace / out, analyses=workspace / "analyses",
                   cache_dir=workspace / "cache", log=log)
        return log

    build("site")
    build("site")  # now the pages that compare with the site being replaced are in the cache too
    expected = _files(workspace / "site")
    for entry in (workspace / "cache").iterdir():  # every analysis is recomputed, its figures come from the cache
        if entry.is_dir() and entry.name.startswith("symptom-response-"):
            shutil.rmtree(entry)
    figure = next((workspace / "cache" / "figures").iterdir())
    (figure / "figure.png").write_bytes((figure / "figure.png").read_bytes()[:-7])
    page = workspace / "cache" / "pages" / next(p.name for p in (workspace / "cache" / "pages").iterdir())
    page.write_text(page.read_text(encoding="utf-8").replace("<", "[", 1), encoding="utf-8")
    log = build("site")
    assert len(log.figures_drawn) == 1 and len(log.pages_rendered) == 1  # the damaged entries, and nothing else
    assert _files(workspace / "site") == expected


def test_a_figure_key_changes_with_anything_the_plot_holds():
    import numpy as np
    import pandas as pd
    from plotnine import aes, geom_point, ggplot, labs, theme

    from netevidence.report.figures import plot_fingerprint

    def plot(y=(1.0, 2.0), colour="black", title="t", size=(3, 2), column="y"):
        frame = pd.DataFrame({"x": [0.0, 1.0], column: list(y)})
        return (ggplot(frame, aes("x", column)) + geom_point(color=colour) + labs(title=title)
                + theme(figure_size=size))

    base = plot_fingerprint(plot())
    assert base is not None and base == plot_fingerprint(plot())
    for changed in (plot(y=(1.0, 2.000001)), plot(colour="red"), plot(title="u"), plot(size=(3, 3)),
                    plot(column="z"), plot() + geom_point(color="blue")):
        assert plot_fingerprint(changed) != base
    odd = plot()
    odd.data["y"] = np.array([object(), object()], dtype=object)  # a value with no deterministic form
    assert plot_fingerprint(odd) is None
