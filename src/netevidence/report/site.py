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

from ..evidence import EvidenceBase
from ..output import atomic_directory
from ..records import vocabulary
from ..specs import AnalysisSpec, load_spec, spec_files
from .analysis import build_analysis, record_location
from .cache import AnalysisCache, analysis_key, code_fingerprint
from .overview import review_coverage, write_prisma
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
    env.filters["modality"] = lambda m: " + ".join(vocabulary.MODALITIES.get(t, t).split(",")[0]
                                                   for t in str(m).split("+"))
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


def _analysis_content(evidence: EvidenceBase, spec: AnalysisSpec, path: Path, cache: AnalysisCache, code: str,
                      staging: Path) -> dict[str, Any]:
    key = analysis_key(evidence, spec, code)
    img_rel = "img"
    target_img = staging / "analyses" / "img"
    hit = cache.entry(spec.id, key)
    if hit is not None:
        content = json.loads((hit / "result.json").read_text(encoding="utf-8"))
        for f in sorted((hit / "img").iterdir()) if (hit / "img").is_dir() else []:
            shutil.copy2(f, target_img / f.name)
        return content
    work = Path(tempfile.mkdtemp(prefix=f".{spec.id}-", dir=staging))
    try:
        content = build_analysis(evidence, spec, img_dir=work / "img", img_rel=img_rel)
        (work / "result.json").write_text(json.dumps(content, sort_keys=True, ensure_ascii=False, allow_nan=False),
                                          encoding="utf-8")
        for f in sorted((work / "img").iterdir()):
            shutil.copy2(f, target_img / f.name)
        cache.store(spec.id, key, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return content


def write_site(evidence: EvidenceBase, out: str | Path, *, analyses: str | Path | None = None,
               cache_dir: str | Path | None = "auto", progress: bool = False, build_time: str | None = None) -> Path:
    """Write the HTML evidence site into ``out`` (replaced atomically); returns its index page.

    ``analyses``: directory of specifications (``None``: no analysis pages). ``cache_dir``: where unchanged
    analyses are kept (``"auto"``: ``.cache`` beside ``out``; ``None``: no cache). A specification that
    fails raises :class:`ReportError` naming it, and the previous site is left as it was.
    """
    out = Path(out)
    env = _environment()
    cache = AnalysisCache(out.parent / ".cache" if cache_dir == "auto" else cache_dir)
    paths = spec_files(analyses) if analyses is not None else ()
    specs: list[tuple[AnalysisSpec, Path]] = []
    problems = []
    for p in paths:
        try:
            specs.append((load_spec(p), p))
        except ValueError as exc:
            problems.append(f"specification {p} is invalid:\n{exc}")
    if problems:
        raise ReportError("\n".join(problems))
    code = code_fingerprint() if specs else ""
    stamp = _build_time(build_time)
    with atomic_directory(out) as staging:
        (staging / "analyses" / "img").mkdir(parents=True)
        (staging / "studies").mkdir()
        contents = []
        for spec, path in _progress(specs, "analyses", progress):
            try:
                contents.append(_analysis_content(evidence, spec, path, cache, code, staging))
            except Exception as exc:  # noqa: BLE001 - reported with the failing specification
                raise ReportError(f"analysis {spec.id!r} ({path}) failed: {type(exc).__name__}: {exc}") from exc
        by_study: dict[str, list[dict]] = {}
        for c in contents:
            for sid in c["studies"]:
                by_study.setdefault(sid, []).append({"id": c["id"], "title": c["title"]})
        _write_static(env, staging)
        prisma = write_prisma(evidence, staging)
        nav = [{"id": c["id"], "title": c["title"]} for c in contents]
        for c in contents:
            html = env.get_template("analysis.html.j2").render(a=c, nav=nav, root="../")
            (staging / "analyses" / f"{c['id']}.html").write_text(html, encoding="utf-8")
        study_ids = [r.id for r in evidence.records]
        for sid in _progress(study_ids, "studies", progress):
            s = build_study(evidence, sid, by_study)
            html = env.get_template("study.html.j2").render(s=s, nav=nav, root="../")
            (staging / "studies" / f"{sid}.html").write_text(html, encoding="utf-8")
        html = env.get_template("methods.html.j2").render(nav=nav, root="", specs=contents)
        (staging / "methods.html").write_text(html, encoding="utf-8")
        html = env.get_template("index.html.j2").render(**_index_context(evidence, contents), nav=nav, root="",
                                                       build_time=stamp, prisma=prisma,
                                                       reviews=review_coverage(evidence, contents))
        (staging / "index.html").write_text(html, encoding="utf-8")
    return out / "index.html"


def _write_static(env: jinja2.Environment, staging: Path) -> None:
    (staging / "style.css").write_text(env.get_template("style.css.j2").render(), encoding="utf-8")


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
        for m in str(study["modality"]).split("+"):
            entry = modality_rows.setdefault(m, {"modality": m, "studies": 0, "patients": 0, "numbers": []})
            entry["studies"] += 1
            entry["patients"] += int(study["patients"] or 0)
    for c in contents:
        for s in c["summary"]:
            key = s["modality"]
            entry = modality_rows.setdefault(key, {"modality": key, "studies": 0, "patients": 0, "numbers": []})
            entry["numbers"].append(s)
    order = list(vocabulary.MODALITIES)
    summary = sorted(modality_rows.values(),
                     key=lambda e: (order.index(e["modality"]) if e["modality"] in order else len(order), e["modality"]))
    designs: dict[str, int] = {}
    for r in evidence.records:
        designs[vocabulary.DESIGNS.get(r.design, r.design)] = designs.get(vocabulary.DESIGNS.get(r.design, r.design), 0) + 1
    warnings = [{"location": ":".join(str(x) for x in (record_location(evidence, {"file": w.file}), w.line, w.column)
                                      if x not in (None, "")),
                 "rule": w.rule, "message": w.message} for w in evidence.warnings]
    return {"studies": rows, "warnings": warnings, "n_outcomes": len(evidence.outcomes),
            "summary": summary, "analyses": contents, "designs": sorted(designs.items())}
