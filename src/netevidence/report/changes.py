"""What changed between two builds: studies added, removed or corrected, and how each pooled result moved.

Pure functions on two manifests (:mod:`netevidence.report.manifest`); the "What changed" page renders the
result. A pooled estimate is flagged when it moved by more than the analysis' ``change_threshold`` (relative
to the previous estimate on the reporting scale), when its confidence interval newly includes or excludes
the null value of a ratio (1), when its GRADE certainty changed, and when the analysis was pooled before and
is not now (or the reverse).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..effects import NULL_VALUES

DEFAULT_THRESHOLD = 0.10


@dataclass(frozen=True)
class NumberChange:
    """One reported quantity of a study whose numbers differ between two builds."""

    quantity: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]


@dataclass(frozen=True)
class StudyChange:
    study_id: str
    name: str
    file: str
    kind: str  # added | removed | corrected
    numbers: tuple[NumberChange, ...] = ()
    added_quantities: tuple[str, ...] = ()
    removed_quantities: tuple[str, ...] = ()


@dataclass(frozen=True)
class StratumChange:
    analysis: str
    analysis_title: str
    stratum: str
    scale: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    flags: tuple[str, ...] = ()
    studies_added: tuple[str, ...] = ()
    studies_removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Changes:
    """Everything that differs between the ``previous`` build and the ``current`` one."""

    previous_version: int
    current_version: int
    previous_built: str
    studies: tuple[StudyChange, ...] = ()
    strata: tuple[StratumChange, ...] = ()
    specs_added: tuple[str, ...] = ()
    specs_removed: tuple[str, ...] = ()
    specs_changed: tuple[str, ...] = ()
    code_changed: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.studies or self.strata or self.specs_added or self.specs_removed or self.specs_changed
                    or self.code_changed)

    def to_frame(self):
        """One row per changed stratum: before and after estimate, CI, tau², k and the flags."""
        import pandas as pd

        rows = []
        for s in self.strata:
            row = {"analysis": s.analysis, "stratum": s.stratum, "flags": "; ".join(s.flags)}
            for when, values in (("before", s.before), ("after", s.after)):
                for name in ("k", "estimate", "ci_low", "ci_high", "tau2"):
                    row[f"{name}_{when}"] = (values or {}).get(name)
            rows.append(row)
        return pd.DataFrame(rows)


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return False
    return a != b


def study_changes(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[StudyChange]:
    """Records added, removed, and corrected (a number that differs, or a quantity added or removed)."""
    old, new = previous.get("records", {}), current.get("records", {})
    out = []
    for rid in sorted(set(new) - set(old)):
        out.append(StudyChange(rid, new[rid]["name"], new[rid]["file"], "added"))
    for rid in sorted(set(old) - set(new)):
        out.append(StudyChange(rid, old[rid]["name"], old[rid]["file"], "removed"))
    for rid in sorted(set(old) & set(new)):
        a, b = old[rid].get("numbers", {}), new[rid].get("numbers", {})
        changed = tuple(NumberChange(q, a[q]["numbers"], b[q]["numbers"]) for q in sorted(set(a) & set(b))
                        if _differs(a[q]["numbers"], b[q]["numbers"]))
        added = tuple(sorted(set(b) - set(a)))
        removed = tuple(sorted(set(a) - set(b)))
        if changed or added or removed:
            out.append(StudyChange(rid, new[rid]["name"], new[rid]["file"], "corrected", changed, added, removed))
    return out


def _includes(values: Mapping[str, Any], null: float) -> bool | None:
    low, high = values.get("ci_low"), values.get("ci_high")
    if low is None or high is None:
        return None
    return low <= null <= high


def stratum_flags(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, scale: str | None,
                  threshold: float) -> tuple[str, ...]:
    """Why a reader should look at a changed pooled result (empty when nothing notable moved)."""
    if before is None or not before.get("pooled"):
        return ("newly pooled",) if after is not None and after.get("pooled") else ()
    if after is None or not after.get("pooled"):
        return ("no longer pooled",)
    flags = []
    old, new = before.get("estimate"), after.get("estimate")
    if old is not None and new is not None and old != 0 and abs(new - old) / abs(old) > threshold:
        flags.append(f"estimate moved by {100 * (new - old) / abs(old):+.0f}% (threshold {100 * threshold:g}%)")
    was_certainty, now_certainty = before.get("certainty"), after.get("certainty")
    if was_certainty and now_certainty and was_certainty != now_certainty:
        flags.append(f"GRADE certainty changed from {was_certainty} to {now_certainty}")
    null = NULL_VALUES.get(scale or "")
    if null is not None:
        was, now = _includes(before, null), _includes(after, null)
        if was is True and now is False:
            flags.append(f"the CI now excludes {null:g}")
        elif was is False and now is True:
            flags.append(f"the CI now includes {null:g}")
    return tuple(flags)


def stratum_changes(previous: Mapping[str, Any], current: Mapping[str, Any],
                    thresholds: Mapping[str, float] | None = None) -> list[StratumChange]:
    """Each analysis stratum whose k, estimate, CI or tau² differs, with its flags."""
    thresholds = thresholds or {}
    old, new = previous.get("analyses", {}), current.get("analyses", {})
    out = []
    for aid in sorted(set(old) | set(new)):
        a = {s["title"]: s for s in old.get(aid, {}).get("strata", [])}
        b = {s["title"]: s for s in new.get(aid, {}).get("strata", [])}
        title = (new.get(aid) or old.get(aid))["title"]
        for st in [t for t in b if t in a] + [t for t in b if t not in a] + [t for t in a if t not in b]:
            before, after = a.get(st), b.get(st)
            keys = ("k", "estimate", "ci_low", "ci_high", "tau2", "pooled", "studies", "certainty")
            if before is not None and after is not None and not any(_differs(before.get(k), after.get(k)) for k in keys):
                continue
            scale = (after or before).get("scale")
            flags = stratum_flags(before, after, scale, thresholds.get(aid, DEFAULT_THRESHOLD))
            s_old, s_new = set((before or {}).get("studies", [])), set((after or {}).get("studies", []))
            out.append(StratumChange(aid, title, st, scale, before, after, flags,
                                     tuple(sorted(s_new - s_old)), tuple(sorted(s_old - s_new))))
    return out


def compare(previous: Mapping[str, Any], current: Mapping[str, Any],
            thresholds: Mapping[str, float] | None = None) -> Changes:
    """All changes from the ``previous`` manifest to the ``current`` one."""
    ps, cs = previous.get("specs", {}), current.get("specs", {})
    return Changes(
        previous_version=int(previous.get("version", 0)),
        current_version=int(current.get("version", 0)),
        previous_built=str(previous.get("built", "")),
        studies=tuple(study_changes(previous, current)),
        strata=tuple(stratum_changes(previous, current, thresholds)),
        specs_added=tuple(sorted(set(cs) - set(ps))),
        specs_removed=tuple(sorted(set(ps) - set(cs))),
        specs_changed=tuple(sorted(s for s in set(ps) & set(cs) if ps[s] != cs[s])),
        code_changed=previous.get("code") != current.get("code"),
    )
