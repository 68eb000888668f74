"""Versioned builds: the manifest, the comparison of two builds and the "What changed" page."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest

from netevidence import load_evidence
from netevidence.cli import main
from netevidence.report import write_site
from netevidence.report.changes import compare, stratum_flags
from netevidence.report.manifest import ManifestError, read_manifest

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- comparison rules


def _manifest(records=None, analyses=None, specs=None, code="c1", version=1):
    return {"format": 1, "version": version, "content_hash": "h", "built": "then", "code": code,
            "specs": specs or {"a": "s1"}, "records": records or {}, "analyses": analyses or {}}


def _stratum(estimate, low, high, k=5, scale="ratio", pooled=True, studies=("x", "y")):
    return {"title": "All studies", "scale": scale, "k": k, "pooled": pooled, "estimate": estimate,
            "ci_low": low, "ci_high": high, "tau2": 0.1, "text": f"{estimate}", "studies": list(studies)}


def test_studies_added_removed_and_corrected_with_the_numbers():
    rec = lambda numbers: {"name": "N", "file": "f.yaml", "numbers": numbers}  # noqa: E731
    old = _manifest(records={
        "a": rec({"q1": {"numbers": {"events": 15, "n": 23}}, "q2": {"numbers": {"percent": 40.0}}}),
        "gone": rec({})})
    new = _manifest(records={
        "a": rec({"q1": {"numbers": {"events": 17, "n": 23}}, "q3": {"numbers": {"percent": 1.0}}}),
        "new": rec({})})
    c = compare(old, new)
    kinds = {s.study_id: s.kind for s in c.studies}
    assert kinds == {"a": "corrected", "gone": "removed", "new": "added"}
    (a,) = [s for s in c.studies if s.study_id == "a"]
    assert [(n.quantity, dict(n.before), dict(n.after)) for n in a.numbers] == [
        ("q1", {"events": 15, "n": 23}, {"events": 17, "n": 23})]
    assert a.added_quantities == ("q3",) and a.removed_quantities == ("q2",)


@pytest.mark.parametrize("before, after, scale, flags", [
    (_stratum(0.50, 0.40, 0.90), _stratum(0.52, 0.41, 0.95), "ratio", ()),  # within 10%, CI still below 1
    (_stratum(0.50, 0.40, 0.90), _stratum(0.60, 0.45, 0.95), "ratio", ("estimate moved by +20% (threshold 10%)",)),
    (_stratum(0.80, 0.60, 0.95), _stratum(0.82, 0.60, 1.05), "ratio", ("the CI now includes 1",)),
    (_stratum(0.90, 0.80, 1.05), _stratum(0.85, 0.75, 0.97), "ratio", ("the CI now excludes 1",)),
    (_stratum(0.60, 0.50, 0.95, scale="proportion"), _stratum(0.62, 0.50, 1.0, scale="proportion"),
     "proportion", ()),  # proportions have no null value
    (None, _stratum(0.5, 0.4, 0.6), "ratio", ("newly pooled",)),
    (_stratum(0.5, 0.4, 0.6), _stratum(None, None, None, k=1, pooled=False), "ratio", ("no longer pooled",)),
])
def test_stratum_flags(before, after, scale, flags):
    assert stratum_flags(before, after, scale, 0.10) == flags


def test_a_change_of_certainty_is_flagged():
    before = dict(_stratum(0.50, 0.40, 0.90), certainty="⊕⊕◯◯ Low")
    after = dict(_stratum(0.51, 0.41, 0.91), certainty="⊕◯◯◯ Very low")
    assert stratum_flags(before, after, "ratio", 0.10) == ("GRADE certainty changed from ⊕⊕◯◯ Low to ⊕◯◯◯ Very low",)
    assert stratum_flags(before, dict(after, certainty="⊕⊕◯◯ Low"), "ratio", 0.10) == ()
    old = _manifest(analyses={"a": {"title": "A", "strata": [before]}})
    new = _manifest(analyses={"a": {"title": "A", "strata": [dict(before, certainty="⊕◯◯◯ Very low")]}})
    assert [s.flags for s in compare(old, new).strata] == [("GRADE certainty changed from ⊕⊕◯◯ Low to ⊕◯◯◯ Very low",)]


def test_the_threshold_comes_from_the_specification():
    old = _manifest(analyses={"a": {"title": "A", "strata": [_stratum(0.50, 0.40, 0.90)]}})
    new = _manifest(analyses={"a": {"title": "A", "strata": [_stratum(0.56, 0.45, 0.95)]}})
    assert compare(old, new).strata[0].flags == ("estimate moved by +12% (threshold 10%)",)
    assert compare(old, new, {"a": 0.2}).strata[0].flags == ()


def test_unchanged_results_are_not_listed_and_specs_and_code_are_compared():
    m = _manifest(analyses={"a": {"title": "A", "strata": [_stratum(0.5, 0.4, 0.6)]}})
    assert compare(m, copy.deepcopy(m)).empty
    other = _manifest(analyses=m["analyses"], specs={"a": "s2", "b": "s3"}, code="c2")
    c = compare(m, other)
    assert (c.specs_added, c.specs_changed, c.code_changed, c.strata) == (("b",), ("a",), True, ())


# --------------------------------------------------------------------------- builds


def _build(ws: Path, out: Path, **kw) -> dict:
    write_site(load_evidence(ws / "evidence"), out, analyses=ws / "analyses", cache_dir=None,
               build_time=kw.pop("build_time", "2026-01-01 00:00 UTC"), **kw)
    return json.loads((out / "manifest.json").read_text())


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_rebuild_lists_exactly_the_added_record_the_corrected_number_and_the_moved_estimate(
        workspace, workspace_studies):
    first = workspace / "first"
    m1 = _build(workspace, first)
    assert m1["version"] == 1 and set(m1["records"]) == set(workspace_studies)
    braat = workspace / "evidence" / "braat-2020.yaml"
    text = braat.read_text()
    assert text.count("events: 15, n: 23") == 2  # the abstract and the seed review print the same count
    braat.write_text(text.replace("events: 15, n: 23", "events: 19, n: 23", 1))
    shutil.copy(ROOT / "evidence" / "gillams-2005.yaml", workspace / "evidence")
    second = workspace / "second"
    m2 = _build(workspace, second, previous=first)
    assert m2["version"] == 2

    c = compare(m1, m2, {"symptom-response": 0.10})
    assert [(s.study_id, s.kind) for s in c.studies] == [("gillams-2005", "added"), ("braat-2020", "corrected")]
    (number,) = [s for s in c.studies if s.kind == "corrected"][0].numbers
    assert number.quantity.startswith("symptom_response") and "source braat-2020 (abstract)" in number.quantity
    assert (number.before["events"], number.after["events"]) == (15, 19)
    overall = [s for s in c.strata if s.stratum == "All studies"][0]
    assert (overall.before["k"], overall.after["k"]) == (4, 5)
    assert overall.studies_added == ("gillams-2005",) and overall.studies_removed == ()
    assert overall.before["estimate"] != overall.after["estimate"]

    page = _text((second / "changes.html").read_text())
    assert "Version 2 compared with version 1" in page
    assert "1 added, 0 removed, 1 corrected." in page
    assert "events 15, n 23, percent 65.0 events 19, n 23, percent 65.0" in page
    assert f"{overall.before['text']} {overall.after['text']}" in page
    assert "added: gillams-2005" in page
    index = _text((second / "index.html").read_text())
    assert "Changelog" in index and "1 study added; 1 study corrected" in index
    assert sorted(p.name for p in (second / "versions").iterdir()) == ["v1.json", "v2.json"]


def test_versions_count_changes_not_builds_and_every_page_shows_the_version(workspace):
    out = workspace / "site"
    assert _build(workspace, out)["version"] == 1
    assert _build(workspace, out, build_time="2026-02-02 00:00 UTC")["version"] == 1  # nothing changed
    page = _text((out / "changes.html").read_text())
    assert "Nothing changed: the same records, specifications and code." in page
    (workspace / "evidence" / "pickens-2021.yaml").write_text(
        (workspace / "evidence" / "pickens-2021.yaml").read_text() + "\n# a comment changes the file\n")
    m = _build(workspace, out)
    assert m["version"] == 2 and sorted(p.name for p in (out / "versions").iterdir()) == ["v1.json", "v2.json"]
    for html in [out / "index.html", out / "methods.html", out / "changes.html",
                 *(out / "studies").glob("*.html"), *(out / "analyses").glob("*.html")]:
        assert "Version 2 (" in _text(html.read_text()), html
        assert "Literature last searched" not in _text(html.read_text())  # this evidence has no search log


def test_every_page_names_the_date_of_the_last_search(tmp_path):
    import yaml

    ev = load_evidence(ROOT / "evidence")
    out = tmp_path / "site"
    an = tmp_path / "analyses"
    an.mkdir()
    write_site(ev, out, analyses=an, cache_dir=None)
    log = yaml.safe_load((ROOT / "evidence" / "search.yaml").read_text())
    date = str(log["last_searched"])
    pages = [out / "index.html", out / "changes.html", *(out / "studies").glob("*.html")]
    assert len(pages) > 50
    for html in pages:
        assert f"Literature last searched {date}." in _text(html.read_text()), html


def test_the_first_build_says_there_is_nothing_to_compare(workspace):
    out = workspace / "site"
    _build(workspace, out)
    assert "no earlier build was available to compare it with" in _text((out / "changes.html").read_text())


def test_an_unreadable_previous_build_is_a_clear_error(workspace, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ManifestError, match="not a readable build manifest"):
        read_manifest(bad)
    argv = ["report", "--evidence", str(workspace / "evidence"), "--analyses", str(workspace / "analyses"),
            "--out", str(workspace / "site"), "--quiet", "--no-cache"]
    assert main(argv + ["--previous", str(bad)]) == 1
    assert "Fix: give the manifest.json of an earlier build" in capsys.readouterr().err
    assert main(argv + ["--previous", str(tmp_path)]) == 1
    assert "no build manifest there" in capsys.readouterr().err
    assert not (workspace / "site").exists()
