"""Steering the forest plot (sort, labels, limits, ticks, percent scale, favours, extra columns) from a
specification and from keyword arguments, and forest and funnel plots drawn straight from a fitted
``PoolResult``: properties of the layout (row order, texts, axis), not images."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netevidence import load_evidence
from netevidence.plots import Figure, forest_layout, forest_plot, funnel_plot, stratum_from_result
from netevidence.pooling import clopper_pearson, pool
from netevidence.pooling.bias import funnel_data
from netevidence.specs import load_spec, run_spec
from netevidence.specs.forest import order_rows
from netevidence.specs.schema import AnalysisSpec

SERIES = """\
id: {id}
name: {name}
design: {design}
modality: [tae]
citation: {id}
sources:
  {id}: {{title: Series {name}, year: {year}}}
outcomes:
  - endpoint: orr
    statistic: {{kind: count, events: {events}, n: {n}}}
    provenance: {{source: {id}, location: abstract, kind: primary, verified: true}}
"""
# id, name, design, year, events, n: effects 0.19, 0.30, 0.12, 0.55; sizes 21, 30, 17, 40
STUDIES = [("a", "Delta", "case_series", 2018, 4, 21), ("b", "alpha", "retrospective_cohort", 2012, 9, 30),
           ("c", "Charlie", "case_series", 2020, 2, 17), ("d", "Bravo", "prospective_cohort", 2015, 22, 40)]


@pytest.fixture(scope="module")
def evidence(tmp_path_factory):
    d = tmp_path_factory.mktemp("forest")
    for sid, name, design, year, events, n in STUDIES:
        (d / f"{sid}.yaml").write_text(SERIES.format(id=sid, name=name, design=design, year=year, events=events, n=n))
    return load_evidence(d)


def _spec(forest=None, **model):
    data = {"id": "x", "title": "x", "select": {"endpoints": ["orr"]}, "model": model}
    if forest is not None:
        data["forest"] = forest
    return AnalysisSpec.model_validate(data)


def _labels(st):
    return list(st.rows.loc[st.rows["role"] == "study", "label"])


def _layout_labels(lay):
    return list(lay.rows["label"])


# --------------------------------------------------------------------------- order and labels from a spec


def test_rows_follow_the_sort_of_the_spec(evidence):
    def ordered(sort):
        (st,) = run_spec(evidence, _spec({"sort": sort})).strata
        return st

    assert _labels(ordered("year")) == ["alpha", "Bravo", "Delta", "Charlie"]        # 2012, 2015, 2018, 2020
    st = ordered("effect")
    assert list(st.rows["value"]) == sorted(st.rows["value"])
    assert _labels(st) == ["Charlie", "Delta", "alpha", "Bravo"]
    st = ordered("weight")
    assert list(st.rows["weight"]) == sorted(st.rows["weight"], reverse=True)
    assert _labels(ordered("label")) == ["alpha", "Bravo", "Charlie", "Delta"]        # case does not matter
    # the plot draws the rows in the stratum's order, top to bottom
    lay = forest_layout(st)
    assert _layout_labels(lay) == _labels(st) and list(lay.rows["y"]) == sorted(lay.rows["y"], reverse=True)


def test_sorting_keeps_the_numbers_and_the_pool(evidence):
    (by_year,) = run_spec(evidence, _spec()).strata
    (by_effect,) = run_spec(evidence, _spec({"sort": "effect"})).strata
    assert by_effect.prediction == by_year.prediction
    a = by_year.rows.set_index("study_id").sort_index()
    b = by_effect.rows.set_index("study_id").sort_index()
    pd.testing.assert_frame_equal(a, b)


def test_custom_labels_replace_the_study_names(evidence):
    (st,) = run_spec(evidence, _spec({"labels": {"b": "Alpha et al. 2012", "d": "Bravo trial"}})).strata
    assert _labels(st) == ["Alpha et al. 2012", "Bravo trial", "Delta", "Charlie"]
    texts = set(forest_layout(st).texts["label"])
    assert {"Alpha et al. 2012", "Bravo trial"} <= texts and "alpha" not in texts


def test_subgroups_stay_together_under_every_sort():
    rng = np.random.default_rng(1)
    k = 9
    rows = pd.DataFrame({"label": [f"S{i}" for i in range(k)], "group": [f"g{i % 3}" for i in range(k)],
                         "block": "studies", "role": "study", "value": rng.uniform(0, 1, k),
                         "weight": rng.uniform(1, 20, k), "year": rng.integers(2000, 2020, k)})
    rows = rows.sort_values("group", kind="stable")
    for by in ("year", "effect", "weight", "label"):
        out = order_rows(rows, by)
        assert list(out["group"]) == sorted(out["group"])        # groups in their given order, not interleaved
        for _, part in out.groupby("group"):
            col = {"year": "year", "effect": "value", "weight": "weight", "label": "label"}[by]
            vals = list(part[col])
            assert vals == sorted(vals, reverse=by == "weight")
    with pytest.raises(ValueError, match="unknown sort 'size'; choose one of year, effect, weight, label"):
        order_rows(rows, "size")


# --------------------------------------------------------------------------- axis, scale and columns


def test_xlim_and_ticks_are_honoured(evidence):
    spec = _spec({"xlim": [0.1, 0.7], "ticks": [0.1, 0.4, 0.7]})
    (st,) = run_spec(evidence, spec).strata
    lay = forest_layout(st, **spec.forest.plot_options())
    assert lay.axis.limits == (0.1, 0.7) and lay.axis.breaks == (0.1, 0.4, 0.7)
    assert {"0.1", "0.4", "0.7"} <= set(lay.texts["label"])
    # Bravo's 0.55 [0.39, 0.70] fits; nothing drawn leaves the axis
    inner = lay.segments[np.isclose(lay.segments["y"], lay.segments["yend"]) & lay.segments["y"].isin(lay.rows["y"])]
    assert inner["x"].min() >= lay.axis.x0 - 1e-9 and inner["xend"].max() <= lay.axis.x1 + 1e-9


def test_percent_scale_writes_proportions_as_percent(evidence):
    spec = _spec({"scale": "percent", "xlim": [0, 80], "ticks": [0, 20, 40, 60, 80]})
    (st,) = run_spec(evidence, spec).strata
    lay = forest_layout(st, **spec.forest.plot_options())
    texts = set(lay.texts["label"])
    assert lay.axis.title == "Proportion (%)" and lay.axis.limits == (0.0, 0.8)
    assert {"0%", "20%", "40%", "60%", "80%"} <= texts
    assert "Percent [95% CI]" in texts
    bravo = st.rows[st.rows["label"] == "Bravo"].iloc[0]
    assert f"{100 * bravo['value']:.1f} [{100 * bravo['low']:.1f}, {100 * bravo['high']:.1f}]" in texts
    p = st.prediction
    assert f"{100 * p.pred:.1f} [{100 * p.ci_low:.1f}, {100 * p.ci_high:.1f}]" in texts
    assert "%" in lay.alt


def test_extra_columns_year_design_and_risk_of_bias(evidence):
    spec = _spec({"columns": ["year", "design", "risk_of_bias"]})
    (st,) = run_spec(evidence, spec).strata
    lay = forest_layout(st, **spec.forest.plot_options())
    texts = lay.texts
    assert {"Year", "Design", "Risk of bias"} <= set(texts["label"])
    for sid, name, design, year, *_ in STUDIES:
        y = float(lay.rows.loc[lay.rows["study_id"] == sid, "y"].iloc[0])
        row_texts = set(texts.loc[np.isclose(texts["y"], y), "label"])
        assert str(year) in row_texts
        assert design.replace("_", " ").split(" (")[0] in " ".join(row_texts)
        assert "not assessed" in row_texts
    # without the option none of them
    assert not {"Year", "Design", "Risk of bias"} & set(forest_layout(st).texts["label"])


def test_exact_study_intervals_are_drawn_and_said(evidence):
    (st,) = run_spec(evidence, _spec(study_ci="exact")).strata
    lay = forest_layout(st)
    events = {s[0]: (s[4], s[5]) for s in STUDIES}
    for r in lay.rows.itertuples():
        lo, hi = clopper_pearson([events[r.study_id][0]], [events[r.study_id][1]])
        assert (r.low, r.high) == pytest.approx((lo[0], hi[0]), rel=1e-12)
    assert "study intervals exact (Clopper-Pearson)" in " ".join(lay.texts["label"])
    (model,) = run_spec(evidence, _spec()).strata
    assert not forest_layout(model).texts["label"].str.contains("Clopper").any()


def _ratio_fit(k=5, seed=0):
    rng = np.random.default_rng(seed)
    return pool(rng.normal(-0.3, 0.3, k), rng.uniform(0.02, 0.2, k))


def test_favours_labels_can_be_set():
    fig = forest_plot(_ratio_fit(), measure="HR", favours=("favours surgery", "favours embolisation"))
    texts = fig.layout.texts
    left = texts[texts["label"] == "← favours surgery"]
    right = texts[texts["label"] == "favours embolisation →"]
    null_x = float(fig.layout.axis.to_x(1.0))
    assert len(left) == 1 and left["x"].iloc[0] < null_x and len(right) == 1 and right["x"].iloc[0] > null_x
    assert not forest_plot(_ratio_fit(), measure="HR").layout.texts["label"].str.contains("favours").any()


def test_bad_axis_options_are_refused_with_the_reason():
    st = stratum_from_result(_ratio_fit(), measure="HR")
    with pytest.raises(ValueError, match=r"xlim \(0.0, 2.0\) must be positive on a ratio axis"):
        forest_layout(st, xlim=(0.0, 2.0))
    with pytest.raises(ValueError, match=r"ticks \[5\] lie outside the axis limits"):
        forest_layout(st, xlim=(0.2, 2.0), ticks=(0.5, 1, 5))
    with pytest.raises(ValueError, match="unknown forest column"):
        forest_layout(st, columns=("country",))
    with pytest.raises(ValueError, match="scale must be 'proportion' or 'percent'"):
        forest_layout(st, scale="permille")


# --------------------------------------------------------------------------- straight from a PoolResult


def test_forest_plot_from_a_fitted_model():
    yi = np.log(np.array([0.6, 0.9, 0.75, 1.2]))
    vi = np.array([0.04, 0.09, 0.02, 0.12])
    res = pool(yi, vi)
    fig = forest_plot(res, labels=["A", "B", "C", "D"], measure="HR", sort="effect")
    assert isinstance(fig, Figure) and fig.alt.startswith("Forest plot:")
    lay = fig.layout
    assert list(lay.rows["label"]) == ["A", "C", "B", "D"]                      # smallest hazard ratio first
    np.testing.assert_allclose(lay.rows.set_index("label").loc[list("ABCD"), "value"], np.exp(yi), rtol=1e-12)
    np.testing.assert_allclose(lay.rows.set_index("label").loc[list("ABCD"), "weight"], res.weights, rtol=1e-12)
    assert lay.axis.kind == "log" and lay.axis.title == "Hazard ratio (log scale)"
    d = lay.diamonds.iloc[0]
    assert d["estimate"] == pytest.approx(np.exp(res.estimate), rel=1e-12)
    assert d["pi_low"] == pytest.approx(np.exp(res.pi_low), rel=1e-12)
    # default labels and no measure: the analysis scale, a line at 0
    plain = forest_plot(res).layout
    assert list(plain.rows["label"]) == ["Study 1", "Study 2", "Study 3", "Study 4"]
    np.testing.assert_allclose(plain.rows["value"], yi, rtol=1e-12)
    assert plain.axis.kind == "linear" and plain.axis.limits[0] < 0 < plain.axis.limits[1]
    # n and events columns only when given
    assert "Events" not in set(plain.texts["label"])
    counted = forest_plot(res, n=[20, 30, 40, 50], events=[5, 6, 7, 8]).layout
    assert {"n", "Events", "50", "8"} <= set(counted.texts["label"])


def test_forest_plot_from_a_fitted_model_refuses_mismatched_input():
    res = pool(np.array([0.1, 0.2, 0.3]), np.array([0.1, 0.1, 0.1]))
    with pytest.raises(ValueError, match="labels has 2 values for a fit of k = 3 studies"):
        forest_plot(res, labels=["A", "B"])
    with pytest.raises(TypeError, match="labels is a list with one label per study"):
        forest_plot(res, labels={"a": "A"})
    with pytest.raises(ValueError, match="unknown measure 'XX'"):
        forest_plot(res, measure="XX")
    st = stratum_from_result(res)
    with pytest.raises(TypeError, match="only for a PoolResult"):
        forest_plot(st, measure="HR")


def test_funnel_plot_from_a_fitted_model(tmp_path):
    rng = np.random.default_rng(3)
    res = pool(rng.normal(0, 0.3, 12), rng.uniform(0.01, 0.2, 12), method="DL")
    fig = funnel_plot(res, measure="PLO")
    direct = funnel_plot(funnel_data(res.yi, res.vi, method="DL"), [f"Study {i + 1}" for i in range(12)], measure="PLO")
    assert fig.alt == direct.alt and f"{res.estimate:.2f}" in fig.alt and "12 studies" in fig.alt
    assert fig.plot.labels.x == "Logit proportion"
    with pytest.raises(ValueError, match="labels has 2 values for 12 studies"):
        funnel_plot(res, ["a", "b"])
    with pytest.raises(TypeError, match="takes a PoolResult, FunnelData, a TrimFillResult or an effect-size table"):
        funnel_plot([0.1, 0.2])


def test_figure_save_writes_the_format_its_suffix_names(tmp_path):
    fig = forest_plot(pool(np.array([0.1, 0.4]), np.array([0.05, 0.08])))
    assert fig.save(tmp_path / "one.png") == [tmp_path / "one.png"]
    assert [p.suffix for p in fig.save(tmp_path / "all")] == [".svg", ".png", ".pdf"]
    assert fig.save(tmp_path / "v.svg", formats=("pdf",)) == [tmp_path / "v.pdf"]
    with pytest.raises(ValueError, match=r"cannot save a figure as 'x.tiff'"):
        fig.save(tmp_path / "x.tiff")


# --------------------------------------------------------------------------- validation of the forest block


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


@pytest.mark.parametrize("forest, line, message", [
    ("  sortt: effect", 5, "forest.sortt: unknown key (did you mean 'sort'?). Fix: use one of: columns, favours, "
                          "labels, scale, sort, ticks, xlim"),
    ("  sort: size", 5, "forest.sort: Input should be 'year', 'effect', 'weight' or 'label'"),
    ("  xlim: [1, 0.5]", 5, "forest.xlim: Value error, xlim must be two numbers, the lower first"),
    ("  xlim: [0, 1]\n  ticks: [0, 0.5, 2]", 6, "forest.ticks: Value error, ticks [0.0, 0.5, 2.0] leave xlim"),
    ("  ticks: [0.5, 0.2]", 5, "forest.ticks: Value error, ticks must be increasing numbers"),
    ("  favours: [better]", 5, "forest.favours: Value error, favours takes two labels"),
    ("  scale: permille", 5, "forest.scale: Input should be 'proportion' or 'percent'"),
    ("  columns: [year, year]", 5, "forest.columns: Value error, columns lists year more than once"),
    ("  columns: [country]", 5, "forest.columns.0: Input should be 'year', 'design' or 'risk_of_bias'"),
])
def test_bad_forest_options_name_file_line_and_fix(tmp_path, forest, line, message):
    p = _write(tmp_path, "id: bad\ntitle: Bad\nselect: {endpoints: [orr]}\nforest:\n" + forest + "\n")
    with pytest.raises(ValueError) as info:
        load_spec(p)
    lines = str(info.value).splitlines()
    assert any(x.startswith(f"{p}:{line}:") and message in x for x in lines), lines


def test_labels_of_unknown_studies_are_errors_with_a_suggestion(tmp_path):
    p = _write(tmp_path, """\
        id: bad
        title: Bad
        select: {endpoints: [orr]}
        forest:
          labels: {netter1: NETTER-1 trial}
        """)
    assert load_spec(p).forest.labels == {"netter1": "NETTER-1 trial"}   # without the evidence: not checked
    with pytest.raises(ValueError) as info:
        load_spec(p, studies=["netter-1", "braat-2020"])
    assert str(info.value) == (f"{p}:5:12: forest.labels.netter1: no study has the id 'netter1' (did you mean "
                               "'netter-1'?). Fix: key each label by the id of a record in the evidence directory "
                               "(its file name)")


def test_funnel_labels_never_cover_each_other_or_a_point():
    from netevidence.effects import effect_size
    from netevidence.plots.funnel import place_labels, funnel_frames

    rng = np.random.default_rng(10)
    n = rng.integers(15, 300, 10)
    es = effect_size("PLO", events=rng.binomial(n, 0.4), n=n)
    res = pool(es.yi, es.vi)
    labels = [f"Author {i + 1}" for i in range(10)]
    fig = funnel_plot(res, labels, measure="PLO")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    mfig = fig.draw()
    try:
        canvas = FigureCanvasAgg(mfig)
        canvas.draw()
        r = canvas.get_renderer()
        ax = mfig.axes[0]
        boxes = [t.get_window_extent(r) for t in ax.texts if t.get_text().startswith("Author")]
        points = ax.transData.transform(np.column_stack([res.yi, np.sqrt(res.vi)]))
    finally:
        plt.close(mfig)
    placed = place_labels(*funnel_frames(funnel_data(res), labels))
    assert len(boxes) == len(placed) >= 7
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert min(a.x1, b.x1) - max(a.x0, b.x0) <= 0 or min(a.y1, b.y1) - max(a.y0, b.y0) <= 0
        inside = (points[:, 0] > a.x0) & (points[:, 0] < a.x1) & (points[:, 1] > a.y0) & (points[:, 1] < a.y1)
        assert not inside.any()
    if len(placed) < 10:
        assert f"{10 - len(placed)} of 10 labels left out where they would cover another" in fig.alt


def test_the_analysis_page_follows_the_forest_block(evidence, tmp_path):
    from netevidence.report.analysis import build_analysis

    spec = _spec({"sort": "effect", "scale": "percent", "labels": {"d": "Bravo trial"}})
    page = build_analysis(evidence, spec, img_dir=tmp_path, img_rel="img")
    (stratum,) = page["strata"]
    (st,) = run_spec(evidence, spec).strata
    assert [r["label"] for r in stratum["rows"]] == ["Charlie", "Delta", "alpha", "Bravo trial"]
    for row, (_, r) in zip(stratum["rows"], st.rows.iterrows()):
        assert row["estimate"] == f"{100 * r['value']:.1f} [{100 * r['low']:.1f}, {100 * r['high']:.1f}]"
    p = st.prediction
    assert stratum["pooled"]["estimate"] == f"{100 * p.pred:.1f} [{100 * p.ci_low:.1f}, {100 * p.ci_high:.1f}]"
    assert (tmp_path / "x-1-forest.png").exists() and "%" in stratum["figure"]["alt"]


def test_custom_labels_name_the_studies_in_the_sensitivity_tables(evidence):
    (st,) = run_spec(evidence, _spec({"labels": {"b": "Alpha et al. 2012"}}).model_copy(
        update={"sensitivity": ["leave_one_out"]})).strata
    assert "omitting Alpha et al. 2012" in set(st.sensitivity["analysis"])
    assert "omitting alpha" not in set(st.sensitivity["analysis"])


def test_an_axis_option_that_does_not_fit_the_stratum_names_the_analysis(evidence, tmp_path):
    from netevidence.report.analysis import build_analysis

    # ticks written in percent on a plot drawn as proportions (0-1)
    spec = _spec({"ticks": [0, 50, 100]})
    with pytest.raises(ValueError, match=r"analysis 'x', stratum 'All studies': forest: ticks \[50.0, 100.0\] lie "
                                         r"outside the axis limits \(0, 1\); set xlim to include them"):
        build_analysis(evidence, spec, img_dir=tmp_path, img_rel="img")
