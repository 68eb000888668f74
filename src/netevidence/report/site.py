"""The HTML evidence site: index, a page per analysis, a page per study and a methods page.

The site is self-contained (one local stylesheet, images next to the pages, no script, no network
request) and works from ``file://``. Every string from a record or a specification is escaped by
jinja2's autoescaping. The output directory is replaced atomically; analyses whose inputs did not change
are taken from the content-hash cache. Apart from the one line that states the build time (on the index
page), the same inputs give byte-identical output.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable

import jinja2

from .. import __version__
from ..evidence import EvidenceBase
from ..output import atomic_directory, check_target, refuse_inputs, write_csv
from ..records import vocabulary
from ..specs import AnalysisSpec, load_spec, spec_files
from ..specs.summary_of_findings import SOF_COLUMNS
from .analysis import build_analysis, record_location
from .cache import AnalysisCache, analysis_key, code_fingerprint
from .changes import compare
from .exports import write_sources
from .figures import FigureCache
from .manifest import HISTORY_DIR, MANIFEST_FILE, ManifestError, build_manifest, dumps, read_manifest
from .overview import review_coverage, write_prisma
from .pages import BuildLog, PageWriter
from .study import build_study


class ReportError(Exception):
    """A specification that could not be built; the message names it and says why."""


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("netevidence", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["modality"] = vocabulary.modality_label
    return env


def _build_time(build_time: str | None) -> str:
    if build_time is not None:
        return build_time
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = (_dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc) if epoch
           else _dt.datetime.now(_dt.timezone.utc))
    return now.strftime("%Y-%m-%d %H:%M UTC")


def _progress(items: list, desc: str, enabled: bool) -> Iterable:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="page", file=sys.stderr, leave=False, dynamic_ncols=True)


FIGURE_KEYS = "figures.json"


def _analysis_content(evidence: EvidenceBase, spec: AnalysisSpec, path: Path, cache: AnalysisCache, code: str,
                      staging: Path, figures: FigureCache, log: BuildLog) -> dict[str, Any]:
    key = analysis_key(evidence, spec, code)
    img_rel = "img"
    target_img = staging / "analyses" / "img"
    hit = cache.load(spec.id, key)
    if hit is not None:
        content, images = hit
        if referenced_images(content) <= set(images):
            for name, data in sorted(images.items()):
                (target_img / name).write_bytes(data)
            figures.used.update(cache.figure_keys(spec.id, key, FIGURE_KEYS))  # kept for the next change
            log.analyses_cached.append(spec.id)
            return content
    work = Path(tempfile.mkdtemp(prefix=f".{spec.id}-", dir=staging))
    try:
        requested = len(figures.requested)
        drawn = len(figures.drawn)
        content = build_analysis(evidence, spec, img_dir=work / "img", img_rel=img_rel, draw=figures.save)
        log.analyses_computed.append(spec.id)
        log.figures_drawn += figures.drawn[drawn:]
        (work / "result.json").write_text(json.dumps(content, sort_keys=True, ensure_ascii=False, allow_nan=False),
                                          encoding="utf-8")
        (work / FIGURE_KEYS).write_text(json.dumps(sorted(set(figures.requested[requested:]))), encoding="utf-8")
        for f in sorted((work / "img").iterdir()):
            shutil.copy2(f, target_img / f.name)
        cache.store(spec.id, key, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return content


def referenced_images(content: Any) -> set[str]:
    """The file names of every image an analysis' page content points to (``{"png": "img/x.png"}``)."""
    found: set[str] = set()
    if isinstance(content, dict):
        for key, value in content.items():
            if key in ("png", "svg", "pdf") and isinstance(value, str):
                found.add(Path(value).name)
            else:
                found |= referenced_images(value)
    elif isinstance(content, list):
        for value in content:
            found |= referenced_images(value)
    return found


def _previous_manifest(out: Path, previous: str | Path | None) -> dict[str, Any] | None:
    """The manifest to compare with: the one given, else the one of the site being replaced (if readable)."""
    if previous is not None:
        try:
            return read_manifest(previous)
        except ManifestError as exc:
            raise ReportError(str(exc)) from None
    try:
        return read_manifest(out) if (out / MANIFEST_FILE).is_file() else None
    except ManifestError:
        return None  # an unreadable old manifest only costs the comparison


