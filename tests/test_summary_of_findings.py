"""Summary-of-findings rows: one per rated stratum, effects and absolute effects per 1,000, CSV export."""

from pathlib import Path

import pandas as pd
import pytest

import netevidence
from netevidence.specs import run_spec, summary_of_findings, write_summary_of_findings
from netevidence.specs.schema import AnalysisSpec
from netevidence.specs.summary_of_findings import COMMENTS, risk_with_intervention

EVIDENCE = Path(__file__).resolve().parent.parent / "evidence"


@pytest.fixture(scope="module")
def evidence():
    return netevidence.load_evidence(EVIDENCE)


def test_risk_with_intervention_closed_forms():
    assert risk_with_intervention(0.2, 0.5, "RR") == pytest.approx(0.1)
    assert risk_with_intervention(0.2, 2.0, "OR") == pytest.approx(0.4 / 1.2)   # odds 0.25 -> 0.5 -> risk 1/3
    assert risk_with_intervention(0.6, 0.18, "HR") == pytest.approx(1 - 0.4 ** 0.18)


def test_a_comparison_gets_its_relative_and_absolute_effects(evidence):
    spec = AnalysisSpec.model_validate({
        "id": "netter-pfs", "title": "PRRT versus high-dose octreotide",
        "select": {"endpoints": ["pfs"], "statistics": ["hazard_ratio"], "studies": ["netter-1"]},
        "grade": {"baseline_risk": 0.6, "threshold": 0.8}})
    result = run_spec(evidence, spec)
    (row,) = summary_of_findings([result], page_of=lambda i: f"analyses/{i}.html").to_dict("records")
    stratum = result.strata[0]
    hr, lo, hi = (float(stratum.rows.iloc[0][c]) for c in ("value", "low", "high"))
    assert row["effect"] == f"HR {hr:.2f} (95% CI {lo:.2f} to {hi:.2f})"
    assert row["comparator_per_1000"] == "600"
    risks = [1000 * (1 - 0.4 ** v) for v in (hr, lo, hi)]
    assert row["intervention_per_1000"] == f"{risks[0]:.0f} ({risks[1]:.0f} to {risks[2]:.0f})"
    assert row["difference_per_1000"].startswith(f"{600 - risks[0]:.0f} fewer (")
    assert row["certainty"] == stratum.certainty.level and row["certainty_symbol"] == stratum.certainty.symbol
    assert row["comment"] == COMMENTS[row["certainty"]]
    assert row["page"] == "analyses/netter-pfs.html"
    assert row["participants_studies"] == "not stated (1 study)"


def test_pooled_proportions_list_participants_studies_and_the_pooled_value(evidence, tmp_path):
    spec = AnalysisSpec.model_validate({"id": "sym", "title": "Symptom =response", "model": {"measure": "PLO"},
                                        "select": {"endpoints": ["symptom_response"]}})
    result = run_spec(evidence, spec)
    frame = summary_of_findings([result])
    (row,) = frame.to_dict("records")
    p = result.strata[0].prediction
    pooled = result.strata[0].rows.query("role == 'study'")
    assert row["participants"] == int(pooled["n"].sum()) and row["studies"] == len(pooled)
    assert row["participants_studies"] == f"{int(pooled['n'].sum())} ({len(pooled)} studies)"
    assert row["effect"] == f"{100 * p.pred:.0f}% (95% CI {100 * p.ci_low:.0f}% to {100 * p.ci_high:.0f}%)"
    assert row["comparator_per_1000"] == ""  # no comparison, no absolute effect
    path = write_summary_of_findings(frame, tmp_path / "sof.csv")
    back = pd.read_csv(path, keep_default_na=False)
    assert back.loc[0, "certainty_symbol"] == row["certainty_symbol"]
    assert back.loc[0, "question"] == "Symptom =response"


def test_strata_without_a_rating_have_no_row(evidence):
    spec = AnalysisSpec.model_validate({"id": "x", "title": "x", "model": {"pool": False},
                                        "select": {"endpoints": ["symptom_response"]}})
    assert summary_of_findings([run_spec(evidence, spec)]).empty
