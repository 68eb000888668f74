"""Risk-of-bias plots: layout grows with the studies, colours follow the judgements, shares add up."""

import sys
from pathlib import Path

import numpy as np
import pytest

from netevidence.plots import risk_of_bias_summary_plot, traffic_light_plot
from netevidence.plots.layout import CHAR_IN
from netevidence.plots.risk_of_bias import LEGEND_LINE_IN, LEVEL_COLOURS, ROW_IN, study_labels, summary_frame

sys.path.insert(0, str(Path(__file__).parent))
from rob_synthetic import synthetic_table  # noqa: E402


def _layer(plot, i):
    return plot.layers[i].geom.data


@pytest.mark.parametrize("n", [1, 10, 60])
def test_traffic_light_rows_are_evenly_spaced_and_nothing_overlaps_or_leaves_the_figure(n):
    fig = traffic_light_plot(synthetic_table(n), title="t")
    plot, width, height, alt = fig.plot, fig.width, fig.height, fig.alt
    heads, names, foot, legend = _layer(plot, 3), _layer(plot, 4), _layer(plot, 5), _layer(plot, 6)
    assert np.allclose(-np.diff(names["y"]), ROW_IN) and len(names) == n
    assert names["y"].min() - ROW_IN / 2 > foot["y"].max() + LEGEND_LINE_IN / 2  # domain key below the grid
    assert foot["y"].min() - LEGEND_LINE_IN / 2 > legend["y"].max() + LEGEND_LINE_IN / 2  # judgement key below
    assert legend["y"].min() - LEGEND_LINE_IN / 2 > 0 and heads["y"].max() + 0.2 < height
    longest = max(len(s) for s in study_labels(synthetic_table(n)))
    assert names["x"].iloc[0] - longest * CHAR_IN > 0  # right-aligned labels start inside the figure
    assert heads["x"].max() + 0.3 < width
    assert alt.startswith(f"Traffic-light plot of ROBINS-I for {n} assessment(s) over 7 domains")


def test_traffic_light_draws_one_circle_per_domain_and_overall_in_the_judgements_colour():
    table = synthetic_table(10, "rob2", seed=3)
    plot = traffic_light_plot(table).plot
    circles = _layer(plot, 1)
    assert len(circles) == 10 * (5 + 1)
    expected = list(table["level"]) + list(table.drop_duplicates("study_id")["overall_level"])
    assert list(circles["level"]) == expected
    assert list(circles["colour"]) == [LEVEL_COLOURS[lv] for lv in expected]


def test_a_plot_shows_one_tool():
    import pandas as pd

    mixed = pd.concat([synthetic_table(2, "rob2"), synthetic_table(2, "robins_i")])
    with pytest.raises(ValueError, match="one tool"):
        traffic_light_plot(mixed)


def test_summary_shares_add_to_one_per_domain_and_follow_the_weights():
    table = synthetic_table(10, "robins_i", seed=5)
    frame = summary_frame(table)
    assert np.allclose(frame.groupby("domain", observed=True)["share"].sum(), 1.0)
    first = table[table.domain == "confounding"]
    counts = first["level"].value_counts(normalize=True)
    got = frame[frame.domain == "confounding"].set_index("level")["share"]
    assert got[counts.index[0]] == pytest.approx(counts.iloc[0])
    only = {"s0": 1.0}  # all the weight on one study: its judgements get 100%
    weighted = summary_frame(table, only)
    row = weighted[(weighted.domain == "overall") & (weighted.share > 0)]
    assert list(row["level"]) == [table[table.study_id == "s0"].overall_level.iloc[0]]
    assert row["share"].iloc[0] == pytest.approx(1.0)


def test_plots_render_to_png(tmp_path):
    table = synthetic_table(12, "amstar2")
    for name, fig in {"tl": traffic_light_plot(table, title="t"),
                      "sum": risk_of_bias_summary_plot(table, title="t")}.items():
        (path,) = fig.save(tmp_path / f"{name}.png", dpi=60)
        assert path.stat().st_size > 5000
