"""Reading digitised Kaplan-Meier curves and numbers-at-risk tables from CSV files.

A digitised curve is a CSV with columns ``time, survival`` (a header is optional, as WebPlotDigitizer
exports ``x, y`` without one); an at-risk table has columns ``time, n_at_risk``. Every error names
``file:line`` and the rule. The frames' index is the line number, so later checks can name it too.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

MAX_CURVE_BYTES = 1_000_000  # a digitised curve of 10,000 points takes about 200 kB
NOISE = 0.02  # digitisation noise tolerated on the survival axis (as a fraction) ...
BACKTRACK = 0.01  # ... and on the time axis (as a share of the largest time), cleaned before use


def _shown(cells: list[str]) -> str:
    text = ",".join(cells)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _read_rows(path: str | Path) -> list[tuple[int, list[str]]]:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_CURVE_BYTES:
            raise ValueError(f"{p}: the file is {size:,} bytes; a curve file may hold at most "
                             f"{MAX_CURVE_BYTES:,} (the rule: digitised curves have at most a few thousand points)")
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{p}: the file is not UTF-8 text") from None
    except OSError as exc:
        raise ValueError(f"{p}: cannot be read ({exc.strerror or exc})") from exc
    out = []
    for lineno, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        out.append((lineno, cells))
    if not out:
        raise ValueError(f"{p}: no data rows")
    return out


def _is_number(x: str) -> bool:
    try:
        float(x)
    except ValueError:
        return False
    return True


def _read_two_columns(path: str | Path, names: tuple[str, str], aliases: dict[str, str],
                      what: str) -> tuple[pd.DataFrame, list[int]]:
    rows = _read_rows(path)
    lineno, first = rows[0]
    cols = (0, 1)
    if not _is_number(first[0]):
        header = [aliases.get(c.lower(), c.lower()) for c in first]
        missing = [nm for nm in names if nm not in header]
        if missing:
            raise ValueError(
                f"{path}:{lineno}: header must name columns {', '.join(names)} (found {_shown(first)})"
            )
        cols = (header.index(names[0]), header.index(names[1]))
        rows = rows[1:]
    a, b, lines = [], [], []
    for lineno, cells in rows:
        try:
            x, y = float(cells[cols[0]]), float(cells[cols[1]])
        except (IndexError, ValueError):
            raise ValueError(
                f"{path}:{lineno}: expected two numbers ({names[0]}, {names[1]}) in the {what}, "
                f"got {_shown(cells)}"
            ) from None
        if not (np.isfinite(x) and np.isfinite(y)):
            raise ValueError(f"{path}:{lineno}: {names[0]} and {names[1]} must be finite numbers")
        a.append(x)
        b.append(y)
        lines.append(lineno)
    if not a:
        raise ValueError(f"{path}: no data rows")
    frame = pd.DataFrame({names[0]: a, names[1]: b}, index=pd.Index(lines, name="line"))
    return frame, lines


def read_curve_csv(path: str | Path) -> pd.DataFrame:
    """Read a digitised curve: a CSV with columns ``time, survival`` (header optional, as WebPlotDigitizer
    exports ``x, y`` without one). Errors name ``file:line`` and the rule. The index is the line number.
    Points may come in any order (a digitiser's click order); :func:`check_curve_points` holds the stricter
    rules for curves kept in the evidence base."""
    frame, _ = _read_two_columns(path, ("time", "survival"), {"x": "time", "y": "survival"},
                                 "digitised curve")
    return frame


def check_curve_points(frame: pd.DataFrame, path: str | Path) -> None:
    """Impossible points of a digitised curve (index: line numbers) raise ``ValueError`` at ``file:line``:
    a negative time, survival below 0 or above 100% beyond digitisation noise (:data:`NOISE`, on the scale
    the file uses: percent when any value exceeds 1.5), or a time that goes back by more than
    :data:`BACKTRACK` of the time axis (smaller jitter at vertical drops is cleaned before use)."""
    t = frame["time"].to_numpy()
    s = frame["survival"].to_numpy()
    percent = bool(np.max(s) > 1.5)
    unit = 100.0 if percent else 1.0
    shown = "%" if percent else ""
    span = float(np.max(t)) if len(t) and np.max(t) > 0 else 1.0
    latest = -np.inf
    for i, lineno in enumerate(frame.index):
        if t[i] < 0:
            raise ValueError(f"{path}:{lineno}: time {t[i]:g} is negative (the rule: times start at 0)")
        if s[i] < -NOISE * unit or s[i] > (1 + NOISE) * unit:
            raise ValueError(f"{path}:{lineno}: survival {s[i]:g}{shown} is outside 0-{unit:g}{shown} "
                             "(the rule: survival is a fraction from 0 to 1 or a percent from 0 to 100)")
        if t[i] < latest - BACKTRACK * span:
            raise ValueError(f"{path}:{lineno}: time {t[i]:g} goes back before the earlier {latest:g} "
                             "(the rule: points in time order; only jitter at a vertical drop may go back)")
        latest = max(latest, t[i])


def read_at_risk_csv(path: str | Path) -> pd.DataFrame:
    """Read a numbers-at-risk table: a CSV with columns ``time, n_at_risk`` (header optional).

    Checks each line: non-negative time, whole non-negative number at risk, times increasing, numbers at
    risk non-increasing; a violation raises ``ValueError`` naming ``file:line`` and the rule. The index is
    the line number, so later validation errors ("row L") name the line too.
    """
    frame, lines = _read_two_columns(path, ("time", "n_at_risk"),
                                     {"n": "n_at_risk", "n.risk": "n_at_risk", "nrisk": "n_at_risk",
                                      "n_risk": "n_at_risk", "at_risk": "n_at_risk"},
                                     "at-risk table")
    t = frame["time"].to_numpy()
    r = frame["n_at_risk"].to_numpy()
    for i, lineno in enumerate(lines):
        if t[i] < 0:
            raise ValueError(f"{path}:{lineno}: time {t[i]:g} is negative")
        if r[i] < 0 or r[i] != np.round(r[i]):
            raise ValueError(f"{path}:{lineno}: n_at_risk {r[i]:g} must be a whole number >= 0")
        if i and t[i] <= t[i - 1]:
            raise ValueError(f"{path}:{lineno}: time {t[i]:g} is not after the previous row's {t[i - 1]:g}")
        if i and r[i] > r[i - 1]:
            raise ValueError(
                f"{path}:{lineno}: n_at_risk rises from {int(r[i - 1])} to {int(r[i])} "
                "(the rule: numbers at risk must be non-increasing in time)"
            )
    frame["n_at_risk"] = frame["n_at_risk"].astype(np.int64)
    return frame
