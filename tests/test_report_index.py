"""The index's summary by modality and the study pages, on the shipped evidence and on evidence with a
constructed record added (a glass-microsphere study), and the data-cut labels and order."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from netevidence import load_evidence
from netevidence.labels import data_cut_labels, data_cut_order, term_label
from netevidence.records.vocabulary import modality_label
from netevidence.report import write_site
from netevidence.report.formatting import percent_text, statistic_text
from netevidence.report.study import build_study
from netevidence.specs import load_spec, run_spec
from test_report import add_to_search_log

ROOT = Path(__file__).resolve().parent.parent
GLASS = """\
id: glass-test-2024
name: Glass Test 2024
title: A constructed glass-microsphere series (test record)
design: retrospective_cohort
modality: [sirt_glass]
citation: glass-test-2024
sources:
  glass-test-2024: {title: A constructed glass-microsphere series, year: 2024}
population:
  patients: 40
  provenance: {source: glass-test-2024, location: abstract, kind: primary, verified: true}
outcomes:
  - endpoint: os
    statistic: {kind: median_time, estimate: 30, ci_low: 20, ci_high: 44, ci_level: 0.95, unit: months}
    provenance: {source: glass-test-2024, location: abstract, kind: primary, verified: true}
"""


def _summary_rows(html: str) -> list[list[str]]:
    """The summary-by-modality table as rows of cell texts (tags stripped)."""
    table = html.split('id="summary"', 1)[1].split("</table>", 1)[0]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S):
        rows.append([re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S)])
    return rows


@pytest.fixture(scope="module")
def glass_site(tmp_path_factory):
    base = tmp_path_factory.mktemp("glass")
    evidence = base / "evidence"
    shutil.copytree(ROOT / "evidence", evidence)
    (evidence / "glass-test-2024.yaml").write_text(GLASS, encoding="utf-8")
    add_to_search_log(evidence, "glass-test-2024")
    analyses = base / "analyses"
    analyses.mkdir()
    shutil.copy(ROOT / "analyses" / "sirt-survival.yaml", analyses)
    ev = load_evidence(evidence)
    assert {w.rule for w in ev.warnings if "glass-test" in str(w.file)} <= {"no-risk-of-bias"}
    out = base / "site"
    write_site(ev, out, analyses=analyses, cache_dir=base / "cache", build_time="2000-01-01 00:00 UTC")
    return ev, out


def test_a_pool_across_microsphere_types_stays_under_each_type(glass_site):
    ev, out = glass_site
    medians = next(st for st in run_spec(ev, load_spec(ROOT / "analyses" / "sirt-survival.yaml")).strata
                   if st.title == "Medians")
    pooled = medians.rows[medians.rows["role"] == "study"]
    spanned = set(pooled["modality"])
    assert {"sirt_glass", "sirt_resin"} <= spanned  # the pool spans both sphere types
    rows = _summary_rows((out / "index.html").read_text(encoding="utf-8"))
    first = [r[0] for r in rows if len(r) in (4, 8)]
    assert not [m for m in first if "+" in m], first  # no row for the combination
    # each result row with its modality row's name, records and patients (those cells span its rows)
    results, head = [], None
    for r in rows:
        if len(r) == 8:
            head = r[:3]
        if len(r) in (5, 8):
            results.append(head + r[-5:])
    glass_name, resin_name = modality_label("sirt_glass"), modality_label("sirt_resin")
    across = modality_label("+".join(sorted(spanned)))
    for name in (glass_name, resin_name):
        (row,) = [r for r in results if r[0] == name and r[4] == "Medians"]
        assert row[1] != "0" and row[2] != ""
        assert row[5] == str(len(pooled)) and row[7] == f"pooled, across {across}"
    glass = next(r for r in results if r[0] == glass_name)
    assert glass[1] == str(int(ev.studies["modality"].astype(str).str.contains("sirt_glass").sum()))


def test_characteristics_read_as_numbers_not_field_names():
    ev = load_evidence(ROOT / "evidence")
    page = build_study(ev, "braat-2020", {})
    values = {c["name"]: c["value"] for c in page["characteristics"]}
    assert values["whole-liver-treatment"] == "32/58 (55.0%)"
    assert values["interval-after-prrt"] == "353 days"
    assert not [v for v in values.values() if re.search(r"\b(events|percent|n) \d", v)]


@pytest.mark.parametrize("row, text", [
    ({"statistic": "count", "events": 16, "n": 40}, "16/40 (40.0%)"),
    ({"statistic": "count", "events": 32, "n": 58, "percent": 55.0}, "32/58 (55.0%)"),
    ({"statistic": "median_time", "estimate": 36.3, "ci_low": 25.1, "ci_high": 44.1, "ci_level": 0.95,
      "unit": "months"}, "36.3 months (95% CI 25.1 to 44.1 months)"),
    ({"statistic": "median_time", "not_reached": True, "ci_low": 30.0, "ci_high_not_reached": True,
      "ci_level": 0.95, "unit": "months"}, "not reached (95% CI 30 to not reached months)"),
    ({"statistic": "survival_at", "percent": 62.5, "ci_low": 48.1, "ci_high": 74.0, "ci_level": 0.95},
     "62.5% (95% CI 48.1% to 74.0%)"),
    ({"statistic": "hazard_ratio", "estimate": 0.21, "ci_low": 0.13, "ci_high": 0.33, "ci_level": 0.95,
      "p": 0.001, "p_relation": "<"}, "HR 0.21 (95% CI 0.13 to 0.33), p < 0.001"),
    ({"statistic": "proportion", "percent": 12.35, "n": 40}, "12.35% of 40"),
])
def test_one_helper_formats_every_statistic(row, text):
    assert statistic_text(row) == text


def test_percentages_keep_a_decimal():
    assert percent_text(55) == "55.0%" and percent_text(12.35) == "12.35%" and percent_text(None) == ""


def test_data_cuts_show_their_labels_in_time_order():
    ev = load_evidence(ROOT / "evidence")
    labels = data_cut_labels(ev.data_cuts)
    rank = data_cut_order(ev.data_cuts)
    netter = {c: r for (s, c), r in rank.items() if s == "netter-1"}
    # by cut-off date (a cut with only a year from the start of that year), undated cuts last
    assert netter["primary-2017"] < netter["update-2016-06"] < netter["final-os-2021"] < netter["later-abstracts"]
    result = run_spec(ev, load_spec(ROOT / "analyses" / "netter-1-hazard-ratios.yaml"))
    pfs = next(st for st in result.strata if st.title.startswith("Progression-free survival"))
    pooled = pfs.rows[pfs.rows["role"] == "study"]
    inverse = {v: c for (sid, c), v in labels.items() if sid == "netter-1"}
    cuts = [inverse[d] for d in pooled["detail"]]
    assert len(cuts) >= 3 and cuts == sorted(cuts, key=netter.get)
    assert "primary-2017" not in " ".join(pfs.rows["detail"])
    page = build_study(ev, "netter-1", {})
    assert [c["data_cut"] for c in page["data_cuts"]] == sorted(netter, key=netter.get)
    assert {o["data_cut"] for o in page["outcomes"] if o["data_cut"]} <= set(labels.values())


def test_every_figure_links_its_svg_png_and_pdf(glass_site):
    _, out = glass_site
    page = out / "analyses" / "sirt-survival.html"
    figures = re.findall(r"<figure>(.*?)</figure>", page.read_text(encoding="utf-8"), flags=re.S)
    assert figures
    for fig in figures:
        caption = fig.split("<figcaption>", 1)[1]
        links = re.findall(r'<a href="([^"]+)">(SVG|PNG|PDF)</a>', caption)
        assert [kind for _, kind in links] == ["SVG", "PNG", "PDF"]
        for href, kind in links:
            target = page.parent / href
            assert target.suffix == f".{kind.lower()}" and target.stat().st_size > 1000
        assert (page.parent / links[2][0]).read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("code, label", [("hepatic_failure", "hepatic failure"), ("liver-abscess", "liver abscess"),
                                         ("bilirubin_grade3", "bilirubin grade 3"),
                                         ("treatment-related-sae", "treatment related sae")])
def test_qualifiers_read_as_words(code, label):
    assert term_label("qualifier", code) == label


def test_index_numbers_name_their_study_and_list_each_modality_once(tmp_path):
    """Transarterial complications mix series of TAE alone with series of TAE and TACE together: a pooled
    row's modality lists each term once (it was 'tae+tae+tace', so the row appeared twice under TAE), outcome
    texts carry no slugs, arms appear by their labels, and an unpooled number names its publication."""
    from netevidence.report.analysis import build_analysis

    ev = load_evidence(ROOT / "evidence")
    page = build_analysis(ev, load_spec(ROOT / "analyses" / "transarterial-complications.yaml"),
                          img_dir=tmp_path, img_rel="img")
    summary = page["summary"]
    assert summary
    for s in summary:
        terms = str(s["modality"]).split("+")
        assert len(terms) == len(set(terms)), s["modality"]
        assert "_" not in s["stratum"], s["stratum"]
    names = set(ev.studies["study_name"])
    unpooled = [s for s in summary if s["kind"].startswith(("single study", "reported by"))]
    assert unpooled
    for s in unpooled:
        assert any(n in s["kind"] for n in names), s["kind"]
    arm_slugs = {a for a in ev.arms["arm"] if a not in set(ev.arms["label"])}
    details = [re.search(r"\(([^()]*)\)$", s["stratum"]) for s in summary]
    assert not [d.group(1) for d in details if d and d.group(1) in arm_slugs]
def _summary_links(html: str) -> dict[str, list[tuple[str, list[str]]]]:
    """Each modality of the summary-by-modality table -> its rows as (analysis link or "", cell texts)."""
    table = html.split('id="summary"', 1)[1].split("</table>", 1)[0]
    out: dict[str, list[tuple[str, list[str]]]] = {}
    modality = None
    for tr in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S)]
        if len(cells) in (4, 8):   # the first row of a modality: its name, records and patients span its rows
            modality = cells[0]
        link = re.search(r'<a href="(analyses/[^"#]+)', tr)
        out.setdefault(modality, []).append((link.group(1) if link else "", cells[-5:]))
    return out


@pytest.fixture(scope="module")
def comparison_site(tmp_path_factory):
    base = tmp_path_factory.mktemp("comparison")
    analyses = base / "analyses"
    analyses.mkdir()
    for name in ("tace-vs-tae", "sirt-response", "ablation-complications", "transarterial-complications"):
        shutil.copy(ROOT / "analyses" / f"{name}.yaml", analyses)
    out = base / "site"
    write_site(load_evidence(ROOT / "evidence"), out, analyses=analyses, cache_dir=base / "cache",
               build_time="2000-01-01 00:00 UTC")
    return out


def test_both_arms_of_a_comparison_link_to_its_analysis(comparison_site):
    summary = _summary_links((comparison_site / "index.html").read_text(encoding="utf-8"))
    tace, tae = summary[modality_label("tace")], summary[modality_label("tae")]
    assert "analyses/tace-vs-tae.html" in {link for link, _ in tace}
    tace = [(link, cells) for link, cells in tace if link == "analyses/tace-vs-tae.html"]
    tae = [(link, cells) for link, cells in tae if link == "analyses/tace-vs-tae.html"]
    assert tae
    # the comparator arm's row links to the same comparison, with the same numbers, and says it is the comparator
    assert not [cells for _, cells in summary[modality_label("tae")] if "no analysis yet" in " ".join(cells)]
    assert sorted(cells[:4] for _, cells in tae) == sorted(cells[:4] for _, cells in tace)
    assert all(cells[4].endswith(f"{modality_label('tae')} as the comparator") for _, cells in tae), tae
    assert not [cells for _, cells in tace if "comparator" in cells[4]]


def test_every_modality_an_analysis_names_links_to_it(comparison_site):
    summary = _summary_links((comparison_site / "index.html").read_text(encoding="utf-8"))
    # a glass-microsphere row shown beside the resin and unspecified pools, not pooled itself
    glass = [cells for link, cells in summary[modality_label("sirt_glass")] if link == "analyses/sirt-response.html"]
    assert glass and all(cells[4] == "shown, not pooled" and cells[3] for cells in glass), glass
    # irreversible electroporation: its one row is excluded from the complications analysis, with the reason
    ire = summary[modality_label("ire")]
    assert ire == [("analyses/ablation-complications.html",
                    ["Major complications after ablation", "", "", "",
                     "its rows are excluded from the analysis, each with the reason"])], ire
    assert not [m for m, rows in summary.items() for _, cells in rows if "no analysis yet" in " ".join(cells)
                and m in (modality_label("ire"), modality_label("sirt_glass"), modality_label("tae"))]


def test_a_pool_of_combined_modalities_names_each_term_once(comparison_site):
    summary = _summary_links((comparison_site / "index.html").read_text(encoding="utf-8"))
    for rows in summary.values():
        rows = [(link, cells) for link, cells in rows if link]   # rows with a number or a link
        for _, cells in rows:
            across = cells[4].split("across ", 1)[1] if "across " in cells[4] else ""
            terms = [t.strip() for t in across.split(" + ")] if across else []
            assert len(terms) == len(set(terms)), cells
        pools = [tuple(cells) for _, cells in rows if cells[4].startswith("pooled, across")]
        assert len(pools) == len(set(pools)), rows   # a pool across modalities is listed once under each
