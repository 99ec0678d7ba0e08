from __future__ import annotations

import pytest

from paretodet.errors import ConfigError
from paretodet.spaces import Candidate, QuantConfig, knob_names


def test_round_trip_and_dotted_keys() -> None:
    c = Candidate(imgsz=256, runtime="onnxruntime", quant=QuantConfig(precision="int8", per_channel=True))
    assert c.to_dict() == {
        "imgsz": 256,
        "runtime": "onnxruntime",
        "precision_hint": "f32",
        "quant.precision": "int8",
        "quant.engine": "qdq",
        "quant.max_drop": 0.0,
        "quant.calibration": "minmax",
        "quant.calib_images": 64,
        "quant.per_channel": True,
        "quant.fp_layers": 0,
        "quant.qat_epochs": 0,
        "prune.method": "none",
        "prune.ratio": 0.3,
        "prune.backbone_ratio": -1.0,
        "prune.neck_ratio": -1.0,
        "prune.skip": "",
        "prune.finetune_epochs": 0,
        "prune.lr": 0.0005,
        "distill.student_width": 1.0,
        "distill.student_depth": 1.0,
        "distill.student_yaml": "",
        "distill.teacher": "",
        "distill.init": "teacher",
        "distill.temperature": 4.0,
        "distill.alpha": 0.0,
        "distill.feature_weight": 0.0,
        "distill.epochs": 30,
        "distill.lr": 0.001,
    }
    assert Candidate.from_dict(c.to_dict()) == c
    assert knob_names()[:4] == ["imgsz", "runtime", "precision_hint", "quant.precision"]


def test_bool_and_int_knobs_parse() -> None:
    c = Candidate.from_dict({"quant.per_channel": "true", "quant.fp_layers": "2", "quant.calib_images": "32"})
    assert c.quant.per_channel is True and c.quant.fp_layers == 2 and c.quant.calib_images == 32
    with pytest.raises(ConfigError, match="is not a bool"):
        Candidate.from_dict({"quant.per_channel": "maybe"})


def test_strings_from_the_command_line_are_typed() -> None:
    c = Candidate.from_dict({"imgsz": "224", "quant.precision": "fp16"})
    assert c.imgsz == 224 and c.quant.precision == "fp16"


def test_stage_hash_is_stable_and_selective() -> None:
    c = Candidate(imgsz=256)
    key = c.stage_hash(("imgsz", "runtime"), salt="model-a")
    assert key == Candidate(imgsz=256).stage_hash(("runtime", "imgsz"), salt="model-a")
    assert key == "dca4945951c5c7a9"  # must not change across processes or releases without intent
    assert key != c.stage_hash(("imgsz", "runtime"), salt="model-b")
    assert key != Candidate(imgsz=288).stage_hash(("imgsz", "runtime"), salt="model-a")
    assert key == c.replace({"quant.precision": "fp16"}).stage_hash(("imgsz", "runtime"), salt="model-a")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"quant.precison": "fp16"}, "did you mean 'quant.precision'"),
        ({"runtime": "onnx"}, "did you mean 'onnxruntime'"),
        ({"imgsz": "250"}, "multiple of 32"),
        ({"imgsz": "big"}, "is not a int"),
        ({"runtime": "torch", "quant.precision": "fp16"}, "runtime=torch"),
        ({"runtime": "torch", "quant.precision": "int8"}, "runtime=torch"),
        ({"quant.calibration": "kl"}, "is not one of minmax, entropy, percentile"),
        ({"quant.calib_images": "0"}, "calib_images"),
        ({"quant.fp_layers": "-1"}, "fp_layers"),
    ],
)
def test_bad_values_fail_clearly(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Candidate.from_dict(values)


def test_pruning_knobs_parse_validate_and_go_inactive() -> None:
    from paretodet.spaces import inactive_knobs

    cand = Candidate.from_dict(
        {"prune.method": "l2", "prune.ratio": "0.3", "prune.finetune_epochs": "20", "prune.skip": "model.0, model.9"}
    )
    assert cand.prune.ratio == 0.3 and cand.prune.finetune_epochs == 20
    assert cand.prune.skip_names() == ("model.0", "model.9")
    assert cand.prune.part_ratio("backbone") is None
    assert cand.replace({"prune.neck_ratio": "0.5"}).prune.part_ratio("neck") == 0.5
    assert "prune.lr" not in inactive_knobs(cand.to_dict())
    assert "prune.lr" in inactive_knobs({**cand.to_dict(), "prune.finetune_epochs": 0})
    assert "prune.ratio" in inactive_knobs(Candidate().to_dict())
    for bad, needle in [
        ({"prune.ratio": "0.95"}, r"prune.ratio must be in \[0, 0.9\]"),
        ({"prune.neck_ratio": "1.5"}, "or -1"),
        ({"prune.method": "fpmg"}, "did you mean 'fpgm'"),
        ({"prune.finetune_epochs": "-1"}, "prune.finetune_epochs"),
        ({"prune.lr": "0"}, "prune.lr"),
    ]:
        with pytest.raises(ConfigError, match=needle):
            Candidate.from_dict(bad)
