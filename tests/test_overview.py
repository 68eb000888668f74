"""The PRISMA diagram drawn from the search log, the reviews' coverage and our pool beside published pools."""

from __future__ import annotations

import html as htmlmod
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from netevidence import load_evidence
from netevidence.plots import prisma_svg
from netevidence.records.searchlog import prisma_flow
from netevidence.report import write_site
from netevidence.report.analysis import comparison_text
from netevidence.report.overview import review_coverage
from netevidence.specs import load_spec, published_comparisons, run_spec

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "overlap"
SVG = "{http://www.w3.org/2000/svg}"


def drawn_counts(svg: str) -> dict[str, int]:
    """Every number drawn in a box, keyed by the box's data-count name."""
    root = ET.fromstring(svg)
    out = {}
    for text in root.iter(f"{SVG}text"):
        key = text.get("data-count")
        if key is None:
            continue
        match = re.search(r"\(n\s*=\s*(\d+)\)$", text.text.replace("\u00a0", " "))
        assert match, text.text
        out[key] = int(match.group(1))
    return out


def log_counts(raw: dict) -> dict[str, int]:
    """The same numbers summed directly from the YAML (independently of the package)."""
    found: dict[str, int] = {}
    for s in raw["searches"]:
        found[s["source"]] = found.get(s["source"], 0) + s["records_found"]
    blocks = raw["screening"]
    out = {f"source:{k}": v for k, v in found.items()}
    out["databases"] = sum(v for k, v in found.items() if k in ("PubMed", "PMC"))
    out["other_methods"] = sum(v for k, v in found.items() if k not in ("PubMed", "PMC"))
    out["identified"] = sum(found.values())
    for key, field in (("duplicates_removed", "duplicates_removed"), ("screened", "records_screened"),
                       ("excluded_screening", "records_excluded"), ("assessed", "full_texts_assessed")):
        out[key] = sum(b[field] for b in blocks)
    reasons: dict[str, int] = {}
    for b in blocks:
        for r in b.get("full_texts_excluded", []):
            reasons[r["reason"]] = reasons.get(r["reason"], 0) + r["count"]
    ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    out.update({f"reason:{k}": v for k, v in ranked[:8]})
    if len(ranked) > 8:
        out["reason:other"] = sum(v for _, v in ranked[8:])
    out["excluded_full_text"] = sum(reasons.values())
    out["included"] = sum(len(b["included"]) for b in blocks)
    topics: dict[str, int] = {}
    for b in blocks:
        topics[b["topic"]] = topics.get(b["topic"], 0) + len(b["included"])
    out.update({f"topic:{k}": v for k, v in topics.items()})
    return out


def test_prisma_diagram_of_the_shipped_site_draws_the_logs_numbers(tmp_path):
    ev = load_evidence(ROOT / "evidence")
    out = tmp_path / "site"
    write_site(ev, out, analyses=None, cache_dir=None, build_time="2000-01-01 00:00 UTC")
    svg = (out / "prisma.svg").read_text(encoding="utf-8")
    raw = yaml.safe_load((ROOT / "evidence" / "search.yaml").read_text(encoding="utf-8"))
    assert drawn_counts(svg) == log_counts(raw)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'src="prisma.svg"' in index
    assert f"{log_counts(raw)['included']} are included in the evidence base" in index


def test_prisma_diagram_with_several_sources_and_reasons():
    raw = yaml.safe_load("""
last_searched: 2026-12-01
searches:
  - {id: sirt-1, topic: sirt, source: PubMed, query: q, date: 2026-11-30, records_found: 40}
  - {id: sirt-2, topic: sirt, source: PMC, query: q, date: 2026-12-01, records_found: 7}
  - {id: prrt-1, topic: prrt, source: conference abstracts, query: q, date: 2026-12-01, records_found: 9}
screening:
  - {topic: sirt, duplicates_removed: 6, records_screened: 41, records_excluded: 30, full_texts_assessed: 11,
     full_texts_excluded: [{reason: "no extractable outcome numbers, in any of the tables or the text", count: 4},
                           {reason: overlapping cohort, count: 2}], included: [a, b, c, d, e]}
  - {topic: prrt, duplicates_removed: 1, records_screened: 8, records_excluded: 5, full_texts_assessed: 3,
     full_texts_excluded: [{reason: overlapping cohort, count: 1}], included: [f, g]}
""")
    from netevidence.records.schema import SearchLog

    svg = prisma_svg(prisma_flow(SearchLog.model_validate(raw)))
    assert drawn_counts(svg) == log_counts(raw)
    assert drawn_counts(svg)["reason:overlapping cohort"] == 3


