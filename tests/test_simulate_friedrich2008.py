"""Simulated coverage of the DerSimonian-Laird Wald (z) interval against the per-scenario coverages of
Friedrich, Adhikari and Beyene (BMC Med Res Methodol 2008;8:32, table 3), read from
tests/data/published/friedrich2008.json (each value with its place on the page).

Their design is the ``MD`` measure of netevidence.simulate: two arms of n patients with normal outcomes of
unit standard deviation, the trials' true mean differences normal with standard deviation tau = 0.5 (in
units of the outcome's SD) or 0. The table gives whole percentages from 10,000 simulations, so ours must
lie within half a point (the rounding) plus three combined Monte-Carlo standard errors. Four of the
twelve scenarios run here with few replicates; bench/bench_simulate.py runs all twelve with many.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from netevidence.simulate import Method, Scenario, SimulationSpec, simulate

PUBLISHED = Path(__file__).parent / "data" / "published" / "friedrich2008.json"


def published() -> dict:
    return json.loads(PUBLISHED.read_text(encoding="utf-8"))


def scenario(v: dict) -> Scenario:
    return Scenario(k=v["k"], tau2=v["tau_over_sd"] ** 2, within=("equal", v["n_per_arm"]), measure="MD")


def tolerance(p_pub: float, se_ours: float, replicates_pub: int) -> float:
    """Half a percentage point of rounding plus three combined Monte-Carlo standard errors (fractions)."""
    se_pub = math.sqrt(p_pub * (1 - p_pub) / replicates_pub)
    return 0.005 + 3 * math.hypot(se_ours, se_pub)


def test_published_values_carry_their_location():
    data = published()
    assert data["page"].startswith("https://")
    assert len(data["values"]) == 12
    for v in data["values"]:
        assert v["location"].startswith("Table 3")
        assert 80 <= v["value"] <= 100


def test_dl_wald_coverage_matches_table_3():
    data = published()
    chosen = [v for v in data["values"]
              if (v["n_per_arm"], v["k"], v["tau_over_sd"]) in {(10, 5, 0.5), (100, 5, 0.5), (100, 10, 0.0),
                                                                  (10, 30, 0.0)}]
    assert len(chosen) == 4
    spec = SimulationSpec(tuple(scenario(v) for v in chosen), (Method("DL", "z"), Method("DL", "knha")),
                          replicates=6000, seed=2008, chunk=3000)
    res = simulate(spec)
    for i, v in enumerate(chosen):
        p = v["value"] / 100
        got, se = res.coverage[i, 0], res.coverage_mcse[i, 0]
        assert abs(got - p) <= tolerance(p, se, data["replicates"]), (v, got, se)
    # the check can tell the intervals apart: with heterogeneity and 5 trials the HKSJ interval of the same
    # data covers far more often than the table's Wald interval
    for i, v in enumerate(chosen):
        if v["tau_over_sd"] > 0:
            p = v["value"] / 100
            assert res.coverage[i, 1] - p > tolerance(p, res.coverage_mcse[i, 1], data["replicates"])
