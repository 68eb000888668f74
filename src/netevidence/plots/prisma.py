"""The PRISMA 2020 flow diagram (Page et al., BMJ 2021;372:n71), drawn as SVG from the search log.

The diagram is built from a :class:`~netevidence.records.searchlog.PrismaFlow` (the log's counts summed
over topics); no number is typed in by hand. Main boxes run down the left (identification, screening,
eligibility, inclusion), the exclusions of each stage sit to their right. Every count is written in a
``<text>`` element whose ``data-count`` attribute names the box, so that the drawn numbers can be
checked against the log.
"""

from __future__ import annotations

import textwrap
from xml.sax.saxutils import escape, quoteattr

from ..records.searchlog import PrismaFlow
from ..records.vocabulary import SEARCH_TOPICS

WIDTH = 860
LEFT_X, LEFT_W = 130, 340
RIGHT_X, RIGHT_W = 520, 320
LINE_H = 17
PAD = 10
GAP = 34
FONT = "font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"13\""


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width) or [""]


def _box(x: int, y: int, w: int, lines: list[tuple[str, str | None, bool]]) -> tuple[list[str], int]:
    """A box with lines (text, data-count key or None, bold); a text starting with two spaces is indented.
    Returns the SVG elements and the box's height. "(n = 12)" is never broken across lines."""
    wrapped: list[tuple[str, str | None, bool, int]] = []
    for text, key, bold in lines:
        indent = 14 if text.startswith("  ") else 0
        chars = int((w - 2 * PAD - indent) / (7.9 if bold else 7.0))
        parts = _wrap(text.strip().replace(" = ", "\u00a0=\u00a0"), chars)
        for j, part in enumerate(parts):
            wrapped.append((part, key if j == len(parts) - 1 else None, bold, indent))
    h = 2 * PAD + LINE_H * len(wrapped)
    out = [f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="4" fill="#ffffff" stroke="#333333"/>']
    for j, (text, key, bold, indent) in enumerate(wrapped):
        attrs = f' data-count={quoteattr(key)}' if key else ""
        weight = ' font-weight="bold"' if bold else ""
        out.append(f'<text x="{x + PAD + indent}" y="{y + PAD + LINE_H * (j + 1) - 4}" {FONT}{weight}{attrs}>'
                   f'{escape(text)}</text>')
    return out, h


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333333" stroke-width="1.5" '
            'marker-end="url(#arrow)"/>')


def prisma_svg(flow: PrismaFlow, *, title: str = "PRISMA 2020 flow diagram", max_reasons: int = 8) -> str:
    """The flow diagram as a standalone SVG document (a string). The ``max_reasons`` most frequent reasons for
    excluding full texts are listed one by one, the others summed in one line (the report lists them all)."""
    ident = [(f"Records identified (n = {flow.total_identified})", "identified", True),
             (f"Databases (n = {flow.databases})", "databases", False)]
    ident += [(f"  {source} (n = {n})", f"source:{source}", False) for source, n in flow.identified
              if source in ("PubMed", "PMC")]
    ident.append((f"Other methods (n = {flow.other_methods})", "other_methods", False))
    ident += [(f"  {source} (n = {n})", f"source:{source}", False) for source, n in flow.identified
              if source not in ("PubMed", "PMC")]
    searches = "1 search" if flow.n_searches == 1 else f"{flow.n_searches} searches"
    ident.append((f"{searches}, the latest on {flow.last_searched.isoformat()}", None, False))
    dup = [("Records removed before screening:", None, True),
           (f"duplicate records (n = {flow.duplicates_removed})", "duplicates_removed", False)]
    screened = [(f"Records screened (n = {flow.screened})", "screened", True)]
    excluded = [(f"Records excluded (n = {flow.excluded_screening})", "excluded_screening", True)]
    assessed = [(f"Full texts assessed for eligibility (n = {flow.assessed})", "assessed", True)]
    ft = [(f"Full texts excluded (n = {flow.excluded_full_text})", "excluded_full_text", True)]
    shown, rest = flow.full_text_reasons[:max_reasons], flow.full_text_reasons[max_reasons:]
    ft += [(f"• {reason} (n = {n})", f"reason:{reason}", False) for reason, n in shown]
    if rest:
        ft.append((f"• {len(rest)} other reasons (n = {sum(n for _, n in rest)})", "reason:other", False))
    included = [(f"Records included in the evidence base (n = {flow.included})", "included", True)]
    included += [(f"{SEARCH_TOPICS.get(t, t).split(' (')[0]} (n = {n})", f"topic:{t}", False)
                 for t, n in flow.included_by_topic]

    body: list[str] = []
    y = 50
    stages: list[tuple[str, int, int]] = []
    rows = [("Identification", ident, dup), ("Screening", screened, excluded), ("", assessed, ft),
            ("Included", included, None)]
    previous_bottom = None
    for stage, left, right in rows:
        lbox, lh = _box(LEFT_X, y, LEFT_W, left)
        rh = 0
        if right is not None:
            rbox, rh = _box(RIGHT_X, y, RIGHT_W, right)
            body += rbox
            body.append(_arrow(LEFT_X + LEFT_W, y + min(lh, rh) / 2, RIGHT_X, y + min(lh, rh) / 2))
        body += lbox
        if previous_bottom is not None:
            body.append(_arrow(LEFT_X + LEFT_W / 2, previous_bottom, LEFT_X + LEFT_W / 2, y))
        h = max(lh, rh)
        if stage:
            stages.append((stage, y, h))
        else:
            name, sy, sh = stages[-1]
            stages[-1] = (name, sy, y + h - sy)
        previous_bottom = y + lh
        y += h + GAP
    for name, sy, sh in stages:
        cx, cy = 40, sy + sh / 2
        body.insert(0, f'<rect x="20" y="{sy}" width="40" height="{sh}" rx="4" fill="#dbe8f4" stroke="#333333"/>')
        body.append(f'<text x="{cx}" y="{cy}" {FONT} font-weight="bold" text-anchor="middle" '
                    f'transform="rotate(-90 {cx} {cy})">{escape(name)}</text>')
    height = y - GAP + 20
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label={quoteattr(title)}>'
            f'<title>{escape(title)}</title>'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333333"/></marker></defs>'
            f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>'
            f'<text x="{LEFT_X}" y="28" font-family="DejaVu Sans, Arial, sans-serif" font-size="15" '
            f'font-weight="bold">{escape(title)}</text>')
    return head + "".join(body) + "</svg>\n"
