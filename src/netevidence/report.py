"""Writing what the pipeline produces: the tidy tables as CSV and the HTML evidence site.

Every output directory is written atomically (see :mod:`netevidence.output`); strings from records
are HTML-escaped by the templates (jinja2 autoescaping).
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import pandas as pd

from .evidence import EvidenceBase
from .output import atomic_directory
from .records import vocabulary


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("netevidence", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def write_tables(evidence: EvidenceBase, out: str | Path) -> list[Path]:
    """Write every tidy table as ``<name>.csv`` into ``out`` (replaced atomically)."""
    out = Path(out)
    with atomic_directory(out) as staging:
        for name, frame in evidence.tables().items():
            frame.to_csv(staging / f"{name}.csv", index=False, lineterminator="\n")
    return [out / f"{name}.csv" for name in evidence.tables()]


def write_site(evidence: EvidenceBase, out: str | Path) -> Path:
    """Write the HTML evidence site into ``out`` (replaced atomically); returns its index page."""
    out = Path(out)
    env = _environment()
    studies = evidence.studies.sort_values(["modality", "year", "study_id"], na_position="last")
    counts = evidence.outcomes.groupby("study_id").agg(
        outcomes=("endpoint", "size"), endpoints=("endpoint", lambda s: ", ".join(sorted(set(s)))))
    rows = []
    for study in studies.itertuples(index=False):
        row = {k: (None if pd.isna(v) else v) for k, v in study._asdict().items()}
        row.update(counts.loc[study.study_id].to_dict() if study.study_id in counts.index
                   else {"outcomes": 0, "endpoints": ""})
        row["design_label"] = vocabulary.DESIGNS.get(study.design, study.design)
        rows.append(row)
    html = env.get_template("index.html.j2").render(
        studies=rows, warnings=[w for w in evidence.warnings], n_outcomes=len(evidence.outcomes),
        modalities=vocabulary.MODALITIES,
    )
    with atomic_directory(out) as staging:
        (staging / "index.html").write_text(html, encoding="utf-8")
    return out / "index.html"
