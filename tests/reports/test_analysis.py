from __future__ import annotations

import pandas as pd

from paretodet.reports import Budget, build_info
from paretodet.reports._analysis import analyze, technique_group
from paretodet.spaces import Candidate


def _trial(number: int, knobs: dict, map50_95: float, latency_ms: float, size_mb: float) -> dict:
    return {
        "number": number,
        "state": "COMPLETE",
        **Candidate.from_dict(knobs).to_dict(),
        "map50_95": map50_95,
        "latency_ms": latency_ms,
        "fps": 1000 / latency_ms,
        "size_bytes": int(size_mb * 1e6),
    }


TRIALS = pd.DataFrame(
    [
        _trial(0, {}, 0.70, 10.0, 12.0),
        _trial(1, {"quant.precision": "int8"}, 0.69, 7.0, 3.4),
        _trial(2, {"quant.precision": "fp16"}, 0.70, 9.5, 6.1),
        _trial(3, {"prune.method": "l2", "prune.finetune_epochs": 5}, 0.68, 7.5, 7.0),
        _trial(4, {"distill.student_width": 0.5, "distill.alpha": 0.5}, 0.60, 5.0, 3.9),
        _trial(5, {"prune.method": "l2", "quant.precision": "int8", "quant.fp_layers": 2}, 0.67, 5.5, 2.0),
        {"number": 6, "state": "FAIL"},
    ]
)


def test_groups_fronts_and_knee() -> None:
    info = build_info(TRIALS, budgets=[Budget.parse("size_mb<=4")])
    a = analyze(info)
    assert a.groups == {
        0: "baseline",
        1: "quantization",
        2: "quantization",
        3: "pruning",
        4: "distillation",
        5: "combined",
    }
    assert set(a.fronts["quantization"]) == {1, 2}  # the baseline (0) competes: FP16 (2) dominates it
    assert set(a.fronts["pruning"]) == {0, 3}
    assert 5 in a.fronts["all"] and a.reference == 0
    assert a.hypervolume["all"] >= max(a.hypervolume[g] for g in ("quantization", "pruning", "distillation"))
    assert [n for n, _ in a.history] == [0, 1, 2, 3, 4, 5]
    assert all(b >= a_ for (_, a_), (_, b) in zip(a.history, a.history[1:]))  # never decreases
    assert a.knee in a.fronts["all"]
    text = "\n".join(a.lines)
    assert "Quantization alone (2 trials" in text and "(0.28x)" in text  # 3.4 MB of 12 MB
    assert "student + KD in 1" in text and "INT8 + mixed precision in 1" in text  # named as the table's rows
    assert "Budgets size_mb<=4: 3 of 6 completed trials feasible." in text


def test_technique_group_of_a_row() -> None:
    row = pd.Series(Candidate.from_dict({"distill.student_width": 0.5, "quant.precision": "fp16"}).to_dict())
    assert technique_group(row) == "combined"
    assert technique_group(pd.Series(Candidate().to_dict())) == "baseline"


def test_no_completed_trial() -> None:
    a = analyze(build_info(pd.DataFrame([{"number": 0, "state": "FAIL"}])))
    assert a.knee == -1 and a.lines == ["No completed trial yet."]


def test_comparisons_pair_trials_with_a_baseline_of_the_same_input_size() -> None:
    trials = pd.DataFrame(
        [
            _trial(0, {"imgsz": 320}, 0.70, 10.0, 12.0),
            _trial(1, {"imgsz": 160}, 0.50, 3.0, 12.0),
            _trial(2, {"imgsz": 160, "quant.precision": "int8"}, 0.49, 2.0, 3.0),
        ]
    )
    a = analyze(build_info(trials))
    assert a.reference == 0  # the overall reference is still the best uncompressed trial
    line = next(x for x in a.lines if x.startswith("Quantization alone"))
    # INT8 at 160 px is compared with FP32 at 160 px (trial 1), not with FP32 at 320 px
    assert "(-0.0100 vs trial 1)" in line and "(1.50x faster)" in line and "(0.25x)" in line


def test_hypervolume_is_a_share_of_the_box_one_at_the_ideal() -> None:
    trials = pd.DataFrame(
        [
            _trial(0, {}, 0.50, 10.0, 12.0),
            _trial(1, {"quant.precision": "int8"}, 0.70, 5.0, 3.0),  # best in every objective
        ]
    )
    a = analyze(build_info(trials))
    assert abs(a.hypervolume["all"] - 1.0) < 1e-9
    assert all(0 <= v <= 1 for v in a.hypervolume.values())
    assert abs(a.history[-1][1] - 1.0) < 1e-9


def test_technique_groups_follow_the_knob_declarations() -> None:
    from paretodet.reports._analysis import GROUPS, techniques
    from paretodet.spaces import TECHNIQUES

    assert GROUPS[1:-1] == tuple(TECHNIQUES.values()) and GROUPS[0] == "baseline"
    # knobs a trial did not record (NaN in the table) count as their defaults
    row = pd.Series({"number": 0, "quant.precision": float("nan"), "prune.method": "l1", "distill.student_yaml": None})
    assert techniques(row) == {"prune"} and technique_group(row) == "pruning"
    assert technique_group(pd.Series({"distill.student_depth": 0.5})) == "distillation"
    assert technique_group(pd.Series({"quant.precision": "fp32", "distill.student_width": 1.0})) == "baseline"


def test_integer_sizes_are_formatted_in_the_written_analysis() -> None:
    complete = TRIALS[TRIALS["state"] == "COMPLETE"].astype({"size_bytes": "int64"})  # no NaN: an int64 column
    text = "\n".join(analyze(build_info(complete)).lines)
    assert "smallest 3.40 MB (0.28x)" in text and "12.00 MB" in text
