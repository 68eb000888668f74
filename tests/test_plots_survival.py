"""Reconstructed Kaplan-Meier plots: the numbers-at-risk table under the time axis, censoring marks and
the options a specification sets (``km:``), checked on the drawn figure."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netevidence import load_evidence
from netevidence.plots import Figure, km_plot
from netevidence.specs import kaplan_meier_panel, load_spec, run_spec
from netevidence.survival import reconstruct_ipd
from netevidence.survival.simulate import digitise, km_corners

ROOT = Path(__file__).resolve().parent.parent
CURVES = ROOT / "tests" / "fixtures" / "curves"


def _radiant(arm: str, seed: int = 1):
    """A digitised RADIANT-4 overall-survival curve of ``arm`` with its numbers at risk every 3 months."""
    ipd = pd.read_csv(ROOT / "tests" / "data" / "radiant4" / "RADIANT4_2C.csv")
    d = ipd[ipd["arm"] == arm]
    curve = digitise(km_corners(d["time"].to_numpy(), d["event"].to_numpy()), np.random.default_rng(seed),
                     drop_fraction=0.3)
    grid = np.arange(0.0, d["time"].max(), 3.0)
    at_risk = pd.DataFrame({"time": grid, "n_at_risk": [int((d["time"] >= g).sum()) for g in grid]})
    return curve, len(d), at_risk


@pytest.fixture(scope="module")
def panels():
    out = []
    for arm in ("everolimus", "placebo"):
        curve, n, at_risk = _radiant(arm)
        out.append((kaplan_meier_panel(curve, n, label=f"RADIANT-4 {arm}", at_risk=at_risk), curve, n, at_risk))
    return out


def _texts(fig):
    ax = fig.axes[0]
    return ax, [t for t in ax.texts if t.get_text()]


def test_numbers_at_risk_count_the_reconstructed_patients_followed_to_each_time(panels):
    for panel, curve, n, at_risk in panels:
        ipd = reconstruct_ipd(curve, n, at_risk=at_risk)
        times = np.array([0.0, 2.5, 6.0, 12.0, 24.0, 1000.0])
        expected = [int((ipd.time >= t).sum()) for t in times]
        assert list(panel.at_risk(times)) == expected
        assert expected[0] == n and expected[-1] == 0
        # the reconstruction keeps the published numbers at risk close
        assert np.max(np.abs(panel.at_risk(at_risk["time"]) - at_risk["n_at_risk"])) <= 3


def test_censoring_marks_sit_at_the_reconstructed_censoring_times(panels):
    panel, curve, n, at_risk = panels[0]
    ipd = reconstruct_ipd(curve, n, at_risk=at_risk)
    cens = panel.censored()
    assert np.allclose(np.sort(cens["time"].unique()), np.unique(ipd.time[ipd.event == 0]))
    assert int(cens["n_censored"].sum()) == int((ipd.event == 0).sum())
    plot = km_plot([panel]).plot
    marks = [layer for layer in plot.layers if layer.geom.aes_params.get("shape") == "+"]
    assert len(marks) == 1
    assert np.allclose(marks[0].geom.data["time"], cens["time"]) and np.allclose(marks[0].geom.data["survival"],
                                                                             cens["survival"])
    plot = km_plot([panel], show_censors=False).plot
    assert not [layer for layer in plot.layers if layer.geom.aes_params.get("shape") == "+"]


@pytest.mark.parametrize("k", [1, 2])
def test_the_table_has_one_labelled_row_per_curve_aligned_to_the_time_ticks(panels, k):
    chosen = [p for p, *_ in panels[:k]]
    figure = km_plot(chosen, title="t", xticks=[0, 6, 12, 18, 24])
    alt = figure.alt
    fig = figure.draw()
    ax, texts = _texts(fig)
    assert "Number at risk" in [t.get_text() for t in texts]
    ticks = [float(t) for t in ax.get_xticks()]
    assert ticks == [0, 6, 12, 18, 24]
    numbers = [t for t in texts if t.get_text().isdigit()]
    assert len(numbers) == 5 * k
    # the row labels are the curves' labels, on the y axis beside their row of numbers
    ylabels = {t.get_text(): t.get_position()[1] for t in ax.get_yticklabels()}
    for panel in chosen:
        row_y = ylabels[panel.label]
        assert row_y < 0  # under the survival axis
        row = sorted((t for t in numbers if t.get_position()[1] == pytest.approx(row_y)),
                     key=lambda t: t.get_position()[0])
        assert [t.get_position()[0] for t in row] == ticks
        assert [int(t.get_text()) for t in row] == list(panel.at_risk(ticks))
    assert "numbers at risk of the reconstructed data at 0, 6, 12, 18, 24 months" in alt
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_the_table_can_be_left_out(panels):
    figure = km_plot([panels[0][0]], at_risk_counts=False, ci_show=False, show_points=False)
    alt, h = figure.alt, figure.height
    fig = figure.draw()
    ax, texts = _texts(fig)
    assert not texts and "numbers at risk" not in alt
    with_table = km_plot([panels[0][0]]).height
    assert h < with_table
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_several_curves_render_and_labels_must_differ(panels, tmp_path):
    many = [p for p, *_ in panels] + [kaplan_meier_panel(*_radiant("everolimus", seed=s)[:2], label=f"copy {s}")
                                      for s in (2, 3, 4)]
    figure = km_plot(many, title="five curves")
    assert isinstance(figure, Figure) and figure.alt.startswith("Kaplan-Meier plot")
    written = figure.save(tmp_path / "km-5")
    assert [f.suffix for f in written] == [".svg", ".png", ".pdf"]
    assert all(f.stat().st_size > 1000 for f in written)
    assert "<text" in (tmp_path / "km-5.svg").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="labels must differ"):
        km_plot([many[0], many[0]])
    with pytest.raises(ValueError, match="at least one"):
        km_plot([])


def test_spec_km_options_reach_the_page(tmp_path):
    from netevidence.report.analysis import build_analysis

    spec_file = tmp_path / "km-spec.yaml"
    spec_file.write_text(textwrap.dedent("""\
        id: km-spec
        title: Reconstruction
        select: {endpoints: [pfs], studies: [radiant-4], statistics: [median_time]}
        model: {pool: false}
        plots: [forest, km]
        km: {xticks: [0, 10, 20, 30], show_points: false}
        """))
    spec = load_spec(spec_file)
    assert spec.km.xticks == [0, 10, 20, 30] and spec.km.at_risk_counts
    page = build_analysis(load_evidence(CURVES), spec, img_dir=tmp_path / "img", img_rel="img")
    alt = page["km"]["figure"]["alt"]
    assert "numbers at risk of the reconstructed data at 0, 10, 20, 30 months" in alt
    assert "over the digitised points" not in alt and "Crosses mark censoring times" in alt
    assert (tmp_path / "img" / "km-spec-km.png").exists()


def test_unknown_km_option_is_refused(tmp_path):
    spec_file = tmp_path / "bad.yaml"
    spec_file.write_text(textwrap.dedent("""\
        id: bad
        title: Bad
        select: {endpoints: [pfs]}
        plots: [km]
        km: {risk_table: true}
        """))
    with pytest.raises(Exception, match="risk_table"):
        load_spec(spec_file)
