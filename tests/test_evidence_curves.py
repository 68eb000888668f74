"""Records that point to digitised curves: validation of the files and derived outcomes beside the published ones."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netevidence import load_evidence, validate_evidence
from netevidence.survival.analysis import compare_arms, kaplan_meier
from netevidence.survival.evidence import DERIVED_COLUMNS, reconstructed_outcomes

FIXTURE = Path(__file__).parent / "fixtures" / "curves"
ROWS = Path(__file__).parent / "data" / "radiant4" / "RADIANT4_2A.csv"


@pytest.fixture(scope="module")
def derived():
    return reconstructed_outcomes(load_evidence(FIXTURE))


def _copy(tmp_path) -> Path:
    target = tmp_path / "evidence"
    shutil.copytree(FIXTURE, target)
    return target


def test_curves_are_loaded_with_their_files():
    ev = load_evidence(FIXTURE)
    assert list(ev.curves.curve_id) == ["pfs-everolimus", "pfs-placebo"]
    assert list(ev.curves.n) == [205, 97] and list(ev.curves.at_risk_rows) == [10, 10]
    data = ev.curve_data[("radiant-4", "pfs-placebo")]
    assert list(data.at_risk.n_at_risk[:3]) == [97, 65, 39]
    assert data.curve.survival.max() > 1.5  # percent as digitised; stored as given


def test_reconstructed_outcomes_match_the_patient_rows(derived):
    rows = pd.read_csv(ROWS)
    truth = {arm: (g.time.to_numpy(), g.event.to_numpy()) for arm, g in rows.groupby("arm")}
    cox = compare_arms(*truth["everolimus"], *truth["placebo"])
    hr = derived[derived.statistic == "hazard_ratio"].iloc[0]
    assert (hr.arm, hr.comparator, hr.basis) == ("everolimus", "placebo", "derived")
    assert abs(np.log(hr.estimate) - cox.log_hr) < 0.05
    for arm in ("everolimus", "placebo"):
        km = kaplan_meier(*truth[arm])
        median = derived[(derived.statistic == "median_time") & (derived.arm == arm)].iloc[0]
        assert abs(median.estimate / km.median - 1) < 0.05
        assert median.unit == "months" and median.ci_low < median.estimate < median.ci_high


def test_published_values_and_differences_are_shown(derived):
    hr = derived[derived.statistic == "hazard_ratio"].iloc[0]
    assert hr.published == 0.48 and hr.published_source == "yao-2016"
    assert hr.difference == pytest.approx(hr.estimate - 0.48)
    assert hr.published_line == f"{FIXTURE / 'radiant-4.yaml'}:27"
    medians = derived[derived.statistic == "median_time"].set_index("arm")
    assert medians.loc["placebo", "published"] == 3.9
    assert medians.loc["placebo", "difference"] == pytest.approx(medians.loc["placebo", "estimate"] - 3.9)
    assert tuple(derived.columns) == DERIVED_COLUMNS


def test_landmarks_reported_by_the_record_are_derived(tmp_path):
    target = _copy(tmp_path)
    record = target / "radiant-4.yaml"
    record.write_text(record.read_text().replace("curves:\n", """  - endpoint: pfs
    arm: placebo
    time: 1
    time_unit: years
    statistic: {kind: survival_at, percent: 28}
    provenance: {source: yao-2016, location: figure 2A, kind: primary, verified: true}
