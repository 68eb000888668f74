"""Forest and funnel plots of an effect-size table (as metafor's ``forest(yi, vi, slab=)``) and the funnel
plot with trim-and-fill (as metafor's ``funnel(trimfill(res))``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from netevidence import load_evidence
from netevidence.effects import back_transform, effect_size
from netevidence.plots import Figure, forest_plot, funnel_plot
from netevidence.pooling import pool, trim_and_fill
from netevidence.pooling.bias import funnel_data

ROOT = Path(__file__).resolve().parent.parent
Z = norm.isf(0.025)


def _table(k: int, seed: int = 1):
    """``k`` coherent studies: each one's events drawn from its own size."""
    rng = np.random.default_rng(seed)
    n = rng.integers(15, 300, k)
    events = rng.binomial(n, 1.0 / (1.0 + np.exp(-rng.normal(-0.6, 0.5, k))))
    return effect_size("PLO", events=events, n=n), n, events


# --------------------------------------------------------------------------- forest plot of a table


@pytest.mark.parametrize("k", [1, 2, 10])
def test_forest_of_an_effect_size_table_draws_each_study_without_a_diamond(k):
    es, n, events = _table(k)
    labels = [f"Author {i + 1} {2000 + i}" for i in range(k)]
    fig = forest_plot(es, labels=labels, n=n, events=events)
    assert isinstance(fig, Figure)
    rows = fig.layout.rows
    assert list(rows["label"]) == labels and len(rows) == k
    # each interval is yi -/+ 1.96 sqrt(vi), back-transformed from the logit (the table's own measure)
    t = back_transform("PLO")
    assert np.allclose(rows["value"], t(es["yi"]), rtol=1e-12)
    assert np.allclose(rows["low"], t(es["yi"] - Z * np.sqrt(es["vi"])), rtol=1e-12)
    assert np.allclose(rows["high"], t(es["yi"] + Z * np.sqrt(es["vi"])), rtol=1e-12)
    assert np.allclose(rows["value"], events / n)
    assert fig.layout.diamonds.empty and rows["weight"].isna().all()
    texts = list(fig.layout.texts["label"])
    assert all(label in texts for label in labels)
    assert "■ study estimate (not pooled)" in " ".join(texts)
    assert not [s for s in texts if "Random-effects" in s or "prediction interval" in s]
    assert fig.alt.endswith("no pooled estimate.") and f"{k} row" in fig.alt
    assert fig.layout.axis.title == "Proportion"


def test_forest_of_a_table_with_its_fit_adds_the_diamond_and_weights():
    es, n, events = _table(10)
    res = pool(es["yi"], es["vi"])
    fig = forest_plot(es, labels=[f"S{i}" for i in range(10)], fit=res)
    (d,) = fig.layout.diamonds.to_dict("records")
    assert d["estimate"] == pytest.approx(float(back_transform("PLO")(res.estimate)))
    assert np.allclose(fig.layout.rows["weight"], res.weights)
    with pytest.raises(ValueError, match="fit was not fitted on this effect-size table"):
        forest_plot(es.iloc[:5], fit=res)


def test_forest_of_a_ratio_table_is_on_a_log_axis():
    es = effect_size("HR", hr=[0.5, 0.8, 1.2], ci_low=[0.3, 0.6, 0.9], ci_high=[0.83, 1.07, 1.6])
    fig = forest_plot(es, labels=["A", "B", "C"])
    rows = fig.layout.rows
    assert fig.layout.axis.kind == "log" and fig.layout.axis.title.startswith("Hazard ratio")
    assert np.allclose(rows["value"], [0.5, 0.8, 1.2])
    assert np.allclose(rows["low"], np.exp(es["yi"] - Z * np.sqrt(es["vi"])))


def test_bad_tables_are_refused_with_what_to_do():
    with pytest.raises(ValueError, match="no column vi"):
        forest_plot(effect_size("PLO", events=[3], n=[10])[["yi"]])
    es, *_ = _table(3)
    with pytest.raises(TypeError, match="one label per study"):
        forest_plot(es, labels={"a": "A"})
    with pytest.raises(ValueError, match="labels has 2 values"):
        forest_plot(es, labels=["a", "b"])
    bad = es.copy()
    bad.loc[1, "vi"] = 0.0
    with pytest.raises(ValueError, match=r"rows \[1\] have no finite yi or no positive vi"):
        forest_plot(bad)


# --------------------------------------------------------------------------- funnel plot with trim-and-fill


def _asymmetric(seed: int = 3, k: int = 14):
    """Studies with the small ones on one side only, so that trim-and-fill fills some in."""
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 400, k)
    p = np.where(n < 150, 0.55, 0.3)
    events = rng.binomial(n, p)
    return effect_size("PLO", events=events, n=n)


def _open_points(fig: Figure):
    layers = [layer for layer in fig.plot.layers if type(layer.geom).__name__ == "geom_point"
              and layer.geom.aes_params.get("fill") == "white"]
    return layers[0].geom.data[["yi", "sei"]] if layers else None


