"""Single proportions in analyses: the chosen model (GLMM first, reported fallback) and exact study CIs."""

from __future__ import annotations

import numpy as np
import pytest

from netevidence import load_evidence
from netevidence.pooling import clopper_pearson, pool_proportions
from netevidence.specs import run_spec
from netevidence.specs.schema import AnalysisSpec

SERIES = """\
id: {id}
name: {name}
design: case_series
modality: [tae]
citation: {id}
sources:
  {id}: {{title: Series {name}, year: 2018}}
outcomes:
  - endpoint: {endpoint}
    statistic: {{kind: count, events: {events}, n: {n}}}
    provenance: {{source: {id}, location: abstract, kind: primary, verified: true}}
"""


@pytest.fixture(scope="module")
def counts_evidence(tmp_path_factory):
    d = tmp_path_factory.mktemp("proportions")
    rows = [("a", "orr", 4, 21), ("b", "orr", 9, 30), ("c", "orr", 2, 17),
            ("d", "complication_major", 0, 12), ("e", "complication_major", 0, 20)]
    for sid, endpoint, events, n in rows:
        (d / f"{sid}.yaml").write_text(SERIES.format(id=sid, name=sid.upper(), endpoint=endpoint, events=events,
                                                     n=n))
    return load_evidence(d)


def _spec(endpoint, **model):
    return AnalysisSpec.model_validate({"id": "x", "title": "x", "select": {"endpoints": [endpoint]},
                                        "model": model})


def test_glmm_is_reported_beside_the_inverse_variance_pool(counts_evidence):
    (st,) = run_spec(counts_evidence, _spec("orr")).strata
    ref = pool_proportions([4, 9, 2], [21, 30, 17], model="glmm")
    assert st.proportions.model == "glmm" and st.proportions.estimate == pytest.approx(ref.estimate, rel=1e-12)
    assert st.summary()["proportion_model"] == "glmm"
    assert any(n.startswith("GLMM model for single proportions") for n in st.notes)


def test_glmm_falls_back_to_logit_with_the_reason(counts_evidence):
    (st,) = run_spec(counts_evidence, _spec("complication_major")).strata
    pr = st.proportions
    assert pr.model == "logit" and pr.model_requested == "glmm" and "cannot be fitted" in pr.fallback
    assert st.summary()["proportion_model_fallback"] == pr.fallback
    assert any("requested GLMM" in n for n in st.notes)


def test_freeman_tukey_carries_its_caveat_and_exact_study_intervals(counts_evidence):
    (st,) = run_spec(counts_evidence, _spec("orr", proportion_model="ft", study_ci="exact")).strata
    assert st.proportions.model == "ft" and any("Miller 1978" in n for n in st.notes)
    rows = st.rows[st.rows["role"] == "study"].sort_values("study_id")
    lo, hi = clopper_pearson([4, 9, 2], [21, 30, 17])
    np.testing.assert_allclose(rows["low"], lo, rtol=1e-12)
    np.testing.assert_allclose(rows["high"], hi, rtol=1e-12)
    (none,) = run_spec(counts_evidence, _spec("orr", proportion_model="none")).strata
    assert none.proportions is None


def test_methods_page_comparison_equals_each_models_pool_on_the_shipped_evidence():
    from pathlib import Path

    from netevidence.report.methods import proportion_model_comparison
    from netevidence.specs import load_spec

    root = Path(__file__).resolve().parent.parent
    ev = load_evidence(root / "evidence")
    checked = 0
    for name in ("symptom-response", "transarterial-complications"):
        spec = load_spec(root / "analyses" / f"{name}.yaml")
        result = run_spec(ev, spec)
        rows = proportion_model_comparison(result)
        strata = [st for st in result.strata if st.proportions is not None]
        assert [r["stratum"] for r in rows] == [st.title for st in strata] and rows
        for row, st in zip(rows, strata):
            pr = st.proportions
            assert row["k"] == pr.k and row["chosen"] == {"glmm": "GLMM", "logit": "logit", "ft": "Freeman-Tukey"}[
                spec.model.proportion_model]
            assert [m["model"] for m in row["models"]] == ["glmm", "logit", "ft"]
            for m in row["models"]:
                ref = pool_proportions(pr.events, pr.n, model=m["model"], level=spec.model.level,
                                       method=spec.model.method, ci=spec.model.ci)
                if ref.model != m["model"]:  # the GLMM could not be fitted: shown so, with the reason
                    assert not m["fitted"] and m["estimate"] is None and ref.fallback in m["text"]
                    assert row["fallback"] == ref.fallback and row["used"] == "logit"
                    continue
                got = [m[c] for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")]
                assert got == pytest.approx([ref.estimate, ref.ci_low, ref.ci_high, ref.pi_low, ref.pi_high],
                                            rel=1e-12)
                assert m["text"].startswith(f"{100 * ref.estimate:.1f}% [")
                checked += 1
    assert checked >= 4
