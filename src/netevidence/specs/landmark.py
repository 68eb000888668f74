"""Sensitivity analyses of landmark survival pools by the source of each row's variance.

Each pooled landmark row carries the rung of :mod:`netevidence.effects.landmark` its variance came from
(``derivation``). The analysis is repeated with the stricter rungs only: with the reported CIs alone, then
adding Greenwood's variance from reconstructed data, then Peto's approximation, each step leaving out the
rows whose variance rests on weaker assumptions (every level below the weakest rung used is shown, even
when it holds too few studies to pool).
"""

from __future__ import annotations

import pandas as pd

from ..effects.landmark import DERIVATIONS, EFFECTIVE_N, RUNG_LABELS, RUNG_LETTERS, RUNGS

_RANK = {DERIVATIONS[r]: i for i, r in enumerate(RUNGS)}
_RANK["ci_loglog"] = _RANK["ci"]
_RANK[EFFECTIVE_N] = _RANK[DERIVATIONS["n"]]


def landmark_rung_subsets(pooled: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(label, rows)`` for each stricter set of rungs than the weakest one the pooled landmark rows use."""
    if "derivation" not in pooled.columns or not len(pooled) or not (pooled["measure"] == "SURV").all():
        return []
    ranks = pooled["derivation"].map(_RANK)
    if ranks.isna().any():
        return []
    present = sorted(set(ranks.astype(int)))
    # every stricter level present, and always the one just below the weakest source used, so that a pool
    # resting on one weak source still shows how much (or how little) the stricter sources hold
    tops = sorted(set(present[:-1]) | ({present[-1] - 1} if present[-1] > 0 else set()))
    out = []
    for top in tops:
        rungs = RUNGS[: top + 1]
        letters = "".join(RUNG_LETTERS[r] for r in rungs)
        label = (f"landmark variance from rung{'s' if len(rungs) > 1 else ''} "
                 f"{'-'.join(dict.fromkeys([letters[0], letters[-1]]))} only ("
                 + "; ".join(RUNG_LABELS[r] for r in rungs) + ")")
        out.append((label, pooled[ranks <= top]))
    return out