def _history(out: Path, previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Every version's manifest the site holds: those kept by the site being replaced, the previous build's,
    and the current one (which replaces a stored manifest of the same version)."""
    kept: dict[int, dict[str, Any]] = {}
    folder = out / HISTORY_DIR
    for f in sorted(folder.glob("v*.json")) if folder.is_dir() else []:
        if f.stem[1:].isdigit():
            try:
                kept[int(f.stem[1:])] = read_manifest(f)
            except ManifestError:
                continue
    if previous is not None:
        kept.setdefault(int(previous.get("version", 0)), previous)
    kept[int(current["version"])] = current
    return dict(sorted(kept.items()))


def _changelog(history: dict[int, dict[str, Any]], thresholds: dict[str, float]) -> list[dict[str, Any]]:
    """One entry per stored version, newest first, with what changed since the version before it."""
    entries = []
    versions = list(history)
    for i, v in enumerate(versions):
        m = history[v]
        summary = "first version"
        if i:
            c = compare(history[versions[i - 1]], m, thresholds)
            counts = {kind: sum(1 for s in c.studies if s.kind == kind) for kind in ("added", "removed", "corrected")}
            parts = [f"{n} {'study' if n == 1 else 'studies'} {kind}" for kind, n in counts.items() if n]
            flagged = sum(1 for s in c.strata if s.flags)
            parts.append(f"{len(c.strata)} pooled {'result' if len(c.strata) == 1 else 'results'} changed"
                         + (f" ({flagged} flagged)" if flagged else ""))
            summary = "; ".join(parts)
        entries.append({"version": v, "built": m.get("built", ""), "summary": summary,
                        "file": f"{HISTORY_DIR}/v{v}.json"})
    return entries[::-1]


def write_site(evidence: EvidenceBase, out: str | Path, *, analyses: str | Path | None = None,
               cache_dir: str | Path | None = "auto", progress: bool = False, build_time: str | None = None,
               previous: str | Path | None = None, log: BuildLog | None = None) -> Path:
    """Write the HTML evidence site into ``out`` (replaced atomically); returns its index page.

    ``analyses``: directory of specifications (``None``: no analysis pages). ``cache_dir``: where unchanged
    analyses are kept (``"auto"``: ``.cache`` beside ``out``; ``None``: no cache). ``previous``: an earlier
    site (or its ``manifest.json``) to compare with on the "What changed" page; by default the site being
    replaced. A specification that fails raises :class:`ReportError` naming it, and the previous site is
    left as it was. ``log`` (a :class:`BuildLog`) is filled with what this build computed, drew and wrote,
    and what it kept.

    With a cache, a rebuild redoes only what changed: an analysis whose inputs are unchanged comes from the
    analysis cache; a figure whose plot is unchanged is copied from the figure cache
    (:mod:`netevidence.report.figures`); a page whose content is unchanged comes from the page
    cache (:mod:`netevidence.report.pages`). Each key holds everything that goes into the result, so the
    site is the same, byte for byte, as a build without a cache.
    """
    out = Path(out)
    env = _environment()
    previous_manifest = _previous_manifest(out, previous)
    protect = list(evidence.input_paths) + ([analyses] if analyses is not None else [])
    check_target(out, protect)
    cache_path = out.parent / ".cache" if cache_dir == "auto" else cache_dir
    if cache_path is not None:
        refuse_inputs(cache_path, protect + [out], what="cache directory")
    cache = AnalysisCache(cache_path)
    paths = spec_files(analyses) if analyses is not None else ()
    specs: list[tuple[AnalysisSpec, Path]] = []
    problems = []
    for p in paths:
        try:
            specs.append((load_spec(p, studies=[r.id for r in evidence.records]), p))
        except ValueError as exc:
            problems.append(f"specification {p} is invalid:\n{exc}")
    if problems:
        raise ReportError("\n".join(problems))
    code = code_fingerprint()
    stamp = _build_time(build_time)
    build_log = log if log is not None else BuildLog()
    figures = FigureCache(Path(cache_path) / "figures" if cache_path is not None else None, code)
    with atomic_directory(out, protect=protect) as staging:
        pages = PageWriter(staging, cache_path, code, build_log)
        (staging / "analyses" / "img").mkdir(parents=True)
        (staging / "studies").mkdir()
        contents = []
        for spec, path in _progress(specs, "analyses", progress):
            try:
                contents.append(_analysis_content(evidence, spec, path, cache, code, staging, figures, build_log))
            except Exception as exc:  # noqa: BLE001 - reported with the failing specification
                raise ReportError(f"analysis {spec.id!r} ({path}) failed: {type(exc).__name__}: {exc}") from exc
        manifest = build_manifest(evidence, {spec.id: path for spec, path in specs}, contents, code=code,
                                  package_version=__version__, built=stamp, previous=previous_manifest,
                                  shared_files=_shared_files(evidence))
        thresholds = {spec.id: spec.change_threshold for spec, _ in specs}
        history = _history(out, previous_manifest, manifest)
        _write_manifests(staging, manifest, history)
        log = evidence.search_log
        env.globals["site"] = {"version": manifest["version"],
                               "last_searched": log.last_searched.isoformat() if log is not None else None}
        by_study: dict[str, list[dict]] = {}
        for c in contents:
            for sid in c["studies"]:
                by_study.setdefault(sid, []).append({"id": c["id"], "title": c["title"]})
        _write_static(env, staging)
        write_sources(evidence.citations, staging)  # sources.bib and sources.ris
        prisma = write_prisma(evidence, staging)
        nav = [{"id": c["id"], "title": c["title"]} for c in contents]
        for c in contents:
            pages.write(env, f"analyses/{c['id']}.html", "analysis.html.j2", a=c, nav=nav, root="../")
        study_ids = [r.id for r in evidence.records]
        for sid in _progress(study_ids, "studies", progress):
            pages.write(env, f"studies/{sid}.html", "study.html.j2", s=build_study(evidence, sid, by_study),
                        nav=nav, root="../")
        changes = compare(previous_manifest, manifest, thresholds) if previous_manifest is not None else None
        pages.write(env, "changes.html", "changes.html.j2", nav=nav, root="", changes=changes, manifest=manifest,
                    titles={c["id"]: c["title"] for c in contents})
        pages.write(env, "methods.html", "methods.html.j2", nav=nav, root="", specs=contents)
        _write_summary_of_findings(contents, staging / SOF_CSV)
        pages.write(env, "index.html", "index.html.j2", **_index_context(evidence, contents), nav=nav, root="",
                    build_time=stamp, changelog=_changelog(history, thresholds), sof_csv=SOF_CSV, prisma=prisma,
                    reviews=review_coverage(evidence, contents))
    pages.prune()
    figures.prune()
    build_log.figures_copied = list(figures.copied)
    return out / "index.html"


def _shared_files(evidence: EvidenceBase) -> list[Path]:
    """Files of the evidence directory that are not records but shape the site (shared citations, the search log)."""
    root = Path(evidence.root)
    root = root if root.is_dir() else root.parent
    return [root / name for name in ("sources.yaml", "search.yaml") if (root / name).is_file()]


def _write_manifests(staging: Path, manifest: dict[str, Any], history: dict[int, dict[str, Any]]) -> None:
    text = dumps(manifest)
    (staging / MANIFEST_FILE).write_text(text, encoding="utf-8")
    (staging / HISTORY_DIR).mkdir()
    for version, m in history.items():
        (staging / HISTORY_DIR / f"v{version}.json").write_text(text if m is manifest else dumps(m), encoding="utf-8")


SOF_CSV = "summary-of-findings.csv"


def _write_summary_of_findings(contents: list[dict], path: Path) -> None:
    """Every analysis' summary-of-findings rows as one CSV (the same rows as the index tables)."""
    import pandas as pd

    rows = [r for c in contents for r in c.get("sof", [])]
    write_csv(pd.DataFrame(rows, columns=list(SOF_COLUMNS)), path)


def patients_by_modality(record, patients: Any) -> dict[str, int]:
    """How many of a record's patients each of its modalities treated: the arms' sizes where the record
    gives them (a trial's 229 patients are 116 under one arm's modality and 113 under the other's), else
    all of them under each modality (a single-arm series of a combined treatment)."""
    total = int(patients) if patients is not None and patients == patients else 0
    pop = record.population
    by_arm = dict(pop.arms) if pop is not None and pop.arms else {}
    arm_modality = {a.id: a.modality for a in record.arms}
    if by_arm and set(by_arm) <= set(arm_modality):
        out: dict[str, int] = {}
        for arm, n in by_arm.items():
            out[arm_modality[arm]] = out.get(arm_modality[arm], 0) + int(n)
        return out
    return {m: total for m in record.modality}


def _write_static(env: jinja2.Environment, staging: Path) -> None:
    (staging / "style.css").write_text(env.get_template("style.css.j2").render(), encoding="utf-8")


UNNUMBERED = {"shown": "shown on the analysis page without an estimate",
              "excluded": "its rows are excluded from the analysis, each with the reason"}


def _index_context(evidence: EvidenceBase, contents: list[dict]) -> dict[str, Any]:
    import pandas as pd

    studies = evidence.studies.sort_values(["modality", "year", "study_id"], na_position="last")
    counts = evidence.outcomes.groupby("study_id").agg(
        outcomes=("endpoint", "size"), endpoints=("endpoint", lambda s: ", ".join(sorted(set(s)))))
    rows = []
    for study in studies.itertuples(index=False):
        row = {k: (None if (not isinstance(v, (list, tuple)) and pd.isna(v)) else v)
               for k, v in study._asdict().items()}
        row.update(counts.loc[study.study_id].to_dict() if study.study_id in counts.index
                   else {"outcomes": 0, "endpoints": ""})
        row["design_label"] = vocabulary.DESIGNS.get(study.design, study.design)
        rows.append(row)
    # per-modality summary
    modality_rows: dict[str, dict] = {}
    for study in rows:
        patients = patients_by_modality(evidence.record(study["study_id"]), study["patients"])
        for m in str(study["modality"]).split("+"):
            entry = modality_rows.setdefault(m, {"modality": m, "studies": 0, "patients": 0, "numbers": []})
            entry["studies"] += 1
            entry["patients"] += patients.get(m, 0)
    # a result across several modalities (a pool of resin and glass microspheres) is listed under each of
    # them, saying so, rather than under a row of its own that no record counts towards; a comparison is
    # listed under its comparator arm's modality too, saying that it is the comparator
    for c in contents:
        numbered = set()
        for s in c["summary"]:
            terms = list(dict.fromkeys(t for t in str(s["modality"]).split("+") if t)) or [""]
            across = f"across {vocabulary.modality_label('+'.join(terms))}" if len(terms) > 1 else ""
            listed = [(key, across) for key in terms]
            listed += [(m, f"with {vocabulary.modality_label(m)} as the comparator")
                       for m in str(s.get("comparator") or "").split("+") if m and m not in terms]
            for key, note in listed:
                entry = modality_rows.setdefault(key, {"modality": key, "studies": 0, "patients": 0, "numbers": []})
                entry["numbers"].append(dict(s, across=note))
                numbered.add(key)
        # a modality the analysis names but gives no number for still links to it, saying why
        for key, how in c.get("modalities", {}).items():
            if key not in numbered and key in modality_rows:
                modality_rows[key]["numbers"].append({
                    "analysis": c["id"], "title": c["title"], "anchor": "exclusions" if how == "excluded" else "",
                    "stratum": "", "k": None, "estimate": "", "across": "",
                    "kind": UNNUMBERED[how]})
    order = list(vocabulary.MODALITIES)
    summary = sorted(modality_rows.values(),
                     key=lambda e: (order.index(e["modality"]) if e["modality"] in order else len(order), e["modality"]))
    designs: dict[str, int] = {}
    for r in evidence.records:
        designs[vocabulary.DESIGNS.get(r.design, r.design)] = designs.get(vocabulary.DESIGNS.get(r.design, r.design), 0) + 1
    warnings = [{"location": ":".join(str(x) for x in (record_location(evidence, {"file": w.file}), w.line, w.column)
                                      if x not in (None, "")),
                 "rule": w.rule, "message": w.message} for w in evidence.warnings]
    sof = [{"question": c["title"], "rows": c.get("sof", [])} for c in contents if c.get("sof")]
    return {"studies": rows, "warnings": warnings, "n_outcomes": len(evidence.outcomes),
            "summary": summary, "analyses": contents, "designs": sorted(designs.items()), "sof": sof}
