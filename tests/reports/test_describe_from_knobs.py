"""The config summary is assembled from the knobs' own words (``KnobSpec.words``): a knob declared with words
reads through them in its technique's part, one without reads ``name=value``, and existing summaries are
unchanged."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from paretodet.reports._describe import config_summary
from paretodet.spaces import Candidate, KnobValues, check_specs, knob, knob_specs
from paretodet.spaces._knobs import collect_specs


@dataclass(frozen=True)
class _Extra:
    """Knobs a test adds to the registry: one worded, one stated in another's words, one without words."""

    bits: int = knob(
        8,
        help="weight bits",
        stages=("int8",),
        choices=(4, 8),
        technique="quant",
        words=lambda bits, v: f"{bits}-bit weights" + (f", {v['quant.group']} per group" if v["quant.group"] else ""),
    )
    group: int = knob(0, help="weights per scale", stages=("int8",), low=0, high=256, worded_by="quant.bits")
    seed: int = knob(0, help="a knob with no words", stages=("int8",), low=0, high=10)


SPECS = {**knob_specs(), **collect_specs(_Extra, "quant.")}


@pytest.mark.parametrize(
    ("knobs", "summary"),
    [
        ({"quant.precision": "int8", "quant.bits": 4}, "320 px · ONNX Runtime · INT8, 4-bit weights"),
        ({"quant.bits": 4, "quant.group": 32}, "320 px · ONNX Runtime · 4-bit weights, 32 per group"),
        ({"quant.group": 32}, "320 px · ONNX Runtime · unmodified"),  # stated in quant.bits' words only
        ({"quant.precision": "fp16", "quant.seed": 3}, "320 px · ONNX Runtime · FP16 · quant.seed=3"),
        ({"imgsz": 256.0, "quant.seed": 3}, "256 px · ONNX Runtime · quant.seed=3"),
    ],
)
def test_a_knob_declared_with_words_reads_through_them(knobs: dict, summary: str) -> None:
    check_specs(SPECS)
    assert config_summary(knobs, specs=SPECS) == summary


def test_a_knob_worded_by_a_knob_without_words_is_refused() -> None:
    specs = {**SPECS, "quant.seed": dataclasses.replace(SPECS["quant.seed"], worded_by="quant.nope")}
    with pytest.raises(ValueError, match=r"'quant\.seed' is worded by 'quant\.nope', which is no knob with words"):
        check_specs(specs)


def test_every_knob_is_worded_or_stated_in_another_knobs_words() -> None:
    specs = knob_specs()
    unworded = {name for name, spec in specs.items() if spec.words is None and spec.worded_by is None}
    assert unworded == set()
    for name, spec in specs.items():
        if spec.worded_by is not None:
            assert specs[spec.worded_by].words is not None, name


def test_words_read_the_whole_trial() -> None:
    view = KnobValues({"quant.precision": "int8", "quant.engine": "nncf"}, knob_specs())
    assert knob_specs()["quant.precision"].phrase(view) == "INT8 NNCF"
    assert knob_specs()["quant.engine"].phrase(view) == ""  # stated in quant.precision's words
    assert knob_specs()["prune.finetune_epochs"].phrase(view) == ""  # unpruned: it does not act


@pytest.mark.parametrize(
    ("knobs", "summary"),
    [
        (
            {
                "quant.precision": "int8",
                "quant.calibration": "percentile",
                "quant.fp_layers": 2,
                "prune.method": "l2",
                "prune.finetune_epochs": 20,
                "distill.alpha": 0.5,
            },
            "320 px · ONNX Runtime · INT8 percentile, 2 FP32 blocks · L2 pruning 0.3, 20 ep KD-recovered (alpha 0.5)",
        ),
        ({"runtime": "torch"}, "320 px · PyTorch · unmodified"),
        ({"imgsz": 256, "quant.precision": "fp16", "prune.ratio": 0.5}, "256 px · ONNX Runtime · FP16"),
        (
            {
                "imgsz": 256,
                "runtime": "openvino",
                "precision_hint": "bf16",
                "quant.precision": "int8",
                "quant.engine": "nncf",
                "quant.max_drop": 0.005,
                "quant.fp_layers": 1,
            },
            "256 px · OpenVINO bf16 · INT8 NNCF, accuracy control <= 0.5 pt, 1 FP32 block",
        ),
        (
            {
                "quant.precision": "int8",
                "quant.per_channel": True,
                "quant.qat_epochs": 3,
                "quant.calibration": "entropy",
            },
            "320 px · ONNX Runtime · INT8 entropy, per-channel, 3 ep QAT",
        ),
        ({"quant.precision": "int8", "quant.calib_images": 16}, "320 px · ONNX Runtime · INT8, 16 calibration images"),
        (
            {
                "prune.method": "fpgm",
                "prune.ratio": 0.5,
                "prune.backbone_ratio": 0.2,
                "prune.neck_ratio": 0.4,
                "prune.skip": "model.0,model.9",
                "prune.finetune_epochs": 10,
                "prune.lr": 0.001,
            },
            "320 px · ONNX Runtime · FPGM pruning 0.5, backbone 0.2, neck 0.4, skip model.0,model.9, 10 ep fine-tuned, "
            "lr 0.001",
        ),
        ({"prune.method": "level"}, "320 px · ONNX Runtime · unstructured (level) pruning 0.3, one-shot"),
        (
            {"prune.method": "l1", "prune.finetune_epochs": 5, "distill.alpha": 0.7, "distill.temperature": 2.0},
            "320 px · ONNX Runtime · L1 pruning 0.3, 5 ep KD-recovered (alpha 0.7, T 2)",
        ),
        (
            {"distill.student_width": 0.5, "distill.student_depth": 0.33},
            "320 px · ONNX Runtime · student w0.5 d0.33, 30 ep, no KD",
        ),
        (
            {
                "distill.student_yaml": "yolo_s.yaml",
                "distill.epochs": 10,
                "distill.init": "scratch",
                "distill.alpha": 0.5,
                "distill.temperature": 2.0,
                "distill.lr": 0.002,
            },
            "320 px · ONNX Runtime · student yolo_s.yaml, 10 ep, from scratch, KD (alpha 0.5, T 2), lr 0.002",
        ),
        (
            {"prune.method": "l2", "prune.finetune_epochs": 5, "distill.alpha": 0.5, "distill.feature_weight": 2.0},
            "320 px · ONNX Runtime · L2 pruning 0.3, 5 ep KD-recovered (alpha 0.5) · CWD weight 2",
        ),
        (
            {"distill.student_width": 0.5, "distill.teacher": "yolo11m.pt", "distill.alpha": 0.5},
            "320 px · ONNX Runtime · student w0.5 d1, 30 ep, teacher yolo11m.pt, KD (alpha 0.5)",
        ),
    ],
)
def test_summaries_of_configs(knobs: dict, summary: str) -> None:
    assert config_summary(Candidate.from_dict(knobs).to_dict()) == summary


def test_knobs_that_do_not_act_are_not_worded() -> None:
    # NNCF: per-channel is always on and calibration is its own; QDQ: no accuracy control
    nncf = {"runtime": "openvino", "quant.precision": "int8", "quant.engine": "nncf", "quant.per_channel": True}
    nncf["quant.calibration"] = "entropy"
    assert config_summary(Candidate.from_dict(nncf).to_dict()) == "320 px · OpenVINO · INT8 NNCF"
    qdq = Candidate.from_dict({"quant.precision": "int8", "quant.max_drop": 0.01})
    assert config_summary(qdq.to_dict()) == "320 px · ONNX Runtime · INT8"
