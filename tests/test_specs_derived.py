"""Objective response and disease control rates derived from reported response categories
(:mod:`netevidence.specs.derived`): the sums, the rules that refuse them, and their use in an analysis."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from netevidence.specs.derived import derived_response_rates

COLUMNS = ["study_id", "study_name", "modality", "endpoint", "qualifier", "subgroup", "arm", "comparator", "time",
           "time_unit", "data_cut", "definition", "statistic", "events", "n", "percent", "estimate", "ci_low",
           "ci_high", "source", "location", "source_kind", "verified", "note", "file", "line"]


def _rows(*specs, study="s1", source="src", n=40, arm=None, time=3.0):
    out = []
    for endpoint, kind, value in specs:
        r = dict.fromkeys(COLUMNS, np.nan)
        r.update(study_id=study, study_name=study.upper(), modality="sirt", endpoint=endpoint, qualifier=None,
                 subgroup=None, arm=arm, comparator=None, time=time, time_unit="months", data_cut=None,
                 definition="RECIST", statistic=kind, source=source, location="table 3",
                 source_kind="secondary", verified=True, note=None, file="s1.yaml", line=10)
        if kind == "count":
            r.update(events=value, n=n)
        else:
            r.update(percent=value, n=n)
        out.append(r)
    return out


def test_percentages_of_one_denominator_are_added():
    frame = pd.DataFrame(_rows(("response_complete", "proportion", 3.0), ("response_partial", "proportion", 66.7),
                               ("response_stable", "proportion", 25.0), ("response_progressive", "proportion", 5.3),
                               n=168))
    derived = derived_response_rates(frame, ["orr", "dcr"])
    assert len(derived) == 2 and derived.index.min() > frame.index.max()  # new rows with their own index
    got = derived.set_index("endpoint")
    assert got.loc["orr", "percent"] == pytest.approx(69.7) and got.loc["orr", "n"] == 168
    assert got.loc["dcr", "percent"] == pytest.approx(94.7) and got.loc["dcr", "statistic"] == "proportion"
    assert got.loc["orr", "location"] == "derived: complete + partial (table 3)"
    assert "sum of the reported complete + partial" in got.loc["orr", "note"]


def test_counts_give_a_count():
    frame = pd.DataFrame(_rows(("response_complete", "count", 1), ("response_partial", "count", 8),
                               ("response_stable", "count", 6), n=15))
    got = derived_response_rates(frame, ["orr", "dcr"]).set_index("endpoint")
    assert (got.loc["orr", "events"], got.loc["dcr", "events"]) == (9, 15)
    assert got.loc["dcr", "statistic"] == "count" and math.isnan(got.loc["dcr", "percent"])


@pytest.mark.parametrize("case", ["reported", "missing-category", "other-n", "no-n", "other-source", "twice"])
def test_no_sum_where_a_rule_refuses_it(case):
    parts = [("response_complete", "proportion", 10.0), ("response_partial", "proportion", 40.0)]
    rows = _rows(*parts, n=10)
    if case == "reported":
        rows += _rows(("orr", "proportion", 50.0), n=10)
    elif case == "missing-category":
        rows = rows[1:]
    elif case == "other-n":
        rows[0]["n"] = 12
    elif case == "no-n":
        rows[0]["n"] = rows[1]["n"] = np.nan
    elif case == "other-source":
        rows[0]["source"] = "another"
    elif case == "twice":
        rows += _rows(("response_partial", "proportion", 40.0), n=10)
    assert derived_response_rates(pd.DataFrame(rows), ["orr"]).empty


def test_arms_and_time_points_are_kept_apart():
    rows = (_rows(("response_complete", "count", 0), ("response_partial", "count", 4), arm="a", n=10)
            + _rows(("response_complete", "count", 1), ("response_partial", "count", 2), arm="b", n=12)
            + _rows(("response_complete", "count", 1), time=6.0, n=12))
    got = derived_response_rates(pd.DataFrame(rows), ["orr"])
    assert sorted(zip(got["arm"], got["events"], got["n"])) == [("a", 4, 10), ("b", 3, 12)]


def test_percentages_that_round_above_100_are_capped():
    frame = pd.DataFrame(_rows(("response_complete", "proportion", 33.4), ("response_partial", "proportion", 33.3),
                               ("response_stable", "proportion", 33.4), n=3))
    assert derived_response_rates(frame, ["dcr"])["percent"].iloc[0] == 100.0


def test_shipped_sirt_response_pools_eight_primary_studies_per_endpoint():
    """Both SIRT response pools hold at least 8 primary studies; every derived row says so in its detail and
    keeps the table location it was read from; a study's own reported rate is never replaced by a sum."""
    from pathlib import Path

    from netevidence import load_evidence
    from netevidence.specs import load_spec, run_spec

    root = Path(__file__).resolve().parent.parent
    ev = load_evidence(root / "evidence")
    result = run_spec(ev, load_spec(root / "analyses" / "sirt-response.yaml"))
    reviews = set(ev.studies.loc[ev.studies["design"].isin(["meta_analysis", "systematic_review"]), "study_id"])
    for st in result.strata:
        pooled = st.rows[st.rows["role"] == "study"]
        assert st.fit is not None and st.fit.k == len(pooled) >= 8, st.title
        assert not set(pooled["study_id"]) & reviews
        derived = pooled[pooled["location"].str.startswith("derived: ")]
        assert len(derived) >= 8
        assert derived["detail"].str.contains("sum of reported categories").all()
        assert derived["location"].str.contains(r"table 3 \(column ").all()
    dcr = next(st for st in result.strata if st.title == "Disease control rate")
    rhee = dcr.rows[dcr.rows["study_id"] == "rhee-2008"]
    # Rhee's own 94% (no denominator) is kept; the sum from the meta-analysis' table is not used beside it
    assert "derived: " not in " ".join(rhee.loc[rhee["role"] != "excluded", "location"].astype(str))


def test_our_sirt_response_pool_holds_every_study_of_the_resin_meta_analysis():
    """Devcic 2014 lists twelve studies (table 3); every one has a record, so beside its 50% the page can
    say that our objective-response pool holds all twelve and one study more."""
    from pathlib import Path

    from netevidence import load_evidence
    from netevidence.specs import load_spec, published_comparisons, run_spec

    root = Path(__file__).resolve().parent.parent
    ev = load_evidence(root / "evidence")
    orr = next(st for st in run_spec(ev, load_spec(root / "analyses" / "sirt-response.yaml")).strata
               if st.title == "Objective response rate")
    (devcic,) = [c for c in published_comparisons(ev, orr) if c.review_id == "jnm-2014-resin"]
    assert devcic.listed and len(devcic.in_both) == 12 and devcic.only_ours == ("Frilling 2019 (case series)",)
    assert not devcic.only_published_not_held
    assert abs(devcic.difference) < 2  # percentage points between our pool and the published 50%
