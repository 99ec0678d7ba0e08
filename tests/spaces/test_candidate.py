from __future__ import annotations

import pytest

from paretodet.errors import ConfigError
from paretodet.spaces import Candidate, QuantConfig, knob_names


def test_round_trip_and_dotted_keys() -> None:
    c = Candidate(imgsz=256, runtime="onnxruntime", quant=QuantConfig(precision="fp16"))
    assert c.to_dict() == {"imgsz": 256, "runtime": "onnxruntime", "quant.precision": "fp16"}
    assert Candidate.from_dict(c.to_dict()) == c
    assert knob_names() == ["imgsz", "runtime", "quant.precision"]


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
    ],
)
def test_bad_values_fail_clearly(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Candidate.from_dict(values)
