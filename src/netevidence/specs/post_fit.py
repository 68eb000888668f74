"""Analyses run after a stratum's pooled fit when a specification asks for them (``analyses:``): tests
for small-study effects, trim-and-fill and meta-regression on study-level moderators.

Each is gated as the Cochrane Handbook advises, and a skipped analysis carries the reason the page
prints: tests for funnel-plot asymmetry and trim-and-fill need at least ``small_study.min_k`` pooled
studies (10, section 13.3.5.4) unless ``small_study.force``; meta-regression needs at least
``meta_regression.min_k_per_moderator`` studies per coefficient (10, section 10.11.5.1) unless forced.

The numbers come from :func:`netevidence.pooling.egger_test` (Egger et al., BMJ 1997; metafor's
``regtest()``), :func:`netevidence.pooling.begg_test` (Begg & Mazumdar, Biometrics 1994; ``ranktest()``),
:func:`netevidence.pooling.trim_and_fill` (Duval & Tweedie, Biometrics 2000; ``trimfill()``) and
:func:`netevidence.pooling.meta_regression` (Thompson & Higgins, Statistics in Medicine 2002;
``rma(mods = ...)``), each with the stratum's own model (tau^2 estimator, CI method, level).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..evidence import EvidenceBase
from ..pooling import (BeggTestResult, EggerTestResult, MetaRegressionResult, Prediction, TrimFillResult,
                       begg_test, egger_test, meta_regression, trim_and_fill)
from .run import Stratum, small_study_gate
from .schema import MODERATORS, AnalysisSpec, MetaRegression

NUMERIC_MODERATORS = ("year", "n")


@dataclass(frozen=True)
class Skipped:
    """An analysis the specification asks for that is not run, and why."""

    analysis: str
    reason: str


@dataclass(frozen=True)
class TrimAndFill:
    """Trim-and-fill with its pooled estimate back-transformed to the stratum's reporting scale."""

    result: TrimFillResult
    prediction: Prediction


@dataclass(frozen=True)
class ModeratorFit:
    """A meta-regression on ``moderators``; ``reference`` names the reference level of each categorical
    moderator, ``left_out`` the pooled studies without a value of a moderator (not in the fit)."""

    moderators: tuple[str, ...]
    result: MetaRegressionResult
    reference: tuple[tuple[str, str], ...]
    left_out: tuple[str, ...]