def test_funnel_with_trimfill_draws_k0_open_points_mirroring_the_trimmed_studies():
    es = _asymmetric()
    res = pool(es["yi"], es["vi"])
    tf = trim_and_fill(res)
    assert tf.k0 >= 2
    fig = funnel_plot(res, trimfill=True, measure="PLO")
    drawn = _open_points(fig)
    assert len(drawn) == tf.k0 == len(fig.layout.filled)
    # each open point is a trimmed study mirrored about one centre (the trimmed estimate): same standard
    # error, and the filled and trimmed values sum to twice that centre
    yi, sei = es["yi"].to_numpy(), np.sqrt(es["vi"].to_numpy())
    # the trimmed studies: the k0 most extreme on the side opposite to the missing ones
    extreme = np.argsort(yi)[-tf.k0:] if tf.side == "left" else np.argsort(yi)[:tf.k0]
    pairs_f = drawn.sort_values("sei").to_numpy()
    pairs_t = np.column_stack([yi[extreme], sei[extreme]])
    pairs_t = pairs_t[np.argsort(pairs_t[:, 1])]
    assert np.allclose(pairs_f[:, 1], pairs_t[:, 1])
    centres = (pairs_f[:, 0] + pairs_t[:, 0]) / 2
    assert np.allclose(centres, centres[0])
    # on the side opposite to the trimmed ones
    assert (np.sign(pairs_f[:, 0] - centres[0]) == np.sign(centres[0] - pairs_t[:, 0])).all()
    # the adjusted estimate line, and the caption and alt text say what the open points are
    vlines = {layer.geom.aes_params.get("linetype"): float(layer.geom.data["xintercept"].iloc[0])
              for layer in fig.plot.layers if type(layer.geom).__name__ == "geom_vline"}
    assert vlines == {"dashed": pytest.approx(res.estimate), "dotted": pytest.approx(tf.pooled.estimate)}
    assert fig.layout.adjusted == tf.pooled.estimate and res.estimate == pytest.approx(fig.layout.estimate)
    caption = fig.plot.labels.caption.replace("\n", " ")
    assert (f"Open circles: {tf.k0} studies filled in by trim-and-fill (L0) on the {tf.side} side; dotted line: "
            f"adjusted estimate {tf.pooled.estimate:.2f} (k = {res.k + tf.k0})") in caption
    assert f"open circles: {tf.k0} studies filled in" in fig.alt
    # metafor's funnel(trimfill(res)): the trim-and-fill result itself draws the same plot
    same = funnel_plot(tf, measure="PLO")
    assert np.allclose(same.layout.filled.to_numpy(), fig.layout.filled.to_numpy())
    assert same.alt == fig.alt


def test_funnel_without_trimfill_or_with_nothing_missing_has_no_open_point():
    es = _asymmetric()
    res = pool(es["yi"], es["vi"])
    assert _open_points(funnel_plot(res)) is None
    sym = pool(np.array([-0.2, 0.0, 0.2, -0.1, 0.1]), np.array([0.04, 0.01, 0.04, 0.02, 0.02]))
    tf = trim_and_fill(sym)
    assert tf.k0 == 0
    fig = funnel_plot(sym, trimfill=tf)
    assert _open_points(fig) is None and fig.layout.adjusted is None
    assert "trim-and-fill (L0) estimates no missing study" in fig.alt


def test_funnel_of_a_table_and_bad_trimfill_arguments():
    es = _asymmetric()
    fig = funnel_plot(es, trimfill=True)
    assert fig.plot.labels.x == "Logit proportion"   # the measure from the table
    assert len(fig.layout.filled) == trim_and_fill(es["yi"], es["vi"]).k0
    fd = funnel_data(es["yi"], es["vi"])
    with pytest.raises(TypeError, match="FunnelData holds no fitted model"):
        funnel_plot(fd, trimfill=True)
    other = trim_and_fill(pool(es["yi"][:10], es["vi"][:10]))
    with pytest.raises(ValueError, match="not computed from these studies"):
        funnel_plot(fd, trimfill=other)
    with pytest.raises(TypeError, match="trimfill is True, False or a TrimFillResult"):
        funnel_plot(fd, trimfill="yes")


def test_a_spec_asking_for_trimfill_draws_the_filled_studies_on_its_funnel(tmp_path):
    from netevidence.report.analysis import build_analysis
    from netevidence.specs import load_spec, run_spec
    from netevidence.specs.post_fit import post_fit_analyses

    path = tmp_path / "symptoms.yaml"
    path.write_text(textwrap.dedent("""\
        id: symptoms
        title: Symptom response
        select: {endpoints: [symptom_response]}
        model: {measure: PLO, method: REML}
        plots: [forest, funnel]
        small_study: {force: true}
        analyses: {trim_and_fill: true}
        """))
    ev = load_evidence(ROOT / "evidence")
    spec = load_spec(path)
    st = run_spec(ev, spec).strata[0]
    tf = post_fit_analyses(ev, spec, st).trim_and_fill.result
    assert tf.k0 >= 1
    page = build_analysis(ev, spec, img_dir=tmp_path / "img", img_rel="img")
    funnel = page["strata"][0]["funnel"]
    assert f"open circles: {tf.k0} {'study' if tf.k0 == 1 else 'studies'} filled in by trim-and-fill" in funnel["alt"]
    assert (tmp_path / funnel["png"]).stat().st_size > 1000
    # without trim-and-fill asked for, the funnel has no filled study
    path.write_text(path.read_text().replace("analyses: {trim_and_fill: true}", ""))
    page = build_analysis(ev, load_spec(path), img_dir=tmp_path / "img2", img_rel="img2")
    assert "trim-and-fill" not in page["strata"][0]["funnel"]["alt"]
