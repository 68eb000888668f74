"""Methods text generated from an analysis specification."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ..labels import term_label
from ..specs import AnalysisResult, AnalysisSpec
from ..specs.proportions import compare_proportion_models

MEASURES = {
    "PLO": "proportions on the logit scale, back-transformed with the inverse logit",
    "PR": "raw proportions",
    "PAS": "proportions on the arcsine square-root scale, back-transformed with sin²",
    "PFT": "proportions on the Freeman-Tukey double-arcsine scale, back-transformed with Miller's inverse at "
           "the harmonic mean of the sample sizes",
    "PLN": "proportions on the log scale, back-transformed with exp",
}
ESTIMATORS = {
    "EE": "an equal-effects model (no between-study variance)",
    "DL": "the DerSimonian-Laird estimator", "HE": "the Hedges estimator", "HS": "the Hunter-Schmidt estimator",
    "SJ": "the Sidik-Jonkman estimator", "ML": "maximum likelihood",
    "REML": "restricted maximum likelihood (REML)", "PM": "the Paule-Mandel estimator",
    "EB": "the empirical Bayes estimator",
}
STATISTIC_KINDS = ("count", "proportion", "events", "survival_at", "hazard_ratio", "odds_ratio", "median_time")
CI = {"z": "the normal distribution (Wald-type z)", "knha": "the Hartung-Knapp-Sidik-Jonkman t distribution",
      "adhoc": "the Hartung-Knapp t distribution with the ad hoc correction (never narrower than z)"}


def _list(values) -> str:
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def _statistics(spec: AnalysisSpec, statistics: Iterable[str] | None, default: Iterable[str]) -> set[str]:
    """The kinds of statistic a methods text describes: those the page shows when given, else those the
    specification selects, else ``default``."""
    if statistics is not None:
        return set(statistics)
    return set(spec.select.statistics or default)


def _scales(spec: AnalysisSpec, statistics: Iterable[str] | None = None) -> str:
    """The analysis scale of each kind of statistic on the page (``statistics``), or that the specification
    selects (every kind when it selects none)."""
    stats = _statistics(spec, statistics, STATISTIC_KINDS)
    parts = []
    if stats & {"count", "proportion", "events"}:
        parts.append(MEASURES[spec.model.measure])
    if "survival_at" in stats:
        parts.append("survival at a time point on the log(-log) scale, back-transformed with exp(-exp(x))")
    if "median_time" in stats:
        parts.append("median times on the log scale, with standard errors from the reported confidence interval "
                     "(medians without one are shown, not pooled)")
    if stats & {"hazard_ratio", "odds_ratio"}:
        parts.append("hazard and odds ratios on the log scale, with standard errors from the reported confidence "
                     "interval (or from an exact p-value)")
    return f"Analysed are {'; '.join(parts)}. " if parts else ""


def post_fit_methods(spec: AnalysisSpec) -> list[str]:
    """The paragraph on the analyses ``spec.analyses`` asks for after the pooled fit (empty when none)."""
    a, small = spec.analyses, spec.small_study
    tests = [name for name, on in (("Egger's regression test (Egger et al. 1997)", a.egger_test),
                                   ("Begg's rank correlation test (Begg and Mazumdar 1994)", a.begg_test),
                                   ("trim-and-fill with the L0 estimator (Duval and Tweedie 2000)", a.trim_and_fill))
             if on]
    out = []
    if tests:
        gate = ("from 3 pooled studies on, as the specification forces it" if small.force else
                f"only with at least {small.min_k} pooled studies (Cochrane Handbook, section 13.3.5.4)")
        out.append(f"Small-study effects: {_list(tests)}, {gate}.")
    if a.meta_regression is not None:
        r = a.meta_regression
        gate = ("as the specification forces it, with at least two more studies than coefficients" if r.force else
                f"only with at least {r.min_k_per_moderator} pooled studies per moderator coefficient (Cochrane "
                "Handbook, section 10.11.5.1)")
        out.append(f"Meta-regression on {_list(r.moderators)} with the model above (Thompson and Higgins 2002), "
                   f"{gate}.")
    return out


def spec_methods(spec: AnalysisSpec, *, pooled: bool = True, statistics: Iterable[str] | None = None,
                 pooled_statistics: Iterable[str] | None = None) -> list[str]:
    """Paragraphs describing what the specification selects and how it pools; ``pooled=False`` (no stratum
    had enough studies) drops the sensitivity analyses, which then have nothing to repeat. ``statistics``,
    the kinds of statistic the page's rows hold, limits the scale, landmark, proportion and median paragraphs
    to what the page shows (by default: what the specification selects); ``pooled_statistics``, the kinds
    the page's pools hold, limits the sensitivity analyses of landmark variances to pages that pool a
    landmark (by default: any page that pools)."""
    sel, m = spec.select, spec.model
    out = []
    what = _list(term_label("endpoint", e) for e in sel.endpoints)
    txt = f"Outcome: {what}."
    if sel.modalities:
        txt += f" Modalities: {_list(term_label('modality', x) for x in sel.modalities)}."
    if sel.designs:
        txt += f" Designs: {_list(term_label('design', x) for x in sel.designs)}."
    if sel.statistics:
        txt += f" Statistics as reported: {_list(term_label('statistic', s) for s in sel.statistics)}."
    if sel.studies:
        txt += f" Studies: {_list(sel.studies)}."
    if sel.comparisons is True:
        txt += " Only comparisons between two arms are used."
    elif sel.comparisons is False:
        txt += " Only single-arm results are used."
    if spec.stratify:
        txt += f" A separate forest plot is drawn for each {_list(c.replace('_', ' ') for c in spec.stratify)}."
    out.append(txt)
    if m.pool:
        level = f"{round(m.level * 100)}%"
        out.append(
            _scales(spec, statistics) +
            f"Studies are pooled (when at least {m.min_studies} primary studies have a within-study variance) "
            f"with a random-effects model, τ² estimated by {ESTIMATORS[m.method]}; {level} confidence intervals "
            f"use {CI[m.ci]}. The {level} prediction interval "
            + ("follows Higgins, Thompson and Spiegelhalter (t with k-2 df)." if m.pi == "hts"
               else "is metafor's predict() interval.")
            + " Heterogeneity is reported as τ², I² (from τ² and the typical within-study variance), H² and "
            "Cochran's Q.")
    else:
        out.append("Nothing is pooled in this analysis: the rows describe the same patients (one trial, several "
                   "data cuts or endpoints) and are shown side by side with their own confidence intervals.")
    out.append(
        "No double counting: published pooled estimates, medians and ranges across studies are shown as their "
        "own rows and never pooled with primary studies"
        + (" (here published pooled estimates may be pooled instead of the primary studies they include, "
           "never two overlapping meta-analyses)" if spec.published.mode == "pool" else "")
        + "; patient subgroups are left out in favour of the whole study population; "
        + ("of several data cuts of one study only the latest is used; " if spec.data_cut == "latest"
           else "every data cut is shown; ")
        + "a number reported by two sources is used once; of two publications that report the same patients "
        "(a declared overlap, or a possible overlap not resolved) only "
        + ("the larger" if spec.overlap == "largest" else "the later")
        + " is used. Every row left out is listed below with its reason.")
    if spec.subgroup:
        out.append(f"Subgroups by {spec.subgroup.replace('_', ' ')}: each subgroup is pooled with its own τ²; the "
                   "test for subgroup differences (Cochran's Q across the subgroup estimates) is reported only when "
                   "at least two subgroups hold 2 or more studies (Cochrane Handbook, section 10.11.3.1).")
    extra = []
    if spec.estimators:
        extra.append(f"other τ² estimators ({_list(spec.estimators)})")
    names = {"leave_one_out": "leave-one-out", "verified_only": "verified numbers only",
             "primary_sources_only": "numbers from each study's own publication only",
             "exclude_high_risk_of_bias": "without studies at high or critical risk of bias"}
    extra += [names[s] for s in spec.sensitivity]
    if extra and m.pool and pooled:
        out.append(f"Sensitivity analyses: {_list(extra)}.")
    elif m.pool and not pooled:
        out.append("No stratum had enough studies with a within-study variance to pool, so there is no pooled "
                   "estimate and no sensitivity analysis.")
    if m.pool and pooled:
        out.extend(post_fit_methods(spec))
    out.extend(few_studies_methods(spec, pooled=m.pool and pooled, statistics=statistics,
                                   pooled_statistics=pooled_statistics))
    if spec.survival_curves is not None:
        c = spec.survival_curves
        out.append(
            f"Survival curves: a {c.model} curve (exponential when a study reports a single time point) is fitted "
            "through each study arm's reported landmark survival and median on the log(-log) scale; it is a "
            "model, not data, and is drawn only up to the last reported time. Where two or more arms of a "
            f"{c.group_by} report their number of patients, a summary curve (Combescure, Foucher and Jackson, "
            "Statistics in Medicine 2014) pools their conditional survival per 3-month interval.")
    return out


RUNG_TEXT = {"ci": "(a) the reported confidence interval", "greenwood": "(b) Greenwood's variance from patient data "
             "reconstructed from a digitised Kaplan-Meier curve", "n_at_risk": "(c) Peto's approximation from the "
             "number at risk", "n": "(d) the study's number of patients assuming no censoring before the landmark"}


def _rung_text(rung: str, survival_n: str) -> str:
    if rung == "n" and survival_n == "effective":
        return ("(d) Peto's effective sample size n·G(t), G(t) the share of patients whose reported follow-up "
                "reaches the landmark (piecewise uniform through the shortest, median and longest follow-up; the "
                "study's n with no censoring assumed where no follow-up is reported)")
    return RUNG_TEXT[rung]


def few_studies_methods(spec: AnalysisSpec, *, pooled: bool = True, statistics: Iterable[str] | None = None,
                        pooled_statistics: Iterable[str] | None = None) -> list[str]:
    """Paragraphs on the methods for case series: landmark variances, proportions, medians, Bayesian pool;
    without a pool (``pooled=False``), or without a landmark among ``pooled_statistics`` when given, no
    sentence about the landmark sensitivity analyses."""
    m = spec.model
    out = []
    stats = _statistics(spec, statistics, ["survival_at", "count", "proportion", "median_time"])
    if "survival_at" in stats:
        out.append("Landmark survival is analysed on the log(-log) scale; its variance comes from the first of "
                   f"{_list(_rung_text(r, m.survival_n) for r in m.survival_variance)} that a study gives, and each "
                   "pooled row "
                   "records which."
                   + (" The sensitivity analyses repeat each pool with the stricter sources only."
                      if pooled and (pooled_statistics is None or "survival_at" in set(pooled_statistics)) else ""))
    if m.proportion_model != "none" and stats & {"count", "proportion", "events"}:
        name = {"glmm": "the random-intercept logistic model (GLMM, exact binomial likelihood; the logit model "
                        "when the GLMM cannot be fitted, reported as such)",
                "logit": "the logit model", "ft": "the Freeman-Tukey model (its back-transform at the harmonic "
                                                  "mean sample size can mislead when sample sizes differ)"}
        out.append(f"Single proportions are also pooled with {name[m.proportion_model]}, reported beside the "
                   "forest plot's pool; study intervals are "
                   + ("exact (Clopper-Pearson)." if m.study_ci == "exact" else "those of the analysis scale."))
    if m.medians == "qe" and "median_time" in stats:
        out.append("Study medians are pooled by quantile estimation (McGrath et al., Statistical Methods in Medical "
                   "Research 2020): for each study that reports its range (or quartiles) and its number of "
                   "patients, a normal, log-normal, gamma or Weibull distribution is fitted to the reported "
                   "quantiles (the best least-squares fit is kept), the variance of the median is taken as "
                   "1 / (4 n f(median)²) under that fit, and the medians are pooled by inverse variance. This "
                   "assumes the range describes the times whose median is reported (no censoring) and one of the "
                   "candidate distributions; medians not reached and medians without range or size are listed, "
                   "not pooled.")
    elif m.medians != "none" and "median_time" in stats:
        out.append("Study medians (with or without a confidence interval) are summarised by their median with a "
                   f"sign-test interval ({m.medians_ci}; McGrath et al., Statistics in Medicine 2019); medians not "
                   "reached are kept as censored values, and where they leave the summary undetermined only its "
                   "range is given.")
    if m.pool and pooled and (m.method == "bayes" or m.bayes_below > 0):
        p = m.prior
        prior = (f"a {p.tau.replace('_', '-')} prior on τ with scale {p.scale:g}" if p.tau != "turner"
                 else f"the Turner et al. (2015) log-normal prior on τ² ({p.outcome}, {p.comparison})")
        when = ("is the analysis model; the REML pool is shown beside it" if m.method == "bayes"
                else f"is shown beside the frequentist pool when fewer than {m.bayes_below} studies are pooled")
        out.append(f"A Bayesian random-effects model ({prior}, flat prior on the mean; posterior by numerical "
                   f"integration, posterior median and shortest credible interval) {when}.")
    return out


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def proportion_model_comparison(result: AnalysisResult) -> list[dict]:
    """For each stratum of single proportions, the GLMM, logit and Freeman-Tukey pools side by side.

    One dict per stratum: ``stratum``, ``k``, ``chosen`` (the specification's model), ``used`` (the model
    its result comes from), ``fallback`` (why the chosen model was replaced, or ""), and ``models``, one
    entry per model with the pooled proportion, its CI and prediction interval (``None`` where a model
    could not be fitted) and ``text`` as printed on the methods page.
    """
    out = []
    for st in result.strata:
        pr = st.proportions
        if pr is None:
            continue
        models = []
        for fit in compare_proportion_models(result.spec, pr):
            fitted = fit.model == fit.model_requested
            row = {"model": fit.model_requested, "name": term_label("proportion_model", fit.model_requested), "fitted": fitted,
                   "estimate": _num(fit.estimate) if fitted else None,
                   "ci_low": _num(fit.ci_low) if fitted else None, "ci_high": _num(fit.ci_high) if fitted else None,
                   "pi_low": _num(fit.pi_low) if fitted else None, "pi_high": _num(fit.pi_high) if fitted else None}
            row["text"] = (f"{100 * fit.estimate:.1f}% [{100 * fit.ci_low:.1f}%, {100 * fit.ci_high:.1f}%]"
                           if fitted else f"not fitted: {fit.fallback}")
            row["pi"] = (f"{100 * fit.pi_low:.1f}% to {100 * fit.pi_high:.1f}%"
                         if fitted and np.isfinite(fit.pi_low) else "")
            models.append(row)
        out.append({"stratum": st.title, "k": pr.k, "chosen": term_label("proportion_model", pr.model_requested),
                    "used": term_label("proportion_model", pr.model), "fallback": pr.fallback or "",
                    "level": f"{100 * pr.level:g}%", "models": models})
    return out
