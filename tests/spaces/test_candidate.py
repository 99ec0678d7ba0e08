from __future__ import annotations

import pytest

from paretodet.errors import ConfigError
from paretodet.spaces import Candidate, QuantConfig, knob_names


def test_round_trip_and_dotted_keys() -> None:
    c = Candidate(imgsz=256, runtime="onnxruntime", quant=QuantConfig(precision="int8", per_channel=True))
    assert c.to_dict() == {
        "imgsz": 256,
        "runtime": "onnxruntime",
        "quant.precision": "int8",
        "quant.calibration": "minmax",
        "quant.calib_images": 64,
        "quant.per_channel": True,
        "quant.fp_layers": 0,
        "quant.qat_epochs": 0,
    }
    assert Candidate.from_dict(c.to_dict()) == c
    assert knob_names()[:3] == ["imgsz", "runtime", "quant.precision"]


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
