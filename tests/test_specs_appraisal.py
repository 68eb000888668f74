"""Risk of bias and GRADE in analyses: the sensitivity pool without high-risk studies and the certainty
proposal of each pooled stratum."""

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

import netevidence
from netevidence.pooling.bias import egger_test
from netevidence.appraisal import GradeInput, grade
from netevidence.pooling import pool
from netevidence.specs import run_spec
from netevidence.specs.schema import AnalysisSpec

EVIDENCE = Path(__file__).resolve().parent.parent / "evidence"


@pytest.fixture(scope="module")
def evidence():
    return netevidence.load_evidence(EVIDENCE)


def _spec(**kw):
    base = {"id": "x", "title": "Symptom response", "select": {"endpoints": ["symptom_response"]},
            "model": {"measure": "PLO"}}
    base.update(kw)
    return AnalysisSpec.model_validate(base)


def test_rows_carry_the_risk_of_bias_level_of_their_study(evidence):
    rows = run_spec(evidence, _spec()).strata[0].rows.set_index("study_id")
    assert rows.loc["braat-2020", "risk_of_bias"] == "moderate"      # JBI overall moderate
    assert rows.loc["jia-2018", "risk_of_bias"] == "critical"        # AMSTAR 2 critically low
    assert rows.loc["pickens-2021", "risk_of_bias"] == "high"        # JBI high, judged from a review's account


def test_a_study_without_an_assessment_has_no_risk_of_bias_level(tmp_path):
    import shutil

    shutil.copytree(EVIDENCE, tmp_path / "ev")
    path = tmp_path / "ev" / "pickens-2021.yaml"
    text = path.read_text()
    assert text.count("\nrisk_of_bias:") == 1
    path.write_text(text.split("\nrisk_of_bias:")[0] + "\n")  # the block is the record's last
    rows = run_spec(netevidence.load_evidence(tmp_path / "ev"), _spec()).strata[0].rows.set_index("study_id")
    assert rows.loc["pickens-2021", "risk_of_bias"] is None
    assert rows.loc["braat-2020", "risk_of_bias"] == "moderate"


def test_sensitivity_without_high_risk_studies_repeats_the_pool(evidence, tmp_path):
    # make one pooled study high risk by assessment: Sartori's JBI answers all 'no'
    import shutil

    for f in EVIDENCE.iterdir():
        shutil.copy(f, tmp_path / f.name) if f.is_file() else shutil.copytree(f, tmp_path / f.name)
    path = tmp_path / "sartori-laser.yaml"
    text = path.read_text().replace("judgement: 'yes'", "judgement: 'no'").replace("overall: moderate", "overall: high")
    path.write_text(text)
    ev = netevidence.load_evidence(tmp_path)
    result = run_spec(ev, _spec(sensitivity=["exclude_high_risk_of_bias"]))
    stratum = result.strata[0]
    row = stratum.sensitivity.set_index("analysis").loc["without studies at high or critical risk of bias"]
    pooled = stratum.rows[stratum.rows.role == "study"]
    kept = pooled[~pooled["risk_of_bias"].isin(["high", "critical"])]
    assert "sartori-laser" in set(pooled.study_id) and "sartori-laser" not in set(kept.study_id)
    assert row["k"] == len(kept) < len(pooled)
    fit = pool(kept["yi"].to_numpy(float), kept["vi"].to_numpy(float))
    assert row["estimate"] == pytest.approx(float(fit.predict(stratum.transf).pred), rel=1e-12)


def test_each_pooled_stratum_gets_a_certainty_that_follows_the_rules(evidence):
    stratum = run_spec(evidence, _spec()).strata[0]
    c = stratum.certainty
    fit, p = stratum.fit, stratum.prediction
    pooled = stratum.rows[stratum.rows.role == "study"]
    egger = egger_test(pooled["yi"].to_numpy(float), pooled["vi"].to_numpy(float)).pval if fit.k >= 10 else None
    expected = grade(GradeInput(randomised=False, estimate=p.pred, ci_low=p.ci_low, ci_high=p.ci_high, k=fit.k,
                                weights=list(fit.weights), rob_levels=list(pooled["risk_of_bias"]), i2=fit.i2,
                                pi_low=p.pi_low, pi_high=p.pi_high, participants=int(pooled["n"].sum()),
                                egger_p=egger))
    assert c == expected
    assert c.start == "low"  # case series: non-randomised
    finding = c.domain("publication_bias").finding
    assert finding == f"k = {fit.k} < 10: not assessable" if fit.k < 10 else finding.startswith("Egger's test p = ")
    few = run_spec(evidence, _spec(select={"endpoints": ["symptom_response"], "studies": list(pooled["study_id"][:4])}))
    assert few.strata[0].certainty.domain("publication_bias").finding == "k = 4 < 10: not assessable"


def test_spec_threshold_and_overrides_reach_the_rating(evidence):
    spec = _spec(grade={"threshold": 0.5, "overrides": [
        {"domain": "indirectness", "change": -1, "reason": "Mixed primary sites and modalities."}]})
    c = run_spec(evidence, spec).strata[0].certainty
    p = run_spec(evidence, spec).strata[0].prediction
    crosses = p.ci_low < 0.5 < p.ci_high
    assert c.domain("imprecision").change == (-1 if crosses else 0)
    r = c.domain("indirectness")
    assert (r.change, r.override_reason) == (-1, "Mixed primary sites and modalities.")
    assert c.level == "very_low"


def test_grade_spec_values_are_checked():
    with pytest.raises(ValidationError):
        _spec(grade={"overrides": [{"domain": "imprecision", "change": -3, "reason": "x"}]})
    with pytest.raises(ValidationError):
        _spec(grade={"overrides": [{"domain": "imprecisoin", "change": -1, "reason": "x"}]})
    with pytest.raises(ValidationError):
        _spec(grade={"baseline_risk": 1.5})
    with pytest.raises(ValidationError, match="can only rate down"):
        _spec(grade={"overrides": [{"domain": "imprecision", "change": 1, "reason": "x"}]})


def test_studies_of_equal_precision_leave_publication_bias_unrated_instead_of_failing(tmp_path):
    """Egger's test is undefined when every study has the same standard error; with k >= 10 the analysis
    still runs and says publication bias is not rated from it (it used to fail the whole build)."""
    text = (Path(__file__).parent / "fixtures" / "valid" / "demo-study.yaml").read_text()
    for i in range(10):
        (tmp_path / f"s{i}.yaml").write_text(text.replace("id: demo-study", f"id: s{i:02d}"))
    ev = netevidence.load_evidence(tmp_path)
    spec = _spec(select={"endpoints": ["orr"], "statistics": ["count"]})
    stratum = run_spec(ev, spec).strata[0]
    assert stratum.fit is not None and stratum.fit.k == 10
    (bias,) = [d for d in stratum.certainty.domains if d.domain == "publication_bias"]
    assert bias.change == 0 and bias.finding == "Egger's test not available"
