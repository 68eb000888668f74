"""Analyses a specification asks for after the pooled fit (``analyses:``): small-study tests,
trim-and-fill, meta-regression and the cumulative analysis, their Cochrane gates and the page text."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netevidence import load_evidence
from netevidence.pooling import begg_test, egger_test, meta_regression, trim_and_fill
from netevidence.report import write_site
from netevidence.specs import load_spec, run_spec
from netevidence.specs.post_fit import post_fit_analyses

ROOT = Path(__file__).resolve().parent.parent
# the shipped symptom pool less one study: between 3 and 9 pooled studies, where the Cochrane Handbook's
# limit of 10 applies
SYMPTOMS = """\
    id: {id}
    title: Symptom response
    select: {{endpoints: [symptom_response], exclude_studies: [mcstay-ia-lanreotide]}}
    model: {{measure: PLO, method: REML}}
    {extra}
    """


@pytest.fixture(scope="module")
def evidence():
    return load_evidence(ROOT / "evidence")


def _spec(tmp_path, extra: str, name: str = "symptoms"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(SYMPTOMS.format(id=name, extra=extra)))
    return load_spec(path)


def _pooled(result):
    st = result.strata[0]
    return st, st.rows[st.rows["role"] == "study"]


def test_forced_analyses_give_the_engines_numbers(evidence, tmp_path):
    spec = _spec(tmp_path, "small_study: {force: true}\n    analyses: {egger_test: true, begg_test: true, "
                           "trim_and_fill: true, meta_regression: {moderators: [year, design], force: true}}")
    st, pooled = _pooled(run_spec(evidence, spec))
    yi, vi = pooled["yi"].to_numpy(float), pooled["vi"].to_numpy(float)
    assert st.k >= 3
    post = post_fit_analyses(evidence, spec, st)
    assert post.skipped == ()
    e = egger_test(yi, vi, method="REML")
    assert post.egger.statistic == pytest.approx(e.statistic, rel=1e-12) and post.egger.pval == pytest.approx(e.pval)
    b = begg_test(yi, vi)
    assert post.begg.tau == pytest.approx(b.tau) and post.begg.pval == pytest.approx(b.pval)
    t = trim_and_fill(yi, vi, method="REML")
    assert post.trim_and_fill.result.k0 == t.k0
    assert post.trim_and_fill.prediction.pred == pytest.approx(1 / (1 + np.exp(-t.pooled.estimate)), rel=1e-12)
    # the moderators straight from the study table: year as a number, design treatment-coded
    studies = evidence.studies.set_index("study_id")
    mods = pd.DataFrame({"year": pd.to_numeric(pooled["study_id"].map(studies["year"]), errors="coerce"),
                         "design": pooled["study_id"].map(studies["design"])})
    has = mods.notna().all(axis=1).to_numpy()
    ref = meta_regression(yi[has], vi[has], mods[has].reset_index(drop=True), method="REML")
    got = post.meta_regression.result
    assert got.names == ref.names and np.allclose(got.coef, ref.coef, rtol=1e-10)
    assert got.qm_pval == pytest.approx(ref.qm_pval, rel=1e-10)
    assert post.meta_regression.left_out == tuple(pooled.loc[~has, "label"])
    frame = post.to_frame()
    assert list(frame["analysis"]) == ["egger_test", "begg_test", "trim_and_fill", "meta_regression"]


def test_below_ten_studies_the_analyses_are_skipped_with_the_reason(evidence, tmp_path):
    spec = _spec(tmp_path, "analyses: {egger_test: true, trim_and_fill: true, meta_regression: {moderators: [year]}}")
    st, pooled = _pooled(run_spec(evidence, spec))
    assert 3 <= st.k < 10
    post = post_fit_analyses(evidence, spec, st)
    assert post.egger is None and post.trim_and_fill is None and post.meta_regression is None
    reasons = {s.analysis: s.reason for s in post.skipped}
    assert set(reasons) == {"egger_test", "trim_and_fill", "meta_regression"}
    assert f"k = {st.k} is below 10 studies" in reasons["trim_and_fill"]
    assert "section 13.3.5.4" in reasons["egger_test"] and "small_study: {force: true}" in reasons["egger_test"]
    assert "below 10 studies per moderator coefficient" in reasons["meta_regression"]
    assert "section 10.11.5.1" in reasons["meta_regression"] and "meta_regression: {force: true}" in reasons[
        "meta_regression"]


def test_a_forced_meta_regression_still_needs_more_studies_than_coefficients(evidence, tmp_path):
    spec = _spec(tmp_path, "analyses: {meta_regression: {moderators: [year, design, modality, n], force: true}}")
    st, _ = _pooled(run_spec(evidence, spec))
    post = post_fit_analyses(evidence, spec, st)
    (skip,) = post.skipped
    assert "cannot estimate" in skip.reason and "an intercept and the heterogeneity" in skip.reason


def test_nothing_asked_nothing_run(evidence, tmp_path):
    spec = _spec(tmp_path, "", name="plain")
    assert spec.analyses.cumulative is not None  # on by default
    st, _ = _pooled(run_spec(evidence, spec))
    assert post_fit_analyses(evidence, spec, st) is None


@pytest.mark.parametrize("extra, message", [
    ("analyses: {meta_regression: {moderators: [centre]}}", "moderators.0: Input should be 'year'"),
    ("analyses: {meta_regression: {moderators: [year, year]}}", "listed twice"),
    ("analyses: {trimfill: true}", "trimfill"),
])
def test_bad_analyses_options_are_refused(tmp_path, extra, message):
    with pytest.raises(Exception, match=message):
        _spec(tmp_path, extra)


def test_the_analysis_page_shows_results_and_skip_reasons(evidence, tmp_path):
    analyses = tmp_path / "analyses"
    analyses.mkdir()
    (analyses / "forced.yaml").write_text(textwrap.dedent(SYMPTOMS.format(
        id="forced", extra="small_study: {force: true}\n    analyses: {egger_test: true, begg_test: true, "
                           "trim_and_fill: true, meta_regression: {moderators: [year], force: true}}")))
    (analyses / "gated.yaml").write_text(textwrap.dedent(SYMPTOMS.format(
        id="gated",
        extra="analyses: {trim_and_fill: true, meta_regression: {moderators: [design]}, cumulative: null}")))
    out = tmp_path / "site"
    write_site(evidence, out, analyses=analyses, cache_dir=tmp_path / "cache", build_time="2000-01-01 00:00 UTC")
    forced = (out / "analyses" / "forced.html").read_text(encoding="utf-8")
    spec = load_spec(analyses / "forced.yaml")
    st, pooled = _pooled(run_spec(evidence, spec))
    e = egger_test(st.fit)
    assert "Small-study effects and moderators" in forced
    assert f"Egger&#39;s regression test for funnel-plot asymmetry (random-effects meta-regression on the standard " \
           f"error, REML): z = {e.statistic:.2f}" in forced
    t = trim_and_fill(st.fit)
    assert f"Trim-and-fill (L0 estimator): {t.k0} " in forced
    assert "Meta-regression on year (k = " in forced and "coefficients on the logit proportion scale" in forced
    assert "Test of moderators: QM(1) = " in forced
    # the coefficient table's p column holds the number alone ("0.686", "< 0.001"), not "= 0.686"
    assert not re.search(r'<td class="num">= ', forced)
    gated = (out / "analyses" / "gated.html").read_text(encoding="utf-8")
    assert f"Trim-and-fill not run: k = {st.k} is below 10 studies" in gated
    assert "Meta-regression not run: k = " in gated and "section 10.11.5.1" in gated
    assert "Egger&#39;s regression test for" not in gated
    # the cumulative analysis is on unless the specification switches it off
    assert "How the evidence accrued" in forced and "How the evidence accrued" not in gated


def test_the_methods_text_states_the_gates(tmp_path):
    from netevidence.report.methods import spec_methods

    text = " ".join(spec_methods(_spec(tmp_path, "analyses: {egger_test: true, trim_and_fill: true, "
                                                 "meta_regression: {moderators: [year, design]}}")))
    assert ("Small-study effects: Egger's regression test (Egger et al. 1997) and trim-and-fill with the L0 "
            "estimator (Duval and Tweedie 2000), only with at least 10 pooled studies") in text
    assert "Meta-regression on year and design" in text and "10 pooled studies per moderator coefficient" in text
    assert "Small-study effects" not in " ".join(spec_methods(_spec(tmp_path, "", name="none")))
