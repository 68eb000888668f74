"""The built site in a real headless browser (Debian's chromium driven by Playwright): every page reached
from the index over file://, no console error, no failed request, no network request, no broken link or
image, one page per specification and per study, and a record's markup shown as text."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

from netevidence import load_evidence
from netevidence.report import write_site

from test_report import ANALYSES, XSS_TITLE, shared_evidence

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

from playwright import sync_api as playwright_api


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    evidence_dir, cache = shared_evidence(tmp_path_factory)
    out = tmp_path_factory.mktemp("browser") / "site"
    ev = load_evidence(evidence_dir)
    write_site(ev, out, analyses=ANALYSES, cache_dir=cache)
    # a previous build that differs: one study fewer, a number corrected, a pooled result moved
    earlier = json.loads((out / "manifest.json").read_text())
    earlier["version"], earlier["content_hash"] = 0, "earlier"
    earlier["records"].pop("braat-2020")
    numbers = earlier["records"]["sartori-laser"]["numbers"]
    first = sorted(numbers)[0]
    numbers[first]["numbers"] = {**numbers[first]["numbers"], "n": 999}
    stratum = earlier["analyses"]["symptom-response"]["strata"][0]
    stratum["estimate"], stratum["k"] = stratum["estimate"] / 2, stratum["k"] - 1
    previous = out.parent / "earlier.json"
    previous.write_text(json.dumps(earlier))
    write_site(ev, out, analyses=ANALYSES, cache_dir=cache, previous=previous)
    return ev, out


@pytest.fixture(scope="module")
def crawl(site):
    ev, out = site
    assert CHROMIUM.exists(), "the browser tests need Debian's chromium: apt-get install -y chromium"
    problems: list[str] = []
    external: list[str] = []
    dialogs: list[str] = []
    visited: dict[Path, dict] = {}
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(java_script_enabled=True)

        def route(r):
            if r.request.url.startswith("file://"):
                r.continue_()
            else:
                external.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        queue = [out / "index.html"]
        while queue:
            path = queue.pop(0).resolve()
            if path in visited:
                continue
            response = page.goto(path.as_uri())
            assert response is None or response.ok, path
            page.wait_for_load_state("load")
            info = page.evaluate("""() => ({
                links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
                images: Array.from(document.images).map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0,
                                                               alt: i.getAttribute('alt') || ''})),
                title: document.title,
                text: document.body.innerText,
                scripts: document.scripts.length,
            })""")
            visited[path] = info
            for link in info["links"]:
                url, _ = urldefrag(link)
                if not url.startswith("file://"):
                    continue
                target = Path(unquote(urlparse(url).path))
                if not target.exists():
                    problems.append(f"broken link on {path.name}: {link}")
                elif target.suffix == ".html":
                    queue.append(target)
        browser.close()
    return out, visited, problems, external, dialogs


def test_no_console_error_failed_request_or_network_request(crawl):
    _, _, problems, external, dialogs = crawl
    assert problems == []
    assert external == []
    assert dialogs == []


def test_every_image_loads_and_has_alt_text(crawl):
    _, visited, _, _, _ = crawl
    n = 0
    for path, info in visited.items():
        assert info["scripts"] == 0, path
        for img in info["images"]:
            n += 1
            assert img["ok"], f"{path.name}: image does not load: {img['src']}"
            assert len(img["alt"]) > 20, f"{path.name}: {img['src']} has no alt text"
    assert n >= 12


def test_one_page_per_spec_and_per_study(crawl, site):
    ev, _ = site
    out, visited, _, _, _ = crawl
    names = {p.relative_to(out.resolve()).as_posix() for p in visited}
    specs = {f"analyses/{p.stem}.html" for p in ANALYSES.glob("*.yaml")}
    studies = {f"studies/{r.id}.html" for r in ev.records}
    assert specs <= names and studies <= names
    assert {"index.html", "methods.html"} <= names
    assert len([n for n in names if n.startswith("analyses/")]) == len(specs)
    assert len([n for n in names if n.startswith("studies/")]) == len(studies)


def test_markup_in_a_record_is_shown_as_text(crawl):
    out, visited, _, _, _ = crawl
    info = visited[(out / "studies" / "xss-test.html").resolve()]
    assert XSS_TITLE in info["text"]
    assert "Escaping <b>test</b> & co" in info["title"]


def test_the_change_page_opens_and_lists_the_changes(crawl):
    out, visited, problems, _, _ = crawl
    info = visited[(out / "changes.html").resolve()]
    assert problems == []
    text = info["text"]
    assert "Version 1 compared with version 0" in text
    assert "1 added, 0 removed, 1 corrected." in text and "Braat 2020" in text
    assert "n 999" in text  # the corrected number, before and after
    assert "Symptom response across modalities" in text and "estimate moved by +100%" in text
    links = {urlparse(link).path.rsplit("/", 1)[-1] for link in info["links"]}
    assert {"braat-2020.html", "symptom-response.html", "manifest.json"} <= links


def test_summary_of_findings_and_certainty_render_in_the_browser(crawl):
    out, visited, _, _, _ = crawl
    index = visited[(out / "index.html").resolve()]["text"]
    assert "Summary of findings" in index
    assert "Participants (studies)" in index and "⊕◯◯◯ Very low" in index
    page = visited[(out / "analyses" / "symptom-response.html").resolve()]
    assert "Certainty of the evidence (GRADE): ⊕◯◯◯ Very low" in page["text"]
    assert "Risk of bias of the pooled studies" in page["text"]
    sof_links = [link for link in index_links(visited, out) if link.endswith("symptom-response.html")]
    assert sof_links


def index_links(visited, out):
    return [link for link in visited[(out / "index.html").resolve()]["links"] if "/analyses/" in link]


def test_each_summary_of_findings_row_links_to_its_own_analysis_page_and_cells_hold_only_text(site, crawl):
    _, out = site
    _, visited, _, _, _ = crawl
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        page = browser.new_context(java_script_enabled=True).new_page()
        page.goto((out / "index.html").resolve().as_uri())
        tables = page.evaluate("""() => Array.from(document.querySelectorAll('table.sof')).map(t => ({
            caption: t.caption ? t.caption.innerText : '',
            heads: Array.from(t.tHead.rows[0].cells).map(c => c.innerText),
            rows: Array.from(t.tBodies[0].rows).map(r => ({
                cells: r.cells.length, links: Array.from(r.cells[0].querySelectorAll('a')).map(a => a.href),
                tags: Array.from(r.querySelectorAll('*')).map(e => e.tagName.toLowerCase()),
                certainty: r.cells[2].innerText}))}))""")
        titles = {}
        for t in tables:
            for r in t["rows"]:
                for href in r["links"]:
                    if href not in titles:
                        page.goto(href)
                        titles[href] = page.evaluate("() => document.querySelector('h1').innerText")
        browser.close()
    assert len(tables) >= 5  # one per question (modality and outcome family) with a rated pool
    for t in tables:
        assert t["caption"] and t["heads"][:3] == ["Outcome", "Participants (studies)", "Certainty (GRADE)"]
        assert t["rows"], t["caption"]
        for r in t["rows"]:
            assert r["cells"] == len(t["heads"]) == 8
            (href,) = r["links"]  # one link per row, to the page of the row's own analysis
            assert "/analyses/" in href and Path(unquote(urlparse(href).path)).resolve() in visited
            assert titles[href] == t["caption"]
            assert set(r["tags"]) <= {"td", "a", "span"}  # record and specification text shown as text only
            assert r["certainty"].split(" ", 1)[0] in {"⊕⊕⊕⊕", "⊕⊕⊕◯", "⊕⊕◯◯", "⊕◯◯◯"}
