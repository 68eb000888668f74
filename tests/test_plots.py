"""Forest, funnel and survival plots: geometry (no overlapping or clipped text from 1 to 40 rows, marker
area proportional to weight, arrows for clipped intervals, log axis for ratios), and SVG/PNG output."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netevidence.effects import back_transform
from netevidence.plots import forest_layout, forest_plot, funnel_plot, km_plot, save, survival_curves_plot
from netevidence.pooling import pool
from netevidence.pooling.bias import funnel_data
from netevidence.specs import Stratum, kaplan_meier_panel
from netevidence.specs.run import ROW_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["Alpha", "Braat", "Chen", "Delta-Cohort", "Echo", "Fiore", "Gamma", "Hotel", "India", "Juliet",
         "radioembolisation", "at 3 months", "resin microspheres", "grade 2", "NETTER-1", "(case series)"]


def make_stratum(k: int, *, scale: str = "proportion", seed: int = 0, pool_it: bool = True,
                 groups: int = 0, umbrella: int = 0) -> Stratum:
    rng = np.random.default_rng(seed)
    measure = "PLO" if scale == "proportion" else "HR"
    transf = back_transform(measure)
    yi = rng.normal(0.5 if scale == "proportion" else -0.3, 0.8, k)
    vi = rng.uniform(0.02, 0.6, k)
    labels = [" ".join(rng.choice(WORDS, size=rng.integers(1, 5))) + f" {i}" for i in range(k)]
    details = [" ".join(rng.choice(WORDS, size=rng.integers(0, 8))) for _ in range(k)]
    z = 1.959963984540054
    rows = pd.DataFrame({
        "label": labels, "detail": details,
        "group": [f"group {i % groups}" for i in range(k)] if groups else [""] * k,
        "block": "studies", "role": "study", "study_id": [f"s{i}" for i in range(k)], "study_name": labels,
        "modality": "sirt", "n": rng.integers(10, 400, k), "events": rng.integers(1, 10, k),
        "value": transf(yi), "low": transf(yi - z * np.sqrt(vi)), "high": transf(yi + z * np.sqrt(vi)),
        "yi": yi, "vi": vi, "weight": np.nan, "measure": measure, "statistic": "count", "source": "x",
        "location": "table", "source_kind": "primary", "verified": True, "file": "f.yaml", "line": 1,
        "reason": None, "row": range(k)})
    if groups:
        rows = rows.sort_values("group", kind="stable").reset_index(drop=True)
    fit = pred = None
    if pool_it and k >= 2:
        fit = pool(rows["yi"], rows["vi"])
        pred = fit.predict(transf)
        rows["weight"] = fit.weights
    if umbrella:
        extra = rows.head(umbrella).copy()
        extra["block"], extra["role"], extra["weight"] = "published", "umbrella", np.nan
        extra["label"] = [f"Published review {i}, pooled, k=12" for i in range(umbrella)]
        rows = pd.concat([rows, extra], ignore_index=True)
    return Stratum(key=(), title="Test", scale=scale, measure=measure, level=0.95,
                   rows=rows[list(ROW_COLUMNS)], fit=fit, prediction=pred, subgroups=None, group_fits=(),
                   sensitivity=pd.DataFrame(), funnel=None, notes=(), transf=transf)


def _text_boxes(plot):
    import matplotlib.pyplot as plt

    fig = plot.draw()
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        fig_box = fig.bbox
        boxes = []
        for ax in fig.axes:
            for t in ax.texts:
                if t.get_text().strip():
                    boxes.append((t.get_text(), t.get_window_extent(renderer)))
        return boxes, fig_box
    finally:
        plt.close(fig)


@pytest.mark.parametrize("k", [1, 2, 7, 23, 40])
def test_forest_text_never_overlaps_or_leaves_the_figure(k):
    st = make_stratum(k, seed=k, umbrella=2 if k > 3 else 0)
    fig = forest_plot(st)
    boxes, fig_box = _text_boxes(fig.plot)
    assert len(boxes) >= 5 * k
    for text, b in boxes:
        assert b.x0 >= fig_box.x0 - 0.5 and b.x1 <= fig_box.x1 + 0.5, f"{text!r} leaves the figure"
        assert b.y0 >= fig_box.y0 - 0.5 and b.y1 <= fig_box.y1 + 0.5, f"{text!r} leaves the figure"
    for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
        overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
        overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
        assert not (overlap_x > 0.5 and overlap_y > 0.5), f"{ta!r} overlaps {tb!r}"


def test_forest_with_subgroups_draws_group_headings(k=12):
    st = make_stratum(k, groups=3)
    lay = forest_layout(st, subgroup="design")
    assert {"group 0", "group 1", "group 2"} <= set(lay.texts["label"])
    assert set(lay.rows["group"]) == {"group 0", "group 1", "group 2"}


def test_marker_area_is_proportional_to_weight():
    st = make_stratum(15, seed=3)
    lay = forest_layout(st)
    r = lay.rows[lay.rows["role"] == "study"]
    big = r["marker_size"] > 2.2 + 1e-9   # the smallest markers are kept visible
    ratio = (r.loc[big, "marker_size"] ** 2) / r.loc[big, "weight"]
    assert big.sum() >= 5
    np.testing.assert_allclose(ratio, ratio.iloc[0], rtol=1e-12)


def test_clipped_intervals_end_in_arrows():
    st = make_stratum(6, seed=5)
    lay = forest_layout(st, xlim=(0.4, 0.8))
    rows = lay.rows
    assert rows["clipped_low"].any() or rows["clipped_high"].any()
    arrows = lay.segments[lay.segments["arrow"] != "none"]
    n_clipped = int((rows["clipped_low"] | rows["clipped_high"]).sum())
    assert len(arrows) >= n_clipped
    both = rows[rows["clipped_low"] & rows["clipped_high"]]
    for y in both["y"]:
        assert (arrows.loc[np.isclose(arrows["y"], y), "arrow"] == "both").any()
    # nothing is drawn outside the axis
    inner = lay.segments[np.isclose(lay.segments["y"], lay.segments["yend"]) & lay.segments["y"].isin(rows["y"])]
    assert inner["x"].min() >= lay.axis.x0 - 1e-9 and inner["xend"].max() <= lay.axis.x1 + 1e-9


def test_ratio_axis_is_logarithmic_and_proportion_axis_is_0_1():
    lay = forest_layout(make_stratum(5, scale="ratio"))
    assert lay.axis.kind == "log" and lay.axis.limits[0] < 1 < lay.axis.limits[1]
    x = lay.axis.to_x(np.array([0.5, 1.0, 2.0]))
    assert x[1] - x[0] == pytest.approx(x[2] - x[1])
    assert "log scale" in lay.axis.title
    lay = forest_layout(make_stratum(5))
    assert lay.axis.kind == "linear" and lay.axis.limits == (0.0, 1.0)


def test_pooled_diamond_and_prediction_interval():
    st = make_stratum(8, seed=2)
    lay = forest_layout(st)
    d = lay.diamonds.iloc[0]
    assert d["estimate"] == st.prediction.pred and d["pi_low"] == st.prediction.pi_low
    assert "95% prediction interval" in set(lay.texts["label"])
    assert any(lab.startswith("Heterogeneity: τ² = ") for lab in lay.texts["label"])


def test_svg_and_png_are_written_and_reproducible(tmp_path):
    st = make_stratum(4)
    fig = forest_plot(st)
    a = fig.save(tmp_path / "a")
    b = fig.save(tmp_path / "b")
    assert [p.suffix for p in a] == [".svg", ".png", ".pdf"]
    assert a[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in a[0].read_text()
    assert a[2].read_bytes()[:5] == b"%PDF-"
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes()


def test_funnel_km_and_survival_curve_plots_render(tmp_path):
    rng = np.random.default_rng(0)
    fd = funnel_data(rng.normal(0, 0.3, 6), rng.uniform(0.01, 0.2, 6))
    fig = funnel_plot(fd, list("ABCDEF"), measure="PLO", title="t")
    assert "6 studies" in fig.alt
    assert all(f.stat().st_size > 1000 for f in fig.save(tmp_path / "funnel"))

    from netevidence.survival.simulate import digitise, km_corners

    ipd = pd.read_csv(ROOT / "tests" / "data" / "radiant4" / "RADIANT4_2C.csv")
    d = ipd[ipd["arm"] == "placebo"]
    curve = digitise(km_corners(d["time"].to_numpy(), d["event"].to_numpy()), rng, drop_fraction=0.3)
    panel = kaplan_meier_panel(curve, 97, label="placebo")
    assert panel.n == 97 and len(panel.km) > 10
    figure = km_plot([panel])
    assert "placebo (n = 97" in figure.alt
    assert all(f.stat().st_size > 1000 for f in figure.save(tmp_path / "km"))
    # the Kaplan-Meier curve of the reconstruction follows the digitised points
    km = panel.km
    idx = np.searchsorted(km["time"].to_numpy(), panel.digitised["time"].to_numpy(), side="right") - 1
    fitted = np.where(idx >= 0, km["survival"].to_numpy()[np.maximum(idx, 0)], 1.0)
    assert np.max(np.abs(fitted - panel.digitised["survival"].to_numpy())) < 0.05


def test_survival_curves_plot_renders(tmp_path):
    from netevidence import load_evidence
    from netevidence.specs import load_spec, run_spec

    result = run_spec(load_evidence(ROOT / "evidence"), load_spec(ROOT / "analyses" / "landmark-survival.yaml"))
    figure = survival_curves_plot(result.curves, title="Overall survival")
    summaries = figure.alt.split("with summary curves for ", 1)[1]
    assert "90Y radioembolisation with resin microspheres" in summaries
    assert "peptide receptor radionuclide therapy" in summaries
    assert all(f.stat().st_size > 1000 for f in figure.save(tmp_path / "curves"))


def _tace_vs_tae():
    import netevidence
    from netevidence.specs import load_spec, run_spec

    ev = netevidence.load_evidence(ROOT / "evidence")
    return run_spec(ev, load_spec(ROOT / "analyses" / "tace-vs-tae.yaml"))


@pytest.mark.parametrize("k", [2, 3, 10])
def test_forest_squares_of_neighbouring_rows_never_touch(k):
    # with k = 2 one study carries most of the weight; its square must not reach the next row
    for seed in range(5):
        lay = forest_layout(make_stratum(k, seed=seed, scale="ratio"))
        r = lay.rows.sort_values("y", ascending=False)
        gaps = -np.diff(r["y"].to_numpy())
        half = r["marker_height"].to_numpy() / 2
        assert (gaps - half[:-1] - half[1:] > 0.02).all()
        assert r["marker_height"].max() <= 0.8 * 0.21


def test_forest_has_a_gap_between_studies_and_the_pooled_diamond():
    for k in (1, 2, 10):
        lay = forest_layout(make_stratum(k, seed=k, pool_it=k >= 2))
        if k == 1:
            assert lay.diamonds.empty
            continue
        last_row = lay.rows["y"].min()
        diamond = lay.diamonds.loc[lay.diamonds["kind"] == "overall", "y"].iloc[0]
        # an empty line between the lowest study line (which may wrap) and the diamond
        lowest_text = lay.texts.loc[(lay.texts["y"] < last_row + 1e-9) & (lay.texts["y"] > diamond + 1e-9), "y"]
        assert diamond < lowest_text.min() - 1.9 * 0.21 + 1e-9


def test_forest_alt_text_counts_rows_with_an_interval():
    res = _tace_vs_tae()
    os_ = next(s for s in res.strata if dict(s.key)["endpoint"] == "os")
    lay = forest_layout(os_)
    drawn = int(np.isfinite(lay.rows["low"].astype(float)).sum())
    assert drawn == 4
    assert "4 rows, 4 with a confidence interval" in lay.alt
    assert "1 row, 1 with a confidence interval" in forest_layout(make_stratum(1, pool_it=False)).alt


def test_ratio_axis_names_the_measure_and_mixed_measures_say_so():
    res = _tace_vs_tae()
    titles = {dict(s.key)["endpoint"]: forest_layout(s).axis.title for s in res.strata}
    assert titles["pfs"] == "Odds ratio (log scale)"
    assert titles["os"] == "Odds ratio or hazard ratio (log scale), as each row states"
    assert forest_layout(make_stratum(4, scale="ratio")).axis.title == "Hazard ratio (log scale)"


def test_comparison_plots_label_both_sides_of_the_null():
    res = _tace_vs_tae()
    os_ = next(s for s in res.strata if dict(s.key)["endpoint"] == "os")
    assert os_.comparison == ("Transarterial chemoembolisation", "Transarterial (bland) embolisation")
    labels = set(forest_layout(os_).texts["label"])
    # odds ratios of an unstated direction: what is compared with what, not who is favoured
    assert " ".join(lab for lab in forest_layout(os_).texts.sort_values("y", ascending=False)["label"]
                    ).count("lower with Transarterial chemoembolisation than") == 1
    st = dataclasses.replace(make_stratum(4, scale="ratio"), comparison=("PRRT", "Octreotide LAR"))
    lay = forest_layout(st)
    left = lay.texts[lay.texts["label"] == "← favours PRRT"]
    right = lay.texts[lay.texts["label"] == "favours Octreotide LAR →"]
    null_x = float(lay.axis.to_x(1.0))
    assert len(left) == 1 and left["x"].iloc[0] < null_x and left["ha"].iloc[0] == "right"
    assert len(right) == 1 and right["x"].iloc[0] > null_x
    assert not (forest_layout(make_stratum(4, scale="ratio")).texts["label"].str.contains("favours")).any()
    for st in res.strata:     # the narrow PFS plot too: long arm names wrap instead of leaving the figure
        boxes, fig_box = _text_boxes(forest_plot(st).plot)
        for text, b in boxes:
            assert b.x0 >= fig_box.x0 - 0.5 and b.x1 <= fig_box.x1 + 0.5, f"{text!r} leaves the figure"
        for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
            overlap = min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5
            assert not overlap, f"{ta!r} overlaps {tb!r}"


def test_figures_are_print_png_editable_svg_and_pdf(tmp_path):
    import re

    from PIL import Image

    st = make_stratum(3)
    fig = forest_plot(st)
    plot, lay = fig.plot, fig.layout
    svg, png, pdf = fig.save(tmp_path / "f")
    with Image.open(png) as im:
        assert im.size[0] == pytest.approx(lay.width * 300, abs=1)
        assert im.size[1] == pytest.approx(lay.height * 300, abs=1)
        assert im.info["dpi"][0] == pytest.approx(300, abs=0.5)
    # every label is a <text> element holding its characters, not glyph paths
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg.read_text(encoding="utf-8"))
    assert "Study" in texts and "Weight" in texts and any(t.startswith("Heterogeneity") for t in texts)
    assert "/FontFile2" in pdf.read_bytes().decode("latin-1")   # TrueType embedded: text stays text
    import matplotlib

    assert matplotlib.rcParams["svg.fonttype"] == "path"       # nothing global was changed
    with pytest.raises(ValueError, match="unknown figure format"):
        save(plot, tmp_path / "g", lay.width, lay.height, formats=("tiff",))


def test_survival_curves_legend_names_each_group_in_full_and_in_its_own_colour():
    import netevidence
    from netevidence.specs import load_spec, run_spec

    res = run_spec(netevidence.load_evidence(ROOT / "evidence"), load_spec(ROOT / "analyses" / "landmark-survival.yaml"))
    figure = survival_curves_plot(res.curves, title="Overall survival")
    plot, h = figure.plot, figure.height
    scale = next(s for s in plot.scales if "color" in s.aesthetics)
    colours = dict(scale.palette(0))   # the manual scale's name -> colour mapping
    names = list(colours)
    assert any(n.startswith("transarterial (bland) embolisation") for n in names)
    assert "conventional (lipiodol) transarterial chemoembolisation" in names
    assert len(set(colours.values())) == len(names)          # no two groups share a colour
    assert max(len(line) for n in names for line in n.split("\n")) <= 70
    assert h > 5.6   # room for a one-column legend of every group


def test_funnel_of_many_studies_has_no_overlapping_labels():
    rng = np.random.default_rng(4)
    k = 40
    fd = funnel_data(rng.normal(0, 0.3, k), rng.uniform(0.01, 0.2, k))
    fig = funnel_plot(fd, [f"Study {i}" for i in range(k)], measure="PLO")
    boxes, _ = _text_boxes(fig.plot)
    assert not [t for t, _ in boxes if t.startswith("Study ")]
    assert "points not labelled (more than 12 studies)" in fig.alt
    fig = funnel_plot(fd, [f"Study {i}" for i in range(k)], measure="PLO", label_max=40)
    drawn = [b for t, b in _text_boxes(fig.plot)[0] if t.startswith("Study ")]
    # asked to label all 40, it labels those that find a free place and says how many it left out
    assert 10 <= len(drawn) < k and f"{k - len(drawn)} of {k} labels left out" in fig.alt
    for a, b in itertools.combinations(drawn, 2):
        assert min(a.x1, b.x1) - max(a.x0, b.x0) <= 0.5 or min(a.y1, b.y1) - max(a.y0, b.y0) <= 0.5