curves:
""", 1))
    derived = reconstructed_outcomes(load_evidence(target))
    (row,) = derived[derived.statistic == "survival_at"].itertuples()
    rows = pd.read_csv(ROWS)
    placebo = rows[rows.arm == "placebo"]
    truth = kaplan_meier(placebo.time.to_numpy(), placebo.event.to_numpy()).survival_at([12.0]).survival[0]
    assert (row.time, row.time_unit, row.published) == (1.0, "years", 28.0)
    assert abs(row.percent - 100 * truth) < 100 * (0.02 + 2 / 97)


def test_no_curves_gives_an_empty_table():
    derived = reconstructed_outcomes(load_evidence(Path(__file__).parent / "fixtures" / "valid"))
    assert derived.empty and tuple(derived.columns) == DERIVED_COLUMNS


@pytest.mark.parametrize("edit, rule, field, fragment", [
    (("file: curves/radiant-4-pfs-placebo.csv", "file: ../outside.csv"), "curve-file", "curves[1].file",
     "must be a relative path to a .csv file inside the evidence directory"),
    (("file: curves/radiant-4-pfs-placebo.csv", "file: curves/missing.csv"), "curve-file", "curves[1]",
     "does not exist"),
    (("n: 97\n", "n: 98\n"), "curve-file", "curves[1].n", "n is 98 but curves/radiant-4-pfs-placebo-at-risk.csv:3 has 97"),
    (("arm: placebo\n    time_unit", "arm: placebos\n    time_unit"), "unknown-reference", "curves[1].arm",
     "no arm has the id 'placebos'"),
    (("total_events: 60", "total_events: 600"), "events-exceed-n", "curves[1].total_events", "exceed n (97)"),
])
def test_invalid_curve_references(tmp_path, edit, rule, field, fragment):
    target = _copy(tmp_path)
    record = target / "radiant-4.yaml"
    old, new = edit
    assert old in record.read_text()
    record.write_text(record.read_text().replace(old, new))
    report = validate_evidence(target)
    matching = [p for p in report.errors if p.rule == rule and p.field == field]
    assert matching, [p.format() for p in report.errors]
    assert fragment in matching[0].message
    assert matching[0].file == str(record) and matching[0].line >= 41


def test_bad_csv_line_is_reported_with_the_csv_location(tmp_path):
    target = _copy(tmp_path)
    csv = target / "curves" / "radiant-4-pfs-placebo-at-risk.csv"
    lines = csv.read_text().splitlines()
    lines[4] = "4,70"  # rises from 65 at time 2
    csv.write_text("\n".join(lines) + "\n")
    report = validate_evidence(target)
    (problem,) = report.errors
    assert problem.rule == "curve-file" and problem.field == "curves[1]"
    assert f"{csv}:5: n_at_risk rises from 65 to 70" in problem.message


SECRET = "root:$6$saltsalt$secrethash:19000:0:99999:7:::"


@pytest.mark.parametrize("how", ["file-link", "folder-link"])
def test_links_out_of_the_evidence_directory_are_refused_and_never_echoed(tmp_path, how):
    target = _copy(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shadow.csv").write_text(SECRET + "\n" + "daemon:*:19000:0:99999:7:::\n")
    curve = target / "curves" / "radiant-4-pfs-placebo.csv"
    if how == "file-link":
        curve.unlink()
        curve.symlink_to(outside / "shadow.csv")
    else:
        shutil.move(str(curve), str(outside / curve.name))
        (target / "curves" / "linked").symlink_to(outside, target_is_directory=True)
        record = target / "radiant-4.yaml"
        record.write_text(record.read_text().replace("file: curves/radiant-4-pfs-placebo.csv",
                                                     "file: curves/linked/shadow.csv"))
    report = validate_evidence(target)
    (problem,) = report.errors
    assert problem.rule == "curve-file" and "resolves outside the evidence directory" in problem.message
    assert "secrethash" not in problem.format() and "daemon" not in problem.format()


def test_a_curve_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    from netevidence.records.curvefiles import MAX_CURVE_BYTES

    target = _copy(tmp_path)
    csv = target / "curves" / "radiant-4-pfs-placebo.csv"
    with csv.open("a") as f:
        f.write("# padding\n" * (MAX_CURVE_BYTES // 10 + 1))
    (problem,) = validate_evidence(target).errors
    assert f"may hold at most {MAX_CURVE_BYTES:,}" in problem.message


def test_bad_lines_are_shown_shortened(tmp_path):
    target = _copy(tmp_path)
    csv = target / "curves" / "radiant-4-pfs-placebo.csv"
    lines = csv.read_text().splitlines()
    lines[3] = "x" * 500 + ",1"
    csv.write_text("\n".join(lines) + "\n")
    (problem,) = validate_evidence(target).errors
    assert f"{csv}:4: expected two numbers" in problem.message and "x" * 41 not in problem.message


@pytest.mark.parametrize("line, fragment", [
    ("-1.5,100", "time -1.5 is negative"),
    ("5,150", "survival 150% is outside 0-100%"),
    ("5,-10", "survival -10% is outside 0-100%"),
    ("0.5,60", "goes back before the earlier"),
])
def test_impossible_curve_points_are_errors_at_their_line(tmp_path, line, fragment):
    target = _copy(tmp_path)
    csv = target / "curves" / "radiant-4-pfs-placebo.csv"
    lines = csv.read_text().splitlines()
    index = next(i for i, text in enumerate(lines) if text[:1].isdigit() and float(text.split(",")[0]) > 10)
    lines[index] = line
    csv.write_text("\n".join(lines) + "\n")
    (problem,) = validate_evidence(target).errors
    assert problem.rule == "curve-file" and f"{csv}:{index + 1}: " in problem.message
    assert fragment in problem.message


def test_jitter_at_a_vertical_drop_is_accepted(tmp_path):
    target = _copy(tmp_path)
    csv = target / "curves" / "radiant-4-pfs-placebo.csv"
    rows = [text for text in csv.read_text().splitlines()]
    data = [i for i, text in enumerate(rows) if text[:1].isdigit()]
    i, j = data[20], data[21]
    rows[i], rows[j] = rows[j], rows[i]  # two neighbouring points clicked in swapped order
    csv.write_text("\n".join(rows) + "\n")
    assert validate_evidence(target).ok
