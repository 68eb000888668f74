"""Simulated coverage against the published summary of IntHout, Ioannidis and Borm (BMC Med Res Methodol
2014;14:25), read from tests/data/published/inthout2014.json (each value with its place on the page).

The readable part of the paper states bounds over its grid of scenarios, not per-scenario rates: at the 5%
level the HKSJ error rate at most doubled, the DerSimonian-Laird Wald (z) error rate could exceed 30%.
A few scenarios of the same kind (2 to 5 trials, a quarter of them ten times larger than the others,
much heterogeneity) are simulated with few replicates and compared with those bounds within four
Monte-Carlo standard errors. The full grid with many replicates is bench/bench_simulate.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from netevidence.simulate import Method, Scenario, SimulationSpec, simulate

PUBLISHED = Path(__file__).parent / "data" / "published" / "inthout2014.json"
V_SMALL = 0.1  # within-trial variance of a small trial; a trial ten times larger has a tenth of it


def published() -> dict[str, float]:
    data = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    return {v["name"]: v["value"] for v in data["values"]}


def unequal(k: int, i2: float, share: float, ratio: float) -> Scenario:
    """k trials, round(share * k) of them (at least one) `ratio` times larger; tau^2 from I^2 of a small trial."""
    n_large = max(1, round(share * k))
    within = ("fixed", *([V_SMALL / ratio] * n_large), *([V_SMALL] * (k - n_large)))
    return Scenario(k=k, tau2=V_SMALL * i2 / (1 - i2), within=within)


def test_published_values_carry_their_location():
    data = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    assert data["page"].startswith("https://")
    for v in data["values"]:
        assert v["location"].startswith(("Abstract", "Table", "Figure", "Methods", "Results"))
        assert isinstance(v["value"], (int, float))


@pytest.fixture(scope="module")
def few():
    pub = published()
    share, ratio = pub["large_trial_share"], pub["large_trial_size_ratio"]
    scenarios = (
        unequal(2, 0.9, share, ratio),
        unequal(3, 0.5, share, ratio),
        unequal(5, 0.5, share, ratio),
        Scenario(k=2, tau2=V_SMALL * 9, within=("equal", V_SMALL)),
    )
    spec = SimulationSpec(scenarios, (Method("DL", "z"), Method("DL", "knha")), replicates=3000, seed=2014,
                          chunk=1500)
    return pub, simulate(spec)


def test_hksj_error_rate_at_most_double_the_nominal(few):
    pub, res = few
    bound = pub["hksj_error_rate_max_factor"] * pub["nominal_error_rate"]
    err = 1.0 - res.coverage[:, 1]
    se = res.coverage_mcse[:, 1]
    assert (err <= bound + 4 * se).all(), list(zip(err, se))
    assert (err >= pub["nominal_error_rate"] - 4 * se).all()  # and not conservative either


def test_dl_wald_error_rate_can_exceed_thirty_percent(few):
    pub, res = few
    err = 1.0 - res.coverage[:, 0]
    se = res.coverage_mcse[:, 0]
    worst = int(np.argmax(err))
    assert err[worst] + 4 * se[worst] > pub["dl_error_rate_exceeds"], (err, se)
    # a Wald interval whose error rate is several times the nominal one, not a near miss
    assert err[worst] > 4 * pub["nominal_error_rate"]


def test_hksj_closer_to_nominal_than_dl_with_heterogeneity(few):
    pub, res = few
    a = pub["nominal_error_rate"]
    dev_dl = np.abs(1.0 - res.coverage[:, 0] - a)
    dev_hksj = np.abs(1.0 - res.coverage[:, 1] - a)
    se = np.sqrt(res.coverage_mcse[:, 0] ** 2 + res.coverage_mcse[:, 1] ** 2)
    assert (dev_dl - dev_hksj > 4 * se).all(), (dev_dl, dev_hksj, se)
    assert math.isclose(res.n.min(), 3000)
