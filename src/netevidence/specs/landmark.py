"""Sensitivity analyses of landmark survival pools by the source of each row's variance.

Each pooled landmark row carries the rung of :mod:`netevidence.effects.landmark` its variance came from
(``derivation``). When a pool mixes rungs, the analysis is repeated with the stricter rungs only: with the
reported CIs alone, then adding Greenwood's variance from reconstructed data, then Peto's approximation,
each step leaving out the rows whose variance rests on weaker assumptions.
"""

from __future__ import annotations

import pandas as pd

from ..effects.landmark import DERIVATIONS, RUNG_LABELS, RUNG_LETTERS, RUNGS

_RANK = {DERIVATIONS[r]: i for i, r in enumerate(RUNGS)}
_RANK["ci_loglog"] = _RANK["ci"]


def landmark_rung_subsets(pooled: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(label, rows)`` for each stricter set of rungs, when the pooled landmark rows mix rungs."""
    if "derivation" not in pooled.columns or not len(pooled) or not (pooled["measure"] == "SURV").all():
        return []
    ranks = pooled["derivation"].map(_RANK)
    if ranks.isna().any():
        return []
    present = sorted(set(ranks.astype(int)))
    out = []
    for top in present[:-1]:
        rungs = RUNGS[: top + 1]
        letters = "".join(RUNG_LETTERS[r] for r in rungs)
        label = (f"landmark variance from rung{'s' if len(rungs) > 1 else ''} "
                 f"{'-'.join(dict.fromkeys([letters[0], letters[-1]]))} only ("
                 + "; ".join(RUNG_LABELS[r] for r in rungs) + ")")
        out.append((label, pooled[ranks <= top]))
    return out
