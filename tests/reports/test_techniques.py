"""The technique table: one row per technique alone and per mitigation, figures equal to the trials' stored
metrics, each compared with an unmodified trial of the same input size and runtime; verdicts quote the rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from paretodet.reports import Budget, build_info
from paretodet.reports._analysis import analyze
from paretodet.reports._techniques import NOT_MEASURED, TABLE_METRICS
from paretodet.reports._verdicts import technique_table
from paretodet.spaces import VARIANTS, Candidate


def trial(number: int, knobs: dict, map50_95: float, latency_ms: float, size_mb: float) -> dict:
    """A completed trial row as load_trials makes it (every knob, the headline metrics)."""
    return {
        "number": number,
        "state": "COMPLETE",
        **Candidate.from_dict(knobs).to_dict(),
        "map50_95": map50_95,
        "map50": round(map50_95 + 0.2, 4),
        "latency_ms": latency_ms,
        "fps": 1000 / latency_ms,
        "size_bytes": int(size_mb * 1e6),
    }


INT8 = {"quant.precision": "int8"}
PRUNED = {"prune.method": "l2"}
STUDENT = {"distill.student_width": 0.5}

# a study with every row measured: the original at 320 px, a smaller input size, and a torch baseline
STUDY = pd.DataFrame(
    [
        trial(0, {"imgsz": 320}, 0.700, 10.0, 12.0),  # the original model
        trial(1, {"imgsz": 256}, 0.650, 7.0, 12.0),
        trial(2, {"imgsz": 320, "runtime": "torch"}, 0.700, 20.0, 12.5),
        trial(3, {"quant.precision": "fp16"}, 0.699, 9.0, 6.0),
        trial(4, INT8, 0.680, 7.0, 3.4),
        trial(5, {**INT8, "imgsz": 256}, 0.690, 5.0, 3.4),  # better mAP, but at another input size
        trial(6, {**INT8, "quant.fp_layers": 2}, 0.694, 7.5, 3.8),
        trial(7, {**INT8, "quant.qat_epochs": 2}, 0.689, 7.0, 3.4),
        trial(8, PRUNED, 0.550, 8.0, 8.0),
        trial(9, {**PRUNED, "prune.finetune_epochs": 5}, 0.660, 8.0, 8.0),
        trial(10, {**PRUNED, "prune.finetune_epochs": 5, "distill.alpha": 0.5}, 0.670, 8.0, 8.0),
        trial(11, STUDENT, 0.500, 6.0, 4.0),
        trial(12, {**STUDENT, "distill.alpha": 0.7}, 0.560, 6.0, 4.0),
        trial(13, {**INT8, **PRUNED, "prune.finetune_epochs": 5}, 0.650, 4.0, 2.2),
        trial(14, {**INT8, **PRUNED, "prune.ratio": 0.6}, 0.400, 3.0, 1.2),
        {"number": 15, "state": "FAIL"},
    ]
)


def test_one_row_per_technique_alone_and_per_mitigation() -> None:
    table = technique_table(build_info(STUDY))
    names = [r.name for r in table.rows]
    assert names == ["original model", *VARIANTS, "best combination"]
    assert {r.name: r.trial for r in table.rows} == {
        "original model": 0,
        "FP16": 3,
        "INT8 PTQ": 4,  # trial 5 scores more, but at 256 px: the row keeps the original's input size
        "INT8 + mixed precision": 6,
        "INT8 + QAT": 7,
        "pruning one-shot": 8,
        "pruning + fine-tuning recovery": 9,
        "pruning + KD recovery": 10,
        "student (no KD)": 11,
        "student + KD": 12,
        "best combination": 13,  # on the front, two techniques, the best mAP50-95 of those
    }
    assert table.row("INT8 PTQ").qualifying == 2


def test_figures_equal_the_trials_stored_metrics() -> None:
    table = technique_table(build_info(STUDY))
    stored = STUDY.set_index("number")
    for row in table.rows:
        assert row.measured
        for metric in TABLE_METRICS:
            assert row.metrics[metric] == stored.loc[row.trial, metric], (row.name, metric)
        base = stored.loc[row.baseline]
        assert row.size_x == pytest.approx(base["size_bytes"] / stored.loc[row.trial, "size_bytes"])
        assert row.speed_x == pytest.approx(base["latency_ms"] / stored.loc[row.trial, "latency_ms"])
        assert row.d_map50_95 == pytest.approx(100 * (stored.loc[row.trial, "map50_95"] - base["map50_95"]))
        assert row.d_map50 == pytest.approx(100 * (stored.loc[row.trial, "map50"] - base["map50"]))
        assert (row.imgsz, row.runtime) == (int(base["imgsz"]), base["runtime"])  # compared at the same setting
        assert (row.baseline_imgsz, row.baseline_runtime) == (row.imgsz, row.runtime)


def test_rows_never_measured_say_so_and_invent_nothing() -> None:
    only = STUDY[STUDY["number"].isin([0, 3, 4])]
    table = technique_table(build_info(only))
    missing = [r for r in table.rows if not r.measured]
    assert [r.name for r in missing] == [*list(VARIANTS)[2:], "best combination"]
    for row in missing:
        assert row.note == NOT_MEASURED and row.metrics == {} and math.isnan(row.size_x)
    text = "\n".join(table.verdicts)
    assert "INT8 + mixed precision: not measured in this study" in text
    assert "Student (no KD): not measured in this study" in text


def test_a_failed_probe_says_failed_with_its_reason() -> None:
    reason = "training diverged in epoch 1: the box distillation term (kd_box) is inf"
    failed = {"number": 16, "state": "FAIL", "probe": "pruning + KD recovery", "fail_reason": reason}
    plain = {"number": 17, "state": "FAIL", "probe": None, "fail_reason": "not a probe"}
    df = pd.concat([STUDY[STUDY["number"].isin([0, 8, 9])], pd.DataFrame([failed, plain])])
    table = technique_table(build_info(df))
    row = table.row("pruning + KD recovery")
    assert not row.measured and row.note == f"failed: {reason} (trial 16)"
    assert table.row("student + KD").note == NOT_MEASURED  # no probe ran for it: not measured
    text = "\n".join(table.verdicts)
    assert f"pruning + KD recovery: failed: {reason} (trial 16)" in text
    from paretodet.reports._tables import technique_table_html, technique_table_markdown

    assert f"failed: {reason} (trial 16)" in technique_table_markdown(table)
    assert f"failed: {reason} (trial 16)" in technique_table_html(table)
    # a later completed trial of the same probe (a resumed study retried it) measures the row
    retried = pd.concat(
        [df, pd.DataFrame([{**STUDY.iloc[10].to_dict(), "number": 18, "probe": "pruning + KD recovery"}])]
    )
    assert technique_table(build_info(retried)).row("pruning + KD recovery").trial == 18


def test_a_row_at_another_setting_uses_that_settings_baseline() -> None:
    df = STUDY[STUDY["number"].isin([0, 1, 5])]  # INT8 only at 256 px, with an unmodified 256 px trial
    row = technique_table(build_info(df)).row("INT8 PTQ")
    assert (row.trial, row.baseline, row.imgsz) == (5, 1, 256)
    assert row.d_map50_95 == pytest.approx(4.0) and row.speed_x == pytest.approx(1.4)


def test_without_a_baseline_at_its_setting_the_row_falls_back_to_the_original_and_says_so() -> None:
    df = STUDY[STUDY["number"].isin([0, 5])]
    row = technique_table(build_info(df)).row("INT8 PTQ")
    assert (row.trial, row.baseline) == (5, 0)
    assert "no unmodified trial at 256 px on ONNX Runtime: compared with the original model (trial 0" in row.note
    assert (row.imgsz, row.baseline_imgsz) == (256, 320)


def test_the_original_is_the_largest_input_size_on_the_default_runtime() -> None:
    table = technique_table(build_info(STUDY[STUDY["number"].isin([1, 2, 0])]))
    assert table.row("original model").trial == 0
    alone = technique_table(build_info(STUDY[STUDY["number"].isin([1, 2])]))
    assert alone.row("original model").trial == 2  # no ONNX Runtime trial at 320 px: the torch one


def test_verdicts_quote_the_rows() -> None:
    table = technique_table(build_info(STUDY, budgets=[Budget.parse("size_mb<=4")]))
    text = "\n".join(table.verdicts)
    assert "Original model (trial 0, 320 px, ONNX Runtime): 12.00 MB, 10.00 ms (100.0 FPS)" in text
    assert "FP16: 2.0x smaller, 1.1x faster, -0.1 mAP50-95 points (trial 3)." in text
    # INT8 PTQ lost 2.0 points; 2 FP32 blocks won 1.4 back, QAT 0.9
    assert "INT8 PTQ: 3.5x smaller, 1.4x faster, -2.0 mAP50-95 points (trial 4)" in text
    assert "mixed precision (2 FP32 blocks) recovered 1.4 of the 2.0 points, ending 3.2x smaller" in text
    assert "QAT (2 ep) recovered 0.9 of the 2.0 points" in text
    assert "Pruning one-shot (L2, ratio 0.3): 1.5x smaller, 1.2x faster, -15.0 mAP50-95 points (trial 8)" in text
    assert "fine-tuning (5 ep) recovered 11.0 of the 15.0 points" in text
    assert "KD recovery (5 ep, alpha 0.5) recovered 12.0 of the 15.0 points" in text
    assert "Student without KD (width 0.5, depth 1): 3.0x smaller, 1.7x faster, -20.0 mAP50-95 points" in text
    assert "KD (alpha 0.7, width 0.5, depth 1) recovered 6.0 of the 20.0 points" in text
    assert "Best combination (quantization + pruning: " in text and "(trial 13)" in text
    recommended = analyze(build_info(STUDY, budgets=[Budget.parse("size_mb<=4")])).knee
    assert f"Recommended: trial {recommended} (" in text  # the one recommendation of every section
    assert "Within the budgets size_mb<=4: INT8 + mixed precision keeps the most accuracy" in text


def test_no_trial_at_all() -> None:
    table = technique_table(build_info(pd.DataFrame([{"number": 0, "state": "FAIL"}])))
    assert not any(r.measured for r in table.rows)
    assert table.verdicts[0] == "Original model: not measured in this study, so the rows show absolute figures."


def test_without_an_unmodified_trial_rows_show_absolute_figures() -> None:
    table = technique_table(build_info(STUDY[STUDY["number"].isin([3, 4])]))
    row = table.row("FP16")
    assert row.measured and row.baseline is None and math.isnan(row.d_map50_95)
    assert "FP16: 6.00 MB, 9.00 ms, mAP50-95 0.6990 (trial 3)." in table.verdicts
