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


@pytest.fixture(scope="module")
def symptom_stratum():
    from netevidence import load_evidence
    from netevidence.specs import load_spec, run_spec

    root = Path(__file__).resolve().parent.parent
    return run_spec(load_evidence(root / "evidence"), load_spec(root / "analyses" / "symptom-response.yaml")).strata[0]


def test_the_forest_plot_gets_a_risk_of_bias_circle_beside_each_assessed_row(symptom_stratum, tmp_path):
    from netevidence.plots import forest_plot, save, with_risk_of_bias_column
    from netevidence.plots.risk_of_bias import FOREST_COLUMN_IN, forest_risk_of_bias_column

    st = symptom_stratum
    fig = forest_plot(st, subgroup="modality")
    plot, lay = fig.plot, fig.layout
    dots = forest_risk_of_bias_column(lay, st.rows)
    level = {(r["study_id"], r["label"], r["detail"]): r["risk_of_bias"] for r in st.rows.to_dict("records")}
    assessed = lay.rows[[isinstance(level[(r.study_id, r.label, r.detail)], str) for r in lay.rows.itertuples()]]
    assert 0 < len(dots) == len(assessed) < len(lay.rows)  # Cazzato 2021, a narrative review, gets none
    assert np.allclose(dots["y"], assessed["y"])  # each circle on its row's line
    assert list(dots["level"]) == [level[(r.study_id, r.label, r.detail)] for r in assessed.itertuples()]
    assert list(dots["colour"]) == [LEVEL_COLOURS[lv] for lv in dots["level"]]
    assert (dots["x"] > lay.width).all() and (dots["x"] < lay.width + FOREST_COLUMN_IN).all()
    pickens = lay.rows.index[lay.rows["study_id"] == "pickens-2021"]
    assert dots.loc[list(assessed.index).index(pickens[0]), "level"] == "high"  # JBI high, judged from a review

    wider, width, alt = with_risk_of_bias_column(plot, lay, st.rows)
    assert width == pytest.approx(lay.width + FOREST_COLUMN_IN)
    assert alt.startswith(lay.alt.rstrip(".")) and "risk-of-bias column" in alt
    assert f"{(dots['level'] == 'high').sum()} high" in alt
    (path,) = save(wider, tmp_path / "forest", width, lay.height, formats=("png",), dpi=40)
    assert path.stat().st_size > 2000
    unassessed = st.rows.assign(risk_of_bias=None)
    same, w0, alt0 = with_risk_of_bias_column(plot, lay, unassessed)
    assert same is plot and w0 == lay.width and alt0 == lay.alt
