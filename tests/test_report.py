"""The HTML report: pages, escaping, self-containment, reproducibility, atomic writes and the cache."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from netevidence import load_evidence
from netevidence.cli import main
from netevidence.report import ReportError, write_site, write_tables
from netevidence.report import site as site_module

ROOT = Path(__file__).resolve().parent.parent
ANALYSES = ROOT / "analyses"
XSS_TITLE = "<script>alert(1)</script>"
XSS_RECORD = f"""\
id: xss-test
name: "Escaping <b>test</b> & co"
title: "{XSS_TITLE}"
design: case_series
modality: [laser_ablation]
citation: xss-test
sources:
  xss-test: {{title: "<img src=x onerror=alert(2)>", year: 2024}}
outcomes:
  - endpoint: technical_efficacy
    statistic: {{kind: count, events: 9, n: 10}}
    provenance: {{source: xss-test, location: "<i>table</i>", kind: primary, verified: true}}
"""


def shared_evidence(tmp_path_factory) -> tuple[Path, Path]:
    """The shipped evidence plus a record with markup in its strings, and a cache shared by the report and
    browser tests (same paths, so the second build takes unchanged analyses from the cache)."""
    base = tmp_path_factory.getbasetemp() / "netevidence-site"
    evidence = base / "evidence"
    if not evidence.exists():
        shutil.copytree(ROOT / "evidence", evidence)
        (evidence / "xss-test.yaml").write_text(XSS_RECORD, encoding="utf-8")
        add_to_search_log(evidence, "xss-test")
    return evidence, base / "cache"


def add_to_search_log(evidence: Path, record_id: str) -> None:
    """Log an added record as found by one more citation search (so that the copy stays valid)."""
    from datetime import date

    import yaml

    path = evidence / "search.yaml"
    log = yaml.safe_load(path.read_text(encoding="utf-8"))
    log["searches"].append({"id": f"seed-{len(log['searches']) + 1}", "topic": "seed", "source": "citation searching",
                            "query": "test", "date": date.fromordinal(log["last_searched"].toordinal()),
                            "records_found": 1})
    log["screening"].append({"topic": "seed", "duplicates_removed": 0, "records_screened": 1, "records_excluded": 0,
                             "full_texts_assessed": 1, "included": [record_id]})
    path.write_text(yaml.safe_dump(log, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    evidence_dir, cache = shared_evidence(tmp_path_factory)
    out = tmp_path_factory.mktemp("report") / "site"
    ev = load_evidence(evidence_dir)
    write_site(ev, out, analyses=ANALYSES, cache_dir=cache, build_time="2000-01-01 00:00 UTC")
    return ev, out, cache, evidence_dir


def test_one_page_per_spec_and_per_study(built):
    ev, out, _, _ = built
    assert (out / "index.html").is_file() and (out / "methods.html").is_file() and (out / "style.css").is_file()
    specs = sorted(p.stem for p in ANALYSES.glob("*.yaml"))
    assert sorted(p.stem for p in (out / "analyses").glob("*.html")) == specs
    assert sorted(p.stem for p in (out / "studies").glob("*.html")) == sorted(r.id for r in ev.records)


def test_record_strings_are_escaped(built):
    _, out, _, _ = built
    page = (out / "studies" / "xss-test.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert XSS_TITLE not in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "Escaping &lt;b&gt;test&lt;/b&gt; &amp; co" in page
    index = (out / "index.html").read_text(encoding="utf-8")
    assert XSS_TITLE not in index and "&lt;script&gt;" in index


def _pages(out: Path):
    return sorted(out.rglob("*.html"))


def test_self_contained_no_scripts_no_remote_resources(built):
    _, out, _, _ = built
    for page in _pages(out):
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html.lower(), page
        assert not re.search(r'(src|href)="(https?:)?//[^"]*"', html.replace('<a href="https://doi.org/', "")), page
        for tag in re.findall(r"<img\b[^>]*>", html):
            assert re.search(r'\balt="[^"]{10,}"', tag), f"{page}: image without alt text: {tag}"
        for tag in re.findall(r"<link\b[^>]*>", html):
            assert "http" not in tag


def test_internal_links_and_images_resolve(built):
    _, out, _, _ = built
    for page in _pages(out):
        html = page.read_text(encoding="utf-8")
        for target in re.findall(r'(?:href|src)="([^"#]+)(?:#[^"]*)?"', html):
            if target.startswith(("http://", "https://")):
                continue
            assert (page.parent / target).resolve().is_file(), f"{page}: broken link {target}"


def test_analysis_pages_hold_plots_tables_methods_and_exclusions(built):
    _, out, _, _ = built
    html = (out / "analyses" / "symptom-response.html").read_text(encoding="utf-8")
    # Whether the subgroup test can be run depends on how many studies the shipped evidence holds per
    # modality; either the test or the note saying why it is missing must be on the page.
    assert ("Test for subgroup differences: Q(" in html
            or "no test for subgroup differences: it needs at least two" in html)
    for needle in ("Methods", "random-effects (REML)",
                   "Sensitivity analyses",
                   "Rows not pooled, with their reasons", "reported again", "published summary",
                   "img/symptom-response-1-forest.png", "img/symptom-response-1-forest.svg"):
        assert needle in html, needle
    landmark = (out / "analyses" / "landmark-survival.html").read_text(encoding="utf-8")
    assert "img/landmark-survival-survival.png" in landmark and "not poolable" in landmark


def test_study_page_lists_every_number_with_provenance(built):
    ev, out, _, _ = built
    html = (out / "studies" / "netter-1.html").read_text(encoding="utf-8")
    n = int((ev.outcomes["study_id"] == "netter-1").sum())
    assert html.count("<code>netter-1.yaml:") >= n
    assert "strosberg-2017" in html and "Verified" in html


def _files(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_input_gives_the_same_bytes_but_the_build_line(built, tmp_path):
    ev, out, cache, _ = built
    again = tmp_path / "site"
    write_site(ev, again, analyses=ANALYSES, cache_dir=cache, build_time="2111-11-11 11:11 UTC")
    a, b = _files(out), _files(again)
    assert a.keys() == b.keys()
    differ = sorted(k for k in a if a[k] != b[k])
    assert differ == [Path("index.html"), Path("manifest.json"), Path("versions/v1.json")]
    la, lb = a[Path("index.html")].decode().splitlines(), b[Path("index.html")].decode().splitlines()
    assert len(la) == len(lb)
    diff = [(x, y) for x, y in zip(la, lb) if x != y]
    # the build line and the changelog's date of this version
    assert len(diff) == 2 and all("2000-01-01" in x and "2111-11-11" in y for x, y in diff)
    ma, mb = (json.loads(a[Path("manifest.json")]), json.loads(b[Path("manifest.json")]))
    assert ma.pop("built") == "2000-01-01 00:00 UTC" and mb.pop("built") == "2111-11-11 11:11 UTC"
    assert ma == mb


def test_recomputed_analyses_give_the_same_bytes(built, tmp_path):
    """Two builds without a cache (plots redrawn) are identical, and identical to the cached pages."""
    ev, out, _, _ = built
    subset = tmp_path / "analyses"
    subset.mkdir()
    for name in ("symptom-response.yaml", "netter-1-hazard-ratios.yaml"):
        shutil.copy(ANALYSES / name, subset / name)
    one, two = tmp_path / "one", tmp_path / "two"
    for site in (one, two):
        write_site(ev, site, analyses=subset, cache_dir=None, build_time="2000-01-01 00:00 UTC")
    a, b = _files(one), _files(two)
    assert a == b
    full = _files(out)
    strip_nav = lambda b: re.sub(rb'<nav class="analyses".*?</nav>', b"", b, flags=re.S)  # noqa: E731
    for name in a:
        if name.parts[0] == "analyses":
            assert strip_nav(a[name]) == strip_nav(full[name]), name


def test_unchanged_analyses_come_from_the_cache(built, tmp_path, monkeypatch):
    ev, _, cache, evidence_dir = built
    calls = []
    real = site_module.build_analysis

    def counting(evidence, spec, **kw):
        calls.append(spec.id)
        return real(evidence, spec, **kw)

    monkeypatch.setattr(site_module, "build_analysis", counting)
    write_site(ev, tmp_path / "one", analyses=ANALYSES, cache_dir=cache)
    assert calls == []
    # one changed record: only the analyses that can draw on it are recomputed
    changed = tmp_path / "evidence"
    shutil.copytree(evidence_dir, changed)
    f = changed / "pickens-2021.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("events: 19", "events: 18"), encoding="utf-8")
    shutil.copytree(cache, tmp_path / "cache2")
    ev2 = load_evidence(changed)
    write_site(ev2, tmp_path / "two", analyses=ANALYSES, cache_dir=tmp_path / "cache2")
    assert sorted(calls) == ["ablation-survival", "landmark-survival", "symptom-response"]
    html = (tmp_path / "two" / "studies" / "pickens-2021.html").read_text(encoding="utf-8")
    assert "18/20" in html
    assert "18" in (tmp_path / "two" / "analyses" / "symptom-response.html").read_text(encoding="utf-8")


def test_a_failing_spec_leaves_the_previous_site_and_names_the_spec(built, tmp_path):
    ev, out, cache, _ = built
    site = tmp_path / "site"
    shutil.copytree(out, site)
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    bad = tmp_path / "analyses"
    shutil.copytree(ANALYSES, bad)
    (bad / "mixed.yaml").write_text("id: mixed\ntitle: Mixed\nselect: {endpoints: [os, orr]}\n", encoding="utf-8")
    with pytest.raises(ReportError, match=r"analysis 'mixed' .*mixed\.yaml.* failed: .*different scales"):
        write_site(ev, site, analyses=bad, cache_dir=cache)
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    (bad / "mixed.yaml").write_text("id: mixed\ntitle: Mixed\nselect: {endpoints: [os]}\nfoo: 1\n", encoding="utf-8")
    with pytest.raises(ReportError, match=r"mixed\.yaml:4:1: foo: unknown key"):
        write_site(ev, site, analyses=bad, cache_dir=cache)


def test_cli_report_and_its_errors(built, tmp_path, capsys):
    _, _, cache, evidence_dir = built
    code = main(["report", "--evidence", str(evidence_dir), "--analyses", str(ANALYSES), "--out",
                 str(tmp_path / "site"), "--cache", str(cache), "--quiet"])
    assert code == 0 and (tmp_path / "site" / "index.html").is_file()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yaml").write_text("id: x\ntitle: X\nselect: {endpoints: [orr]}\nmodel: {method: XX}\n")
    code = main(["report", "--evidence", str(evidence_dir), "--analyses", str(bad), "--out",
                 str(tmp_path / "site"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "x.yaml" in err and "model.method" in err and "left as it was" in err
    assert "Traceback" not in err


def test_write_tables_still_works(built, tmp_path):
    ev = built[0]
    written = write_tables(ev, tmp_path / "tables")
    assert {p.name for p in written} >= {"outcomes.csv", "studies.csv"}
    assert all(p.is_file() for p in written)


def test_a_change_in_any_source_file_invalidates_the_cache(tmp_path):
    """The code fingerprint covers every module and template of the package, with no list to maintain."""
    from netevidence.report.cache import PACKAGE_ROOT, code_fingerprint

    copy = tmp_path / "netevidence"
    shutil.copytree(PACKAGE_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    base = code_fingerprint(copy)
    assert base == code_fingerprint(PACKAGE_ROOT)
    sources = sorted(p for p in copy.rglob("*") if p.suffix in (".py", ".j2"))
    assert len(sources) > 60 and any(p.parent.name == "records" for p in sources)
    for path in sources:
        original = path.read_bytes()
        path.write_bytes(original + b"\n# changed\n")
        assert code_fingerprint(copy) != base, path.relative_to(copy)
        path.write_bytes(original)
    assert code_fingerprint(copy) == base


def test_the_cache_depends_on_the_studies_a_spec_selects(built):
    from netevidence.specs import load_spec, spec_studies

    ev = built[0]
    deps = spec_studies(ev, load_spec(ANALYSES / "netter-1-hazard-ratios.yaml"))
    assert deps == ["netter-1"]
    symptom = spec_studies(ev, load_spec(ANALYSES / "symptom-response.yaml"))
    assert "braat-2020" in symptom and "netter-1" not in symptom


def test_analysis_pages_show_risk_of_bias_and_certainty(built):
    ev, out, _, _ = built
    html = (out / "analyses" / "symptom-response.html").read_text(encoding="utf-8")
    from netevidence.specs import load_spec, run_spec

    k = run_spec(ev, load_spec(ANALYSES / "symptom-response.yaml")).strata[0].fit.k
    # publication bias is rated from Egger's test only from k = 10
    bias = f"k = {k} &lt; 10: not assessable" if k < 10 else "Egger&#39;s test p = "
    for needle in ("Risk of bias of the pooled studies", "JBI case series checklist",
                   "img/symptom-response-rob-1.png", "img/symptom-response-rob-1-summary.png",
                   "Certainty of the evidence (GRADE)", "<th>Risk of bias</th>", bias,
                   "without studies at high or critical risk of bias",
                   "risk-of-bias column (overall judgement per study)"):  # in the forest plot's alt text
        assert needle in html, needle
    assert "Not assessed:" not in html  # every pooled study, Pickens 2021 too, is assessed
    assert re.search(r'<td class="rob rob-moderate">- moderate</td>', html)  # Braat 2020, JBI moderate
    assert (out / "analyses" / "img" / "symptom-response-rob-1.png").is_file()
    assert "Shares weighted by each study&#39;s pooling weight." in html or \
        "Shares weighted by each study's pooling weight." in html


def test_every_analysis_page_shows_risk_of_bias_plots_for_its_studies_even_when_none_is_pooled(built):
    _, out, _, _ = built
    for page in sorted((out / "analyses").glob("*.html")):
        html = page.read_text(encoding="utf-8")
        assert 'id="risk-of-bias"' in html, page.name
        for png in re.findall(r'src="(img/[^"]+-rob-\d+(?:-summary)?\.png)"', html):
            assert (page.parent / png).is_file(), png
        assert re.search(r'src="img/[^"]+-rob-1\.png"', html) and re.search(r'src="img/[^"]+-rob-1-summary\.png"', html), \
            page.name
    for name in ("tace-vs-tae", "transarterial-response", "netter-1-hazard-ratios"):  # nothing pooled on these
        html = (out / "analyses" / f"{name}.html").read_text(encoding="utf-8")
        assert "Risk of bias of the studies shown (none is pooled)" in html and "Each study counted once." in html
        assert "Risk of bias of the pooled studies" not in html


def test_index_has_a_summary_of_findings_table_linking_each_row_to_its_analysis(built):
    _, out, _, _ = built
    index = (out / "index.html").read_text(encoding="utf-8")
    section = index.split('id="summary-of-findings"', 1)[1].split('id="analyses"', 1)[0]
    rows = re.findall(r"<tr><td><a href=\"([^\"]+)\">([^<]+)</a></td><td>([^<]+)</td><td><span class=\"certainty\">"
                      r"([⊕◯]{4})</span> ([A-Za-z ]+)</td>", section)
    assert rows, section[:500]
    for href, outcome, participants, symbol, label in rows:
        assert (out / href).is_file()
        page = (out / href).read_text(encoding="utf-8")
        assert f'<span class="certainty">{symbol}</span> {label}' in page
    from netevidence.specs import load_spec, run_spec

    st = run_spec(built[0], load_spec(ANALYSES / "symptom-response.yaml")).strata[0]
    pooled = st.rows[st.rows["role"] == "study"]
    expected = f"{int(pooled['n'].sum())} ({st.fit.k} studies)"
    assert any(r[0].endswith("symptom-response.html") and r[1] == "All studies" and r[2] == expected
               for r in rows), (expected, rows)


def test_a_population_without_numbers_or_provenance_gets_its_study_page(tmp_path):
    text = (ROOT / "tests" / "fixtures" / "invalid" / "no-risk-of-bias.yaml").read_text()
    text = text.replace("population:\n  patients: 20\n  arms: {sirt: 10, tae: 10}\n"
                        "  provenance: {source: demo-2020, location: abstract, kind: primary, verified: true}\n",
                        "population:\n  description: Adults with liver metastases\n")
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "demo-study.yaml").write_text(text)
    ev = load_evidence(tmp_path / "ev")
    assert ev.record("demo-study").population.provenance is None
    write_site(ev, tmp_path / "site", analyses=None, cache_dir=None, build_time="x")
    page = (tmp_path / "site" / "studies" / "demo-study.html").read_text(encoding="utf-8")
    assert "Adults with liver metastases" in page
    assert "Not assessed yet." in page  # the fixture has no risk-of-bias block


def test_summary_of_findings_is_exported_as_csv_beside_the_index(built):
    import pandas as pd

    _, out, _, _ = built
    frame = pd.read_csv(out / "summary-of-findings.csv", keep_default_na=False)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="summary-of-findings.csv"' in index
    section = index.split('id="summary-of-findings"', 1)[1].split('id="analyses"', 1)[0]
    assert len(frame) == section.count('<td><a href="analyses/') > 0
    assert set(frame["certainty_symbol"]) <= {"⊕⊕⊕⊕", "⊕⊕⊕◯", "⊕⊕◯◯", "⊕◯◯◯"}
    for page in frame["page"]:
        assert (out / page).is_file()


def test_study_pages_show_the_risk_of_bias_assessment(built):
    _, out, _, _ = built
    page = (out / "studies" / "chen-2017.html").read_text(encoding="utf-8")
    assert "<h3>ROBINS-I: Serious</h3>" in page
    assert '<td class="rob rob-high">Serious</td>' in page and "Judged from the abstract" in page
    assert re.search(r"<code>chen-2017\.yaml:\d+</code>", page)
    netter = (out / "studies" / "netter-1.html").read_text(encoding="utf-8")
    assert "<h3>RoB 2 (ttd_qol): High</h3>" in netter
    saxena = (out / "studies" / "saxena-2010.html").read_text(encoding="utf-8")
    assert "<h3>JBI case series checklist: High</h3>" in saxena
    assert "Judged from a review&#39;s description of the study" in saxena or \
        "Judged from a review's description of the study" in saxena
    assert "Judged from the abstract" not in saxena and "Not assessed yet." not in saxena


def test_a_trials_patients_are_counted_once_under_each_arms_modality(built):
    from netevidence.report.site import patients_by_modality

    ev = built[0]
    netter = ev.record("netter-1")
    counts = patients_by_modality(netter, ev.studies.set_index("study_id").loc["netter-1", "patients"])
    assert sum(counts.values()) == ev.studies.set_index("study_id").loc["netter-1", "patients"] == 229
    assert counts == {"prrt": 116, "somatostatin_analogue": 113}


def test_methods_text_matches_what_the_analysis_does():
    from netevidence.report.methods import spec_methods
    from netevidence.specs import load_spec

    landmark = " ".join(spec_methods(load_spec(ROOT / "analyses" / "landmark-survival.yaml")))
    assert "log(-log) scale" in landmark and "logit" not in landmark
    assert "Statistics as reported: survival at a time point." in landmark
    tace = spec_methods(load_spec(ROOT / "analyses" / "tace-vs-tae.yaml"), pooled=False)
    text = " ".join(tace)
    assert "Statistics as reported: hazard ratios and odds ratios." in text
    assert "Sensitivity analyses" not in text and "sensitivity analyses repeat" not in text
    assert "Bayesian" not in text and "no sensitivity analysis" in text
    symptom = " ".join(spec_methods(load_spec(ROOT / "analyses" / "symptom-response.yaml"), pooled=True))
    assert "Sensitivity analyses: other τ² estimators (DL and PM), leave-one-out" in symptom
    assert "proportions on the logit scale, back-transformed with the inverse logit" in symptom


def test_a_grade_override_appears_on_the_page_with_its_reason_and_the_proposal(tmp_path):
    spec = (ANALYSES / "symptom-response.yaml").read_text(encoding="utf-8")
    reason = "Symptom scales differ <i>between</i> series & modalities."
    spec += ("grade:\n  overrides:\n    - {domain: indirectness, change: -1, reason: "
             + json.dumps(reason) + "}\n")
    (tmp_path / "analyses").mkdir()
    (tmp_path / "analyses" / "symptom-response.yaml").write_text(spec, encoding="utf-8")
    write_site(load_evidence(ROOT / "evidence"), tmp_path / "site", analyses=tmp_path / "analyses", cache_dir=None,
               build_time="x")
    page = (tmp_path / "site" / "analyses" / "symptom-response.html").read_text(encoding="utf-8")
    row = re.search(r"<tr><td>indirectness</td><td class=\"num\">(-?\d+)</td>.*?</tr>", page, re.S)
    assert row and row.group(1) == "-1", page[page.find("Certainty"):][:1500]
    assert "Symptom scales differ &lt;i&gt;between&lt;/i&gt; series &amp; modalities. (proposed 0)" in row.group(0)
    assert "<i>between</i>" not in page


def test_methods_page_compares_the_proportion_models_on_the_evidence(built):
    import html as html_lib

    from netevidence.report.methods import proportion_model_comparison
    from netevidence.specs import load_spec, run_spec

    ev, out, _, _ = built
    page = html_lib.unescape((out / "methods.html").read_text(encoding="utf-8"))
    assert "Proportion models on this evidence base" in page
    rows = proportion_model_comparison(run_spec(ev, load_spec(ANALYSES / "symptom-response.yaml")))
    assert rows
    section = page[page.index('id="proportion-models"'):page.index("<h2>Analyses</h2>")]
    for row in rows:
        for m in row["models"]:
            assert m["text"] in section


def test_methods_text_describes_only_the_statistics_on_the_page():
    """A response analysis that selects no statistic kinds showed paragraphs on landmark survival, ratios
    and study medians although its page holds only proportions."""
    from netevidence.report.methods import spec_methods
    from netevidence.specs import load_spec, run_spec

    ev = load_evidence(ROOT / "evidence")
    spec = load_spec(ROOT / "analyses" / "ablation-response.yaml")
    result = run_spec(ev, spec)
    assert result.shown_statistics <= {"count", "proportion", "events"}
    text = " ".join(spec_methods(spec, statistics=result.shown_statistics))
    assert "proportions on the logit scale" in text
    for absent in ("log(-log)", "hazard and odds ratios", "Landmark survival", "Study medians"):
        assert absent not in text, absent
    survival = load_spec(ROOT / "analyses" / "ablation-survival.yaml")
    shown = run_spec(ev, survival).shown_statistics
    assert "survival_at" in shown
    assert "Landmark survival is analysed" in " ".join(spec_methods(survival, statistics=shown))


def test_methods_name_landmark_sensitivity_only_where_a_landmark_is_pooled():
    """The PRRT survival page pools study medians but no landmark; its methods said the sensitivity
    analyses repeat each landmark pool with the stricter variance sources, and the page has none."""
    from netevidence.report.methods import spec_methods
    from netevidence.specs import load_spec, run_spec

    ev = load_evidence(ROOT / "evidence")
    sentence = "The sensitivity analyses repeat each pool with the stricter sources only."
    for name, landmark_pooled in (("prrt-survival", False), ("ablation-survival", True)):
        spec = load_spec(ROOT / "analyses" / f"{name}.yaml")
        result = run_spec(ev, spec)
        assert any(st.fit is not None for st in result.strata)
        assert ("survival_at" in result.pooled_statistics) is landmark_pooled
        text = " ".join(spec_methods(spec, pooled=True, statistics=result.shown_statistics,
                                     pooled_statistics=result.pooled_statistics))
        assert "Landmark survival is analysed" in text
        assert (sentence in text) is landmark_pooled, name
        # both pages show study medians: the scale they are pooled on is named (it was left out)
        assert "median times on the log scale" in text, name