def test_prisma_diagram_sums_rare_reasons():
    reasons = [{"reason": f"reason {i}", "count": 1 + (i < 3)} for i in range(11)]
    raw = {"last_searched": "2026-12-01", "searches": [
        {"id": "sirt-1", "topic": "sirt", "source": "PubMed", "query": "q", "date": "2026-12-01", "records_found": 20}],
        "screening": [{"topic": "sirt", "duplicates_removed": 0, "records_screened": 20, "records_excluded": 2,
                       "full_texts_assessed": 18, "full_texts_excluded": reasons, "included": ["a", "b", "c", "d"]}]}
    from datetime import date

    from netevidence.records.schema import SearchLog

    log = SearchLog.model_validate({**raw, "last_searched": date(2026, 12, 1),
                                    "searches": [{**raw["searches"][0], "date": date(2026, 12, 1)}]})
    drawn = drawn_counts(prisma_svg(prisma_flow(log)))
    assert drawn == log_counts(raw)
    assert drawn["reason:other"] == 3 and drawn["reason:reason 0"] == 2


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory):
    ev = load_evidence(FIXTURE / "evidence")
    out = tmp_path_factory.mktemp("overlap") / "site"
    write_site(ev, out, analyses=FIXTURE / "analyses", cache_dir=None, build_time="2000-01-01 00:00 UTC")
    return ev, out


def test_report_names_the_publication_left_out_and_why(fixture_site):
    _, out = fixture_site
    page = htmlmod.unescape((out / "analyses" / "sirt-orr.html").read_text(encoding="utf-8"))
    exclusions = page.split("Rows not pooled, with their reasons", 1)[1]
    row = next(r for r in exclusions.split("<tr>") if "Alpha 2015" in r)
    assert "the same cohort as Alpha 2019" in row and "the largest (n = 45), not this one (n = 20)" in row
    assert "alpha-2015.yaml:" in row


def test_our_pool_beside_the_published_pool(fixture_site):
    ev, out = fixture_site
    result = run_spec(ev, load_spec(FIXTURE / "analyses" / "sirt-orr.yaml"))
    (c,) = published_comparisons(ev, result.strata[0])
    p = result.strata[0].prediction
    assert c.review_id == "meta-2020" and c.published == 0.5 and c.published_k == 3
    assert c.difference == pytest.approx(100 * (p.pred - 0.5), rel=1e-12)
    assert c.cis_overlap is (p.ci_low <= 0.6 and 0.4 <= p.ci_high)
    assert c.in_both == ("Omega 2018",) and c.only_ours == ("Alpha 2019",)
    assert c.only_published_held == ("Alpha 2015",) and c.only_published_not_held == 1
    text = comparison_text(c)
    assert f"ours minus published is {100 * (p.pred - 0.5):+.1f} percentage points" in text["estimates"]
    assert "In both: Omega 2018. Only in our pool: Alpha 2019." in text["studies"]
    page = htmlmod.unescape((out / "analyses" / "sirt-orr.html").read_text(encoding="utf-8"))
    assert "Our pool beside the published pools" in page and text["studies"] in page


def test_comparison_without_listed_studies_says_it_is_not_known(fixture_site, tmp_path):
    import shutil

    target = tmp_path / "evidence"
    shutil.copytree(FIXTURE / "evidence", target)
    meta = target / "meta-2020.yaml"
    text = meta.read_text()
    text = text[:text.index("  included_ids")] + text[text.index("outcomes:"):]
    meta.write_text(text)
    ev = load_evidence(target)
    result = run_spec(ev, load_spec(FIXTURE / "analyses" / "sirt-orr.yaml"))
    (c,) = published_comparisons(ev, result.strata[0])
    assert not c.listed
    assert "does not list its included studies in its record" in comparison_text(c)["studies"]
    (row,) = review_coverage(ev, [])
    assert row["listed"] == 0 and "not known" in row["text"]


def test_review_coverage_counts_held_and_pooled(fixture_site):
    ev, out = fixture_site
    result = run_spec(ev, load_spec(FIXTURE / "analyses" / "sirt-orr.yaml"))
    pooled = sorted(set(result.strata[0].rows.query("role == 'study'")["study_id"]))
    (row,) = review_coverage(ev, [{"pooled_studies": pooled}])
    assert (row["reported"], row["listed"], row["held"], row["pooled"], row["not_held"]) == ("3", 3, 2, 1, 1)
    assert row["pooled_names"] == ["Omega 2018"]
    assert row["text"] == "2 of the 3 listed included studies have a record here, 1 of them pooled in at least one analysis"
    index = htmlmod.unescape((out / "index.html").read_text(encoding="utf-8"))
    assert row["text"] in index
    assert "no search log" in index


def test_cache_key_follows_declared_overlaps(tmp_path):
    import shutil

    from netevidence.report.cache import analysis_key

    target = tmp_path / "evidence"
    shutil.copytree(FIXTURE / "evidence", target)
    spec = load_spec(FIXTURE / "analyses" / "sirt-orr.yaml")
    before = analysis_key(load_evidence(target), spec, "code")
    path = target / "alpha-2019.yaml"
    path.write_text(path.read_text() + "distinct_from:\n  - {id: alpha-2015, reason: Checked; no shared patients.}\n")
    assert analysis_key(load_evidence(target), spec, "code") != before


def test_study_pages_show_cohort_and_included_studies(fixture_site):
    _, out = fixture_site
    meta = htmlmod.unescape((out / "studies" / "meta-2020.html").read_text(encoding="utf-8"))
    assert "Included studies without a record here" in meta
    assert "Kappa K et al. Radioembolisation series. Example J 2012;1:1-10." in meta
    assert '<a href="alpha-2015.html">alpha-2015</a>' in meta
    alpha = htmlmod.unescape((out / "studies" / "alpha-2019.html").read_text(encoding="utf-8"))
    assert "Alpha University Hospital; Germany; accrual 2006 to 2017-06" in alpha
