"""One analysis page's content: run the specification, draw its plots, and describe it as plain data
(JSON-serialisable, so that it can be cached and rendered without recomputation)."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..appraisal import LABELS as CERTAINTY_LABELS
from ..effects import measure_facts
from ..evidence import EvidenceBase
from ..labels import data_cut_labels, term_label
from ..plots import (forest_plot, funnel_plot, km_plot, risk_of_bias_summary_plot, save, survival_curves_plot,
                     traffic_light_plot, with_risk_of_bias_column)
from ..plots.risk_of_bias import LEVEL_SYMBOLS
from ..plots.forest_text import ValueFormat
from ..plots.layout import fmt_ci, fmt_p
from ..records import vocabulary
from ..specs import (AnalysisSpec, PublishedComparison, cumulative_by_year, published_comparisons, run_spec,
                     summary_of_findings)
from ..specs.post_fit import PostFitAnalyses, post_fit_analyses
from ..values import plain_value
from .exports import export_analysis
from .methods import proportion_model_comparison, spec_methods

ROLE_TEXT = {
    "study": "pooled",
    "shown": "shown, not pooled",
    "umbrella": "published summary, not pooled",
    "excluded": "excluded",
}


def record_location(evidence: EvidenceBase, r: dict) -> str:
    """``file:line`` of a row, the file relative to the evidence directory (so that the site does not
    depend on where the evidence directory is)."""
    file = r.get("file")
    if not file:
        return ""
    rel = _relative_file(str(evidence.root), str(file))
    return f"{rel}:{r['line']}" if plain_value(r.get("line")) is not None else rel


@functools.lru_cache(maxsize=65536)
def _relative_file(root: str, file: str) -> str:
    """``file`` relative to the evidence directory ``root`` (a directory, or a record file's directory);
    memoised, as every row of a record names the same file."""
    base = Path(root) if Path(root).is_dir() else Path(root).parent
    try:
        return Path(file).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return Path(file).name


def _int(x: Any) -> int | None:
    x = plain_value(x)
    return None if x is None else int(x)


def _modality_name(m: str) -> str:
    return vocabulary.modality_label(m)


def _saved(figure, stem: Path, rel: str, draw=save) -> dict[str, Any]:
    """Save a :class:`netevidence.plots.Figure` under ``stem`` (SVG, PNG and PDF, with ``draw``:
    :func:`netevidence.plots.save` or a figure cache's ``save``) and describe it for the page."""
    draw(figure.plot, stem, figure.width, figure.height)
    return {"png": f"{rel}/{stem.name}.png", "svg": f"{rel}/{stem.name}.svg", "pdf": f"{rel}/{stem.name}.pdf",
            "alt": figure.alt,
            "width": int(round(figure.width * 110)), "height": int(round(figure.height * 110))}


VARIANCE_LABELS = {"ci": "variance: reported CI", "ci_loglog": "variance: reported CI",
                   "greenwood": "variance: Greenwood, reconstructed data", "n_at_risk": "variance: Peto, number at risk",
                   "n_no_censoring": "variance: study size, no censoring assumed",
                   "n_effective": "variance: effective sample size n·G(t), G the share followed to t from the "
                                  "reported follow-up (assumed piecewise uniform)"}


def variance_label(row) -> str:
    """Where a pooled landmark-survival row's variance comes from (empty for other measures)."""
    if row.get("measure") != "SURV":
        return ""
    return VARIANCE_LABELS.get(row.get("derivation"), "")


def _pred_text(pred, scale: str) -> str:
    return fmt_ci(pred.pred, pred.ci_low, pred.ci_high, scale)


def _row_text(evidence: EvidenceBase, spec: AnalysisSpec, st, r: dict, fmt: ValueFormat) -> dict[str, Any]:
    """One row of a stratum's table on the page, as the forest plot writes it."""
    return {
        "label": r["label"], "detail": r["detail"], "group": _modality_name(r["group"])
        if spec.subgroup == "modality" and r["group"] else r["group"],
        "role": ("pooled" if st.fit is not None else "study estimate, not pooled")
        if r["role"] == "study" else ROLE_TEXT.get(r["role"], r["role"]),
        "study_id": r["study_id"], "n": _int(r["n"]), "events": _int(r["events"]),
        "estimate": fmt.ci(r["value"], r["low"], r["high"]),
        "variance": variance_label(r) if r["role"] == "study" else "",
        "weight": f"{r['weight']:.1f}%" if pd.notna(r["weight"]) else "",
        "source": r["source"], "location": r["location"], "verified": plain_value(r["verified"]),
        "where": record_location(evidence, r),
        "rob": _rob_text(r.get("risk_of_bias")), "rob_level": plain_value(r.get("risk_of_bias")) or "none",
    }


def _interval(fmt: ValueFormat, lo: float, hi: float) -> str:
    return f"[{fmt.value(lo)}, {fmt.value(hi)}]"


def _pooled_text(st, fmt: ValueFormat) -> dict[str, Any] | None:
    """The pooled model of a stratum as the page prints it (None when nothing is pooled)."""
    if st.fit is None:
        return None
    f, p = st.fit, st.prediction
    return {
        "model": "equal-effects" if f.method == "EE" else f"random-effects ({f.method})",
        "k": f.k, "estimate": fmt.ci(p.pred, p.ci_low, p.ci_high), "pi": _interval(fmt, p.pi_low, p.pi_high),
        "heterogeneity": f"τ² = {f.tau2:.4f}; I² = {f.i2:.1f}%; H² = {f.h2:.2f}; Q({f.q_df}) = {f.q:.2f}, "
                         f"p {fmt_p(f.q_pval)}",
        "test": f"{'z' if f.ci == 'z' else 't'} = {f.statistic:.2f}, p {fmt_p(f.pval)}",
        "values": {"estimate": p.pred, "ci_low": p.ci_low, "ci_high": p.ci_high, "pi_low": p.pi_low,
                   "pi_high": p.pi_high, "tau2": f.tau2, "i2": f.i2, "q": f.q},
    }


def _bayes_text(st, fmt: ValueFormat) -> dict[str, Any] | None:
    if st.bayes is None or st.fit is None:
        return None
    b, r = st.bayes, st.bayes.result
    return {"model": f"Bayesian ({r.tau_prior} prior on τ)", "k": r.k,
            "estimate": fmt.ci(b.estimate, b.ci_low, b.ci_high), "pi": _interval(fmt, b.pi_low, b.pi_high),
            "heterogeneity": f"τ median {r.tau_median:.3f} [{r.tau_ci_low:.3f}, {r.tau_ci_high:.3f}]"}


def _subgroup_texts(spec: AnalysisSpec, st, fmt: ValueFormat) -> tuple[list[dict[str, Any]], str | None]:
    """Each subgroup's estimate and heterogeneity, and the test for subgroup differences when shown."""
    if st.subgroups is None:
        return [], None
    s = st.subgroups
    out = []
    for lev, k, fit in zip(s.levels, s.k, s.fits):
        pr = fit.predict(st.transf)
        out.append({"group": _modality_name(lev) if spec.subgroup == "modality" else str(lev),
                    "k": int(k), "estimate": fmt.ci(pr.pred, pr.ci_low, pr.ci_high),
                    "values": {"estimate": pr.pred, "ci_low": pr.ci_low, "ci_high": pr.ci_high,
                               "tau2": fit.tau2, "i2": fit.i2},
                    "heterogeneity": (f"τ² = {fit.tau2:.4f}; I² = {fit.i2:.1f}%; Q({fit.q_df}) = "
                                      f"{fit.q:.2f}" if k > 1 else "single study")})
    test = f"Q({s.q_between_df}) = {s.q_between:.2f}, p {fmt_p(s.q_between_pval)}" if st.subgroup_test else None
    return out, test


def _finite(x) -> bool:
    return x is not None and np.isfinite(x)


def _sensitivity_texts(st, fmt: ValueFormat) -> list[dict[str, Any]]:
    out = []
    for r in st.sensitivity.to_dict("records"):
        est = r.get("estimate")
        out.append({"analysis": r["analysis"], "k": plain_value(r.get("k")),
                    "estimate": fmt.ci(est, r.get("ci_low", np.nan), r.get("ci_high", np.nan)) if _finite(est) else "",
                    "tau2": f"{r['tau2']:.4f}" if _finite(r.get("tau2", np.nan)) else "",
                    "i2": f"{r['i2']:.1f}%" if _finite(r.get("i2", np.nan)) else "",
                    "note": r.get("note") if isinstance(r.get("note"), str) else ""})
    return out


def _forest_figure(spec: AnalysisSpec, st, stem: Path, img_rel: str, draw=save) -> dict[str, Any] | None:
    if "forest" not in spec.plots:
        return None
    try:
        figure = forest_plot(st, subgroup=spec.subgroup, **spec.forest.plot_options())
    except ValueError as exc:   # an axis option that does not fit this stratum's scale
        raise ValueError(f"analysis {spec.id!r}, stratum {st.title!r}: forest: {exc}") from None
    plot, width, alt = with_risk_of_bias_column(figure.plot, figure.layout, st.rows)  # robvis's column beside it
    return _saved(dataclasses.replace(figure, plot=plot, width=width, alt=alt), stem, img_rel, draw)


def _funnel_figure(spec: AnalysisSpec, st, post: PostFitAnalyses | None, stem: Path,
                   img_rel: str, draw=save) -> dict[str, Any] | None:
    """The funnel plot of a stratum, with the studies trim-and-fill imputes when the specification asks
    for trim-and-fill."""
    if st.funnel is None:
        return None
    labels = list(st.rows.loc[st.rows["role"] == "study", "label"])
    title = spec.title if st.title == "All studies" else f"{spec.title}: {st.title}"
    trimfill = post.trim_and_fill.result if post is not None and post.trim_and_fill is not None else False
    return _saved(funnel_plot(st.funnel, labels, measure=st.measure, title=title, trimfill=trimfill), stem, img_rel,
                  draw)


def _stratum_page(evidence: EvidenceBase, spec: AnalysisSpec, st, i: int, *, img_dir: Path,
                  img_rel: str, draw=save) -> dict[str, Any]:
    """The content of one stratum's section: its figures and every table, formatted."""
    fmt = ValueFormat(st.scale, percent=spec.forest.scale == "percent")
    subgroups, subgroup_test = _subgroup_texts(spec, st, fmt)
    post = post_fit_analyses(evidence, spec, st)
    return {"title": st.title, "anchor": f"s{i}", "scale": st.scale, "measure": st.measure,
            "k": st.k, "figure": _forest_figure(spec, st, img_dir / f"{spec.id}-{i}-forest", img_rel, draw),
            "rows": [_row_text(evidence, spec, st, r, fmt) for r in st.rows.to_dict("records")],
            "pooled": _pooled_text(st, fmt), "subgroups": subgroups, "subgroup_test": subgroup_test,
            "sensitivity": _sensitivity_texts(st, fmt),
            "funnel": _funnel_figure(spec, st, post, img_dir / f"{spec.id}-{i}-funnel", img_rel, draw),
            "cumulative": _cumulative(evidence, st) if spec.analyses.cumulative is not None else None,
            "post_fit": post_fit_text(post, st),
            "notes": list(st.notes), "bayes": _bayes_text(st, fmt),
            "certainty": _certainty(st.certainty),
            "comparisons": [comparison_text(c) for c in published_comparisons(evidence, st)]}


def build_analysis(evidence: EvidenceBase, spec: AnalysisSpec, *, img_dir: Path, img_rel: str,
                   draw=save) -> dict[str, Any]:
    """Run ``spec``, write its images into ``img_dir`` and return the page content. ``draw`` writes each
    figure (:func:`netevidence.plots.save`, or :meth:`netevidence.report.figures.FigureCache.save`, which
    copies a figure drawn before from its cache)."""
    result = run_spec(evidence, spec)
    img_dir.mkdir(parents=True, exist_ok=True)
    downloads = [{"name": p.name, "href": f"{img_rel}/{p.name}"}
                 for p in export_analysis(result, img_dir, prefix=f"{spec.id}-")]
    strata = [_stratum_page(evidence, spec, st, i, img_dir=img_dir, img_rel=img_rel, draw=draw)
              for i, st in enumerate(result.strata, start=1)]
    comparators = comparator_modalities(evidence)
    summary = [dict(row, comparator=_comparator_of(row.pop("rows"), comparators))
               for i, st in enumerate(result.strata, start=1) for row in _summary_rows(spec, st, i)]
    modalities = analysis_modalities(result, comparators)
    used_studies = {sid for st in result.strata for sid in st.rows["study_id"]}
    pooled_studies = {sid for st in result.strata if st.fit is not None
                      for sid in st.rows.loc[st.rows["role"] == "study", "study_id"]}
    exclusions = []
    cut_labels = data_cut_labels(evidence.data_cuts)
    for r in result.exclusions.to_dict("records"):
        exclusions.append({
            "study_id": r["study_id"], "study_name": r["study_name"], "endpoint": r["endpoint"],
            "what": "; ".join(str(x) for x in (r["statistic"], plain_value(r["arm"]), plain_value(r["qualifier"]),
                                                plain_value(r["subgroup"]),
                                                cut_labels.get((r["study_id"], r["data_cut"]),
                                                               plain_value(r["data_cut"]))) if x),
            "source": r["source"], "role": ROLE_TEXT.get(r["role"], r["role"]), "reason": r["reason"],
            "where": record_location(evidence, r),
        })
    curves = None
    if result.curves is not None and len(result.curves.curves):
        fig = _saved(survival_curves_plot(result.curves, title=vocabulary.ENDPOINTS.get(
            result.curves.endpoint, result.curves.endpoint).capitalize()), img_dir / f"{spec.id}-survival", img_rel,
            draw)
        summ = []
        for g, sc in sorted(result.curves.summary_fits.items()):
            summ.append({"group": _modality_name(g), "k": sc.k,
                         "median": (f"not reached by {sc.time[-1]:g} months" if not np.isfinite(sc.median) else
                                    f"{sc.median:.1f} [{sc.median_ci_low:.1f}, {sc.median_ci_high:.1f}]"
                                    .replace("nan", "NR")),
                         "i2": f"{100 * sc.i2:.1f}%" if np.isfinite(sc.i2) else ""})
        curves = {"figure": fig, "notes": list(result.curves.notes), "summaries": summ}
        used_studies.update(set(result.selection["study_id"]))
    km = None
    if result.km:
        km = {"figure": _saved(km_plot(result.km, title=spec.title, **spec.km.model_dump()),
                               img_dir / f"{spec.id}-km", img_rel, draw),
              "diagnostics": [f"{p.label}: {p.diagnostics}" for p in result.km]}
    sof = [{k: plain_value(v) for k, v in r.items()}
           for r in summary_of_findings([result], page_of=lambda i: f"analyses/{i}.html").to_dict("records")]
    return {
        "id": spec.id, "title": spec.title, "description": spec.description,
        "methods": spec_methods(spec, pooled=any(st.fit is not None for st in result.strata),
                                statistics=result.shown_statistics, pooled_statistics=result.pooled_statistics),
        "strata": strata, "exclusions": exclusions, "curves": curves, "km": km,
        "warnings": list(result.warnings), "studies": sorted(used_studies), "summary": summary,
        "risk_of_bias": _rob_figures(evidence, result, spec, img_dir, img_rel, draw), "sof": sof,
        "pooled_studies": sorted(pooled_studies), "downloads": downloads, "modalities": modalities,
        "proportion_models": proportion_model_comparison(result),
    }


def _rob_text(level: Any) -> str:
    level = plain_value(level)
    if level is None:
        return "not assessed"
    return f"{LEVEL_SYMBOLS.get(level, '')} {str(level).replace('_', ' ')}".strip()


def _cumulative(evidence: EvidenceBase, st) -> dict[str, Any] | None:
    """The cumulative meta-analysis by year of publication, formatted as the page shows it."""
    table, missing = cumulative_by_year(evidence, st)
    if table.empty:
        return None
    rows = [{"year": int(r["year"]), "label": r["label"], "k": int(r["k"]),
             "estimate": fmt_ci(r["estimate"], r["ci_low"], r["ci_high"], st.scale),
             "tau2": f"{r['tau2']:.4f}" if np.isfinite(r["tau2"]) else ""} for r in table.to_dict("records")]
    return {"rows": rows, "missing": missing}


POST_FIT_NAMES = {"egger_test": "Egger's regression test", "begg_test": "Begg's rank correlation test",
                  "trim_and_fill": "Trim-and-fill", "meta_regression": "Meta-regression"}


def _back(transf, *values: float) -> list[float]:
    """``values`` on the reporting scale (a decreasing back-transform swaps an interval's limits)."""
    return [float(transf(v)) if transf is not None else float(v) for v in values]


def post_fit_text(post: PostFitAnalyses | None, st) -> dict[str, Any] | None:
    """The sentences and the moderator table of the analyses a specification asks for after the pooled fit
    (see :mod:`netevidence.specs.post_fit`), or None when none was asked for."""
    if post is None:
        return None
    lines = []
    if post.egger is not None:
        e = post.egger
        stat = "z" if e.df is None else f"t({e.df})"
        est, a, b = _back(st.transf, e.limit_estimate, e.limit_ci_low, e.limit_ci_high)
        lines.append(f"Egger's regression test for funnel-plot asymmetry ("
                     f"{'equal-effects' if e.method == 'EE' else 'random-effects'} meta-regression on the "
                     f"standard error, {e.method}): {stat} = {e.statistic:.2f}, p {fmt_p(e.pval)}; estimate as the "
                     f"standard error goes to 0: {fmt_ci(est, min(a, b), max(a, b), st.scale)}.")
    if post.begg is not None:
        g = post.begg
        lines.append(f"Begg's rank correlation test: Kendall's τ = {g.tau:.3f}, p {fmt_p(g.pval)} "
                     f"({'exact' if g.exact else 'normal approximation'}).")
    if post.trim_and_fill is not None:
        t, p = post.trim_and_fill.result, post.trim_and_fill.prediction
        k = int((~np.asarray(t.filled)).sum())
        lines.append(f"Trim-and-fill ({t.estimator} estimator): {t.k0} "
                     f"{'study' if t.k0 == 1 else 'studies'} estimated missing on the {t.side} side of the funnel; "
                     f"with {'it' if t.k0 == 1 else 'them'} filled in, the pooled estimate is "
                     f"{_pred_text(p, st.scale)} (k = {k + t.k0}), against {_pred_text(st.prediction, st.scale)} "
                     f"(k = {k}) from the studies found." if t.k0 else
                     f"Trim-and-fill ({t.estimator} estimator): no study is estimated missing, so the pooled estimate "
                     f"is unchanged ({_pred_text(p, st.scale)}, k = {k}).")
    regression = None
    if post.meta_regression is not None:
        m, r = post.meta_regression, post.meta_regression.result
        scale = measure_facts(st.measure).analysis_label.lower() if st.measure else "analysis scale"
        stat = "z" if r.df is None else "t"
        test = (f"F({r.qm_df}, {r.df}) = {r.qm:.2f}" if r.df is not None else f"QM({r.qm_df}) = {r.qm:.2f}")
        regression = {
            "caption": _regression_caption(m, scale),
            "level": f"{100 * r.level:g}% CI",
            "stat": stat,
            "rows": [{"name": _coefficient_label(name), "estimate": f"{b:.3f}", "se": f"{se:.3f}",
                      "ci": f"[{lo:.3f}, {hi:.3f}]", "statistic": f"{z:.2f}", "p": fmt_p(pv).removeprefix("= ")}
                     for name, b, se, lo, hi, z, pv in zip(r.names, r.coef, r.se, r.ci_low, r.ci_high, r.statistic,
                                                           r.pval)],
            "tests": (f"Test of moderators: {test}, p {fmt_p(r.qm_pval)}. Residual heterogeneity: τ² = {r.tau2:.4f}, "
                      f"I² = {r.i2:.1f}%, QE({r.qe_df}) = {r.qe:.2f}, p {fmt_p(r.qe_pval)}"
                      + (f"; R² = {r.r2:.1f}%" if r.r2 is not None else "") + "."),
            "left_out": list(m.left_out),
        }
    skipped = [f"{POST_FIT_NAMES[s.analysis]} not run: {s.reason}." for s in post.skipped]
    return {"lines": lines, "regression": regression, "skipped": skipped}


def _regression_caption(m, scale: str) -> str:
    r = m.result
    parts = [f"Meta-regression on {', '.join(m.moderators)} (k = {r.k}, τ² estimator {r.method})",
             f"coefficients on the {scale} scale"]
    if "year" in m.moderators:
        parts.append("year: change per year of publication")
    if "n" in m.moderators:
        parts.append("n: change per patient")
    parts += [f"{mod}: difference from {_moderator_label(mod, ref)}" for mod, ref in m.reference]
    return "; ".join(parts) + "."


def _moderator_label(moderator: str, level: str) -> str:
    return term_label(moderator, level) if moderator in ("design", "modality") else level


def _coefficient_label(name: str) -> str:
    """``design[rct]`` as ``design: randomised controlled trial``; other names unchanged."""
    if "[" in name and name.endswith("]"):
        mod, level = name[:-1].split("[", 1)
        return f"{mod}: {_moderator_label(mod, level)}"
    return name


def _certainty(c) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"symbol": c.symbol, "label": CERTAINTY_LABELS[c.level], "start": c.start, "start_rule": c.start_rule,
            "domains": [{"domain": d.domain.replace("_", " "), "change": d.change, "proposed": d.proposed,
                         "rule": d.rule, "finding": d.finding, "override": d.override_reason}
                        for d in c.domains]}


def _rob_figures(evidence: EvidenceBase, result, spec: AnalysisSpec, img_dir: Path, img_rel: str,
                 draw=save) -> dict[str, Any]:
    """Traffic-light and summary plots, per tool, of the studies the analysis pools (summary shares weighted
    by each study's mean pooling weight over the strata); when it pools none, of every study it shows
    (each counted once). Returns ``{"scope": "pooled" | "shown" | None, "tools": [...]}``."""
    weights: dict[str, list[float]] = {}
    shown: list[str] = []
    for st in result.strata:
        pooled = st.rows[st.rows["role"] == "study"] if st.fit is not None else st.rows.iloc[0:0]
        for sid, w in zip(pooled["study_id"], pooled["weight"]):
            weights.setdefault(sid, []).append(float(w) if pd.notna(w) else 1.0)
        shown += [sid for sid in st.rows["study_id"] if sid not in shown]
    scope = "pooled" if weights else "shown" if shown else None
    if scope is None:
        return {"scope": None, "tools": []}
    studies = list(weights) if weights else shown
    mean_w = {sid: float(np.mean(ws)) for sid, ws in weights.items()} if weights else None
    table = evidence.risk_of_bias
    table = table[table["study_id"].isin(studies)]
    out = []
    for j, (tool, rows) in enumerate(table.groupby("tool", sort=True), start=1):
        traffic = traffic_light_plot(rows, title=spec.title)
        summary = risk_of_bias_summary_plot(rows, weights=mean_w, title=spec.title)
        out.append({"tool": str(rows["tool_name"].iloc[0]),
                    "traffic": _saved(traffic, img_dir / f"{spec.id}-rob-{j}", img_rel, draw),
                    "summary": _saved(summary, img_dir / f"{spec.id}-rob-{j}-summary", img_rel, draw),
                    "weighted": mean_w is not None, "missing": []})
    assessed = set(table["study_id"])
    missing = [sid for sid in studies if sid not in assessed]
    if missing and out:
        out[-1]["missing"] = sorted(missing)
    elif missing:
        out.append({"tool": None, "traffic": None, "summary": None, "weighted": False, "missing": sorted(missing)})
    return {"scope": scope, "tools": out}


def _names(items: tuple[str, ...]) -> str:
    return ", ".join(items) if items else "none"


def comparison_text(c: PublishedComparison) -> dict[str, str]:
    """The sentences that set our pooled estimate beside a published one (see :mod:`netevidence.specs.compare`)."""
    ours = fmt_ci(c.ours, c.ours_low, c.ours_high, c.scale)
    theirs = fmt_ci(c.published, c.published_low, c.published_high, c.scale)
    k = f"k = {c.published_k}" if c.published_k is not None else "k not stated"
    if c.scale == "ratio":
        diff = f"ours is {c.difference:.2f} times the published ratio"
    elif c.scale == "proportion":
        diff = f"ours minus published is {c.difference:+.1f} percentage points"
    else:
        diff = f"ours minus published is {c.difference:+.1f}"
    if c.cis_overlap is None:
        ci = "the published estimate has no confidence interval here"
    else:
        ci = "the confidence intervals overlap" if c.cis_overlap else "the confidence intervals do not overlap"
    estimates = f"Our pool {ours} (k = {c.ours_k}) against {c.review_name} {theirs} ({k}): {diff}; {ci}."
    if c.listed:
        parts = [f"In both: {_names(c.in_both)}.", f"Only in our pool: {_names(c.only_ours)}."]
        if c.only_published_held:
            parts.append(f"Included by {c.review_name} and held here, but not pooled in this plot: "
                         f"{_names(c.only_published_held)}.")
        if c.only_published_not_held:
            parts.append(f"Included by {c.review_name} without a record here: {c.only_published_not_held}.")
        studies = " ".join(parts)
    else:
        studies = (f"{c.review_name} does not list its included studies in its record, so which of our "
                   f"studies it holds is not known. Our pool holds: {_names(c.only_ours)}.")
    return {"review_id": c.review_id, "review_name": c.review_name, "estimates": estimates, "studies": studies}


def _summary_rows(spec: AnalysisSpec, st, i: int) -> list[dict[str, Any]]:
    """Key numbers per modality for the index: subgroup estimates, else the stratum's pooled estimate,
    else each study's own estimate with a CI. ``rows`` lists the outcome rows each number comes from."""
    out = []
    rows = st.rows
    if st.title == "All studies":
        st_title = ", ".join(vocabulary.ENDPOINTS.get(e, e).split(" (")[0] for e in spec.select.endpoints)
    else:
        st_title = st.title
    if st.subgroups is not None and spec.subgroup == "modality":
        pooled = rows[rows["role"] == "study"]
        for lev, k, fit in zip(st.subgroups.levels, st.subgroups.k, st.subgroups.fits):
            pr = fit.predict(st.transf)
            out.append({"modality": str(lev), "analysis": spec.id, "title": spec.title, "stratum": st_title,
                        "anchor": f"s{i}", "k": int(k), "estimate": _pred_text(pr, st.scale),
                        "kind": "pooled" if k > 1 else "single study",
                        "rows": list(pooled.loc[pooled["group"].astype(str) == str(lev), "row"])})
    elif st.fit is not None:
        modality = _joined(_row_modality(s, spec) for s in rows.loc[rows["role"] == "study"].to_dict("records"))
        out.append({"modality": modality, "analysis": spec.id, "title": spec.title, "stratum": st_title,
                    "anchor": f"s{i}", "k": st.fit.k, "estimate": _pred_text(st.prediction, st.scale),
                    "kind": "pooled", "rows": list(rows.loc[rows["role"] == "study", "row"])})
    else:
        studies = rows[(rows["role"] == "study") & rows["value"].notna()]
        if len(studies) > 2:
            lo, hi = studies["value"].min(), studies["value"].max()
            out.append({"modality": _joined(_row_modality(r, spec) for r in studies.to_dict("records")),
                        "analysis": spec.id, "title": spec.title, "stratum": st_title, "anchor": f"s{i}",
                        "k": None, "estimate": f"{len(studies)} estimates from {fmt_ci(lo, np.nan, np.nan, st.scale)} "
                                              f"to {fmt_ci(hi, np.nan, np.nan, st.scale)}",
                        "kind": "shown side by side, not pooled", "rows": list(studies["row"])})
            rows = rows[rows["role"] == "umbrella"]
        for r in rows[(rows["role"].isin(["study", "shown", "umbrella"])) & rows["value"].notna()].to_dict("records"):
            out.append({"modality": _row_modality(r, spec), "analysis": spec.id, "title": spec.title,
                        "stratum": st_title + (f" ({r['detail']})" if r["detail"] else ""), "anchor": f"s{i}",
                        "k": 1 if r["role"] == "study" else None,
                        "estimate": fmt_ci(r["value"], r["low"], r["high"], st.scale),
                        "variance": variance_label(r) if r["role"] == "study" else "",
                        "kind": _single_row_basis(r), "rows": [r["row"]]})
        return out
    # a modality whose rows are on the plot but in no number above (a row shown beside a pool, not pooled)
    covered = {t for o in out for t in o["modality"].split("+")}
    for r in rows[rows["role"].isin(["study", "shown", "umbrella"]) & rows["value"].notna()].to_dict("records"):
        terms = set(_row_modality(r, spec).split("+"))
        if terms & covered:
            continue
        out.append({"modality": _row_modality(r, spec), "analysis": spec.id, "title": spec.title,
                    "stratum": st_title + (f" ({r['label']})" if r["label"] else ""), "anchor": f"s{i}",
                    "k": None, "estimate": fmt_ci(r["value"], r["low"], r["high"], st.scale),
                    "kind": ROLE_TEXT.get(r["role"], r["role"]), "rows": [r["row"]]})
    return out


def _single_row_basis(r: dict) -> str:
    """What an unpooled number on the index is, naming the publication it comes from."""
    if r["role"] == "study":
        return f"single study ({r['label']})"
    if r["role"] == "shown":
        return f"reported by {r['label']}, no CI"
    return f"published summary ({r['label']})"


def _joined(modalities) -> str:
    """Modalities (each possibly combined, "tae+tace") as one sorted "+"-joined set of terms."""
    return "+".join(sorted({t for m in modalities for t in str(m).split("+") if t}))


def analysis_modalities(result, comparators: dict[int, str]) -> dict[str, str]:
    """Each modality the rows of an analysis name (an arm's, or the comparator arm's of a comparison) ->
    ``shown`` when one of its rows is shown on the page's plots, else ``excluded`` (its rows are all in
    the table of rows not pooled)."""
    out: dict[str, str] = {}
    sel = result.selection
    for r in sel[["modality", "role", "row"]].itertuples(index=False):
        terms = [t for t in str(r.modality).split("+") if t]
        comp = comparators.get(int(r.row)) if plain_value(r.row) is not None else None
        for t in terms + ([comp] if comp else []):
            out[t] = "shown" if r.role != "excluded" or out.get(t) == "shown" else "excluded"
    return dict(sorted(out.items()))


def comparator_modalities(evidence: EvidenceBase) -> dict[int, str]:
    """Outcome row (its index in ``evidence.outcomes``) -> the modality of its comparator arm, for the rows
    that compare two arms of a record."""
    out = evidence.outcomes[["study_id", "comparator"]].dropna()
    arms = evidence.arms.set_index(["study_id", "arm"])["modality"]
    found = {i: arms.get((sid, comp)) for i, sid, comp in out.itertuples()}
    return {int(i): str(m) for i, m in found.items() if isinstance(m, str) and m}


def _comparator_of(rows, comparators: dict[int, str]) -> str:
    """The comparator modalities of the outcome ``rows`` a number comes from, joined by "+" ("" for none)."""
    found = {comparators.get(int(r)) for r in rows if plain_value(r) is not None}
    return "+".join(sorted(m for m in found if m))


def _row_modality(r: dict, spec: AnalysisSpec) -> str:
    return str(r.get("group")) if spec.subgroup == "modality" and r.get("group") else str(r.get("modality", ""))