@dataclass(frozen=True)
class PostFitAnalyses:
    """What ``analyses:`` asked for on one stratum: each result, or None when not asked or skipped
    (``skipped`` then says why)."""

    egger: EggerTestResult | None = None
    begg: BeggTestResult | None = None
    trim_and_fill: TrimAndFill | None = None
    meta_regression: ModeratorFit | None = None
    skipped: tuple[Skipped, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis asked for: its key number, p-value, or the reason it was skipped."""
        rows = []
        if self.egger is not None:
            rows.append({"analysis": "egger_test", "statistic": self.egger.statistic, "pval": self.egger.pval,
                         "estimate": self.egger.limit_estimate, "reason": None})
        if self.begg is not None:
            rows.append({"analysis": "begg_test", "statistic": self.begg.tau, "pval": self.begg.pval,
                         "estimate": np.nan, "reason": None})
        if self.trim_and_fill is not None:
            rows.append({"analysis": "trim_and_fill", "statistic": float(self.trim_and_fill.result.k0),
                         "pval": np.nan, "estimate": self.trim_and_fill.prediction.pred, "reason": None})
        if self.meta_regression is not None:
            r = self.meta_regression.result
            rows.append({"analysis": "meta_regression", "statistic": r.qm, "pval": r.qm_pval, "estimate": np.nan,
                         "reason": None})
        rows += [{"analysis": s.analysis, "statistic": np.nan, "pval": np.nan, "estimate": np.nan,
                  "reason": s.reason} for s in self.skipped]
        return pd.DataFrame(rows, columns=["analysis", "statistic", "pval", "estimate", "reason"])


def moderator_gate(cfg: MetaRegression, k: int, coefficients: int) -> str | None:
    """Why a meta-regression with ``coefficients`` moderator coefficients is not fitted on ``k`` studies,
    or None when it is: at least ``min_k_per_moderator`` studies per coefficient (Cochrane Handbook,
    section 10.11.5.1) unless forced, and in any case two more studies than coefficients."""
    if coefficients == 0:
        return "every pooled study has the same value of the moderators, so there is nothing to regress on"
    if k < coefficients + 2:
        return (f"k = {k} studies cannot estimate {coefficients} moderator coefficient"
                f"{'s' if coefficients > 1 else ''}, an intercept and the heterogeneity")
    need = cfg.min_k_per_moderator * coefficients
    if k < need and not cfg.force:
        return (f"k = {k} is below {cfg.min_k_per_moderator} studies per moderator coefficient ({need} for "
                f"{coefficients}), too few for a meta-regression (Cochrane Handbook, section 10.11.5.1); set "
                "meta_regression: {force: true} to override")
    return None


def moderator_table(evidence: EvidenceBase, pooled: pd.DataFrame, moderators) -> pd.DataFrame:
    """The moderators of each pooled row: ``year`` and ``design`` from the study's record, ``n`` and
    ``modality`` from the row. Numeric moderators as floats (NaN when not given), categorical as strings."""
    studies = evidence.studies.set_index("study_id")
    out = {}
    for m in moderators:
        if m == "year":
            out[m] = pd.to_numeric(pooled["study_id"].map(studies["year"]), errors="coerce").astype(float)
        elif m == "design":
            out[m] = pooled["study_id"].map(studies["design"]).astype(object)
        elif m == "n":
            out[m] = pd.to_numeric(pooled["n"], errors="coerce").astype(float)
        elif m == "modality":
            out[m] = pooled["modality"].astype(object)
        else:
            raise ValueError(f"unknown moderator {m!r} (known: {', '.join(MODERATORS)})")
    return pd.DataFrame(out, index=pooled.index)


def _meta_regression(evidence: EvidenceBase, cfg: MetaRegression, st: Stratum,
                     pooled: pd.DataFrame) -> ModeratorFit | Skipped:
    mods = moderator_table(evidence, pooled, cfg.moderators)
    missing = mods.isna().any(axis=1).to_numpy()
    left_out = tuple(pooled.loc[missing, "label"])
    mods, used = mods[~missing], pooled[~missing]
    categorical = [m for m in cfg.moderators if m not in NUMERIC_MODERATORS]
    numeric = [m for m in cfg.moderators if m in NUMERIC_MODERATORS]
    if used.empty:
        return Skipped("meta_regression",
                       f"no pooled study has a value for every moderator ({', '.join(cfg.moderators)})")
    coefficients = (sum(max(mods[m].nunique() - 1, 0) for m in categorical)
                    + sum(int(mods[m].nunique() > 1) for m in numeric))
    why = moderator_gate(cfg, len(used), int(coefficients))
    if why is not None:
        if left_out:
            why += f" ({len(left_out)} pooled {'study has' if len(left_out) == 1 else 'studies have'} no value)"
        return Skipped("meta_regression", why)
    keep = [m for m in cfg.moderators if mods[m].nunique() > 1]
    res = meta_regression(used["yi"].to_numpy(float), used["vi"].to_numpy(float), mods[keep],
                          method=st.fit.method, ci=st.fit.ci, level=st.fit.level, labels=list(used["label"]))
    reference = tuple((m, sorted(mods[m].astype(str).unique())[0]) for m in keep if m in categorical)
    return ModeratorFit(moderators=tuple(keep), result=res, reference=reference, left_out=left_out)


def post_fit_analyses(evidence: EvidenceBase, spec: AnalysisSpec, st: Stratum) -> PostFitAnalyses | None:
    """The analyses ``spec.analyses`` asks for, on stratum ``st`` (None when it asks for none of them or
    the stratum is not pooled)."""
    a = spec.analyses
    if st.fit is None or not (a.egger_test or a.begg_test or a.trim_and_fill or a.meta_regression):
        return None
    fit = st.fit
    pooled = st.rows[st.rows["role"] == "study"]
    skipped: list[Skipped] = []
    egger = begg = tf = mr = None
    small = [name for name, on in (("egger_test", a.egger_test), ("begg_test", a.begg_test),
                                   ("trim_and_fill", a.trim_and_fill)) if on]
    why = small_study_gate(spec, fit.k)
    if why is not None:
        skipped += [Skipped(name, why) for name in small]
    else:
        if a.egger_test:
            try:
                egger = egger_test(fit)
            except ValueError as e:  # e.g. every study with the same precision
                skipped.append(Skipped("egger_test", str(e)))
        if a.begg_test:
            begg = begg_test(fit)
        if a.trim_and_fill:
            res = trim_and_fill(fit)
            tf = TrimAndFill(res, res.pooled.predict(st.transf))
    if a.meta_regression is not None:
        out = _meta_regression(evidence, a.meta_regression, st, pooled)
        if isinstance(out, Skipped):
            skipped.append(out)
        else:
            mr = out
    return PostFitAnalyses(egger=egger, begg=begg, trim_and_fill=tf, meta_regression=mr, skipped=tuple(skipped))
