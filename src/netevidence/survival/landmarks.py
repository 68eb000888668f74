"""Inputs of the landmark-survival variance ladder that come from the evidence base, not from the row.

:func:`landmark_sources` adds to outcome rows the columns read by
:func:`netevidence.effects.from_outcomes` for rungs (b) and (d) of
:mod:`netevidence.effects.landmark`:

* ``km_survival`` and ``km_se_log``: the Kaplan-Meier estimate at the row's landmark and Greenwood's
  standard error of its log, from the patient data reconstructed (Guyot et al., BMC Medical Research
  Methodology, 2012) from the record's digitised curve of the same study, endpoint, arm, data cut and
  subgroup; missing when there is no such curve, the landmark lies beyond it or no event precedes it;
* ``n_study``: the study's number of patients (the record's ``population.patients``), used by rung (d)
  when the row has no ``n`` of its own;
* ``followed_share`` (only with ``follow_up=True``): ``G(t)``, the share of patients whose follow-up reaches
  the row's landmark (:func:`netevidence.effects.landmark.followed_share`), from the study's reported
  follow-up (endpoint ``follow_up``, a median with or without its range; the whole population's, else the
  first arm's); used by rung (d) with the effective sample size; missing when the study reports none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..effects.landmark import followed_share
from ..evidence import EvidenceBase
from ..records.vocabulary import MONTHS_PER_UNIT
from .analysis import kaplan_meier
from .evidence import reconstruct_curves


def _key(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA else value


def _follow_up(outcomes: pd.DataFrame) -> dict[str, tuple[float, float | None, float | None]]:
    """Each study's reported follow-up of its whole population in months: (median, shortest, longest)."""
    rows = outcomes[(outcomes["endpoint"] == "follow_up") & (outcomes["statistic"] == "median_time")]
    out: dict[str, tuple[float, float | None, float | None]] = {}
    # the whole study's follow-up first, then (when only per-arm figures exist) the first arm's
    for r in sorted(rows.to_dict("records"), key=lambda r: _key(r.get("arm")) is not None):
        if r["study_id"] in out or _key(r.get("subgroup")) is not None or _key(r.get("estimate")) is None:
            continue
        f = MONTHS_PER_UNIT.get(r.get("unit"), np.nan)
        lo, hi = _key(r.get("range_low")), _key(r.get("range_high"))
        out[r["study_id"]] = (float(r["estimate"]) * f, None if lo is None else float(lo) * f,
                              None if hi is None else float(hi) * f)
    return out


def _shares(out: pd.DataFrame, follow: dict[str, tuple[float, float | None, float | None]]) -> list[float]:
    shares = []
    for r in out.to_dict("records"):
        fu = follow.get(r["study_id"])
        if (r["statistic"] != "survival_at" or fu is None or _key(r.get("time")) is None
                or _key(r.get("time_unit")) is None):
            shares.append(np.nan)
            continue
        try:
            shares.append(followed_share(float(r["time"]) * MONTHS_PER_UNIT[r["time_unit"]], *fu))
        except ValueError:
            shares.append(np.nan)
    return shares


def landmark_sources(evidence: EvidenceBase, rows: pd.DataFrame, *, greenwood: bool = True,
                     follow_up: bool = False) -> pd.DataFrame:
    """``rows`` with ``km_survival``, ``km_se_log``, ``n_study`` and, with ``follow_up``, ``followed_share``
    added (see the module docstring)."""
    out = rows.copy()
    patients = evidence.studies.set_index("study_id")["patients"]
    out["n_study"] = [float(patients.get(s)) if _key(patients.get(s)) is not None else np.nan
                      for s in out["study_id"]]
    if follow_up:
        out["followed_share"] = _shares(out, _follow_up(evidence.outcomes))
    out["km_survival"] = np.nan
    out["km_se_log"] = np.nan
    landmark = out["statistic"] == "survival_at"
    if not greenwood or evidence.curves.empty or not landmark.any():
        return out
    curves = {}
    for curve in evidence.curves.itertuples(index=False):
        key = (curve.study_id, curve.endpoint, _key(curve.arm), _key(curve.data_cut), _key(curve.subgroup))
        curves.setdefault(key, curve)
    fits: dict[tuple[str, str], object] = {}
    wanted = out.index[landmark]
    for i in wanted:
        row = out.loc[i]
        key = (row["study_id"], row["endpoint"], _key(row["arm"]), _key(row["data_cut"]), _key(row["subgroup"]))
        curve = curves.get(key)
        if curve is None or _key(row["time"]) is None or _key(row["time_unit"]) is None:
            continue
        if not fits:  # reconstruct once, only when some landmark row has a curve
            fits.update({k: kaplan_meier(r.time, r.event) for k, r in reconstruct_curves(evidence).items()})
        km = fits[(curve.study_id, curve.curve_id)]
        t = float(row["time"]) * MONTHS_PER_UNIT[row["time_unit"]] / MONTHS_PER_UNIT[curve.time_unit]
        if t > km.time[-1]:
            continue
        j = int(np.searchsorted(km.time, t, side="right") - 1)
        if j < 0 or not km.std_err[j] > 0 or not 0 < km.survival[j] < 1:
            continue
        out.loc[i, "km_survival"] = float(km.survival[j])
        out.loc[i, "km_se_log"] = float(km.std_err[j])
    return out
