"""The cumulative view by year of publication: each row is the pool of the studies published so far."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from netevidence import load_evidence
from netevidence.pooling import pool
from netevidence.specs import cumulative_by_year, load_spec, run_spec

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def stratum_and_evidence():
    ev = load_evidence(ROOT / "evidence")
    return run_spec(ev, load_spec(ROOT / "analyses" / "symptom-response.yaml")).strata[0], ev


def test_each_row_pools_the_studies_published_up_to_it(stratum_and_evidence):
    st, ev = stratum_and_evidence
    table, missing = cumulative_by_year(ev, st)
    pooled = st.rows[st.rows["role"] == "study"].set_index("study_id")
    years = ev.studies.set_index("study_id")["year"]
    assert missing == int(years.reindex(pooled.index).isna().sum())
    assert len(table) == len(pooled) - missing and list(table["k"]) == list(range(1, len(table) + 1))
    assert list(table["year"]) == sorted(table["year"])  # in order of publication
    for j, row in enumerate(table.itertuples(), start=1):
        ids = list(table["study_id"][:j])
        ref = pool(pooled.loc[ids, "yi"].to_numpy(float), pooled.loc[ids, "vi"].to_numpy(float),
                   method=st.fit.method, ci=st.fit.ci).predict(st.transf)
        assert row.estimate == pytest.approx(ref.pred, rel=1e-12)
        assert (row.ci_low, row.ci_high) == pytest.approx((min(ref.ci_low, ref.ci_high), max(ref.ci_low, ref.ci_high)),
                                                          rel=1e-12)
    if missing == 0:  # with every study dated, the last row is the pooled estimate of the page
        assert table["estimate"].iloc[-1] == pytest.approx(st.prediction.pred, rel=1e-12)


def test_the_analysis_page_shows_it_and_says_what_is_left_out(stratum_and_evidence, tmp_path):
    from netevidence.report.analysis import build_analysis

    st, ev = stratum_and_evidence
    page = build_analysis(ev, load_spec(ROOT / "analyses" / "symptom-response.yaml"), img_dir=tmp_path / "img",
                          img_rel="img")
    cum = page["strata"][0]["cumulative"]
    table, missing = cumulative_by_year(ev, st)
    assert [r["label"] for r in cum["rows"]] == list(table["label"]) and cum["missing"] == missing


def test_an_unpooled_stratum_has_no_cumulative_view(stratum_and_evidence):
    _, ev = stratum_and_evidence
    res = run_spec(ev, load_spec(ROOT / "analyses" / "netter-1-hazard-ratios.yaml"))
    for st in res.strata:
        if st.fit is None:
            table, missing = cumulative_by_year(ev, st)
            assert table.empty and missing == 0
