"""Draw the risk-of-bias PNGs of the documentation: the robvis traffic-light and summary plots of the
evidence base, and both plots at 1, 10 and 60 studies to show that their labels stay legible (run from the
repository root: ``.venv/bin/python docs/img/make_risk_of_bias_images.py``; ``make_images.py`` runs it
too). Sixty assessments are synthetic (the evidence base holds fewer than sixty with any one tool); their
overall judgements follow the tool's rule."""

import sys
from pathlib import Path

import netevidence
from netevidence.plots import risk_of_bias_summary_plot, save, traffic_light_plot

sys.path.insert(0, "tests")
from rob_synthetic import synthetic_table  # noqa: E402

OUT = Path("docs/img")


def png(figure, name):
    save(figure.plot, OUT / name, figure.width, figure.height, formats=("png",), dpi=110)


rob = netevidence.load_evidence("evidence").risk_of_bias
png(traffic_light_plot(rob[rob.tool == "amstar2"], title="Reviews in the evidence base"), "risk-of-bias-traffic-light")
png(risk_of_bias_summary_plot(rob[rob.tool == "jbi_case_series"], title="Case series in the evidence base"),
    "risk-of-bias-summary")

jbi = rob[rob.tool == "jbi_case_series"]
ten_ids = sorted(jbi.study_id.unique())[:10]
sizes = {
    1: (rob[rob.study_id == "chen-2017"], "One study (Chen 2017)"),
    10: (jbi[jbi.study_id.isin(ten_ids)], "Ten case series of the evidence base"),
    60: (synthetic_table(60, "robins_i", seed=7), "Sixty synthetic assessments"),
}
for n, (rows, title) in sizes.items():
    assert rows[["study_id", "assessment"]].drop_duplicates().shape[0] == n, n
    png(traffic_light_plot(rows, title=title), f"risk-of-bias-traffic-light-{n}")
    png(risk_of_bias_summary_plot(rows, title=title), f"risk-of-bias-summary-{n}")
