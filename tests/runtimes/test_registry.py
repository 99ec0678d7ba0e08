"""The runtime seam: one registry entry per runtime; what a host cannot run is refused in one line."""

from __future__ import annotations

import importlib.util
import re

import pytest

from paretodet.errors import ConfigError
from paretodet.runtimes import RuntimeSpec, _registry, add_runtime, list_runtimes, runtime_label, runtime_spec
from paretodet.spaces import Candidate, load_space


def test_builtins_declare_what_they_take() -> None:
    assert list_runtimes()[:3] == ["onnxruntime", "openvino", "torch"]
    assert {"onnxruntime-cuda", "tensorrt", "torch-cuda"} <= set(list_runtimes())
    assert runtime_spec("openvino").int8_engines == ("qdq", "nncf")
    assert runtime_spec("openvino").derives_from == "onnxruntime" and runtime_spec("openvino").suffix == ".xml"
    assert runtime_spec("torch").precisions == ("fp32",) and runtime_label("openvino") == "OpenVINO"
    with pytest.raises(ConfigError, match=r"unknown runtime 'onnx' \(did you mean 'onnxruntime'\?\): use one of"):
        runtime_spec("onnx")


def test_candidates_are_checked_against_their_runtime() -> None:
    with pytest.raises(ConfigError, match=r"runtime=torch takes quant\.precision fp32, not fp16"):
        Candidate.from_dict({"runtime": "torch", "quant.precision": "fp16"})
    with pytest.raises(ConfigError, match=r"quant\.engine qdq, not nncf"):
        Candidate.from_dict({"quant.precision": "int8", "quant.engine": "nncf"})
    with pytest.raises(ConfigError, match=re.escape("runtime=tensorrt takes precision_hint f32 | f16, not bf16")):
        Candidate.from_dict({"runtime": "tensorrt", "precision_hint": "bf16"})
    ok = Candidate.from_dict({"runtime": "openvino", "quant.precision": "int8", "quant.engine": "nncf"})
    assert ok.quant.engine == "nncf"
    # a hint is a knob only where the runtime takes one
    assert Candidate.from_dict({"precision_hint": "bf16"}).config_key() == Candidate().config_key()


def test_a_missing_package_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        _registry.importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a)
    )
    reason = runtime_spec("openvino").missing()
    assert reason == (
        "runtime=openvino needs the openvino package, which is not installed: pip install 'paretodet[openvino]'"
    )
    with pytest.raises(ConfigError, match=r"paretodet\[openvino\]"):
        runtime_spec("openvino").check_host(hint="f32")
    space, notes = load_space("balanced").for_host()
    runtimes = next(k.choices for k in space.knobs if k.name == "runtime")
    assert runtimes == ("onnxruntime", "torch") and notes == [f"runtime openvino not sampled: {reason}"]
    assert "precision_hint" not in {k.name for k in space.knobs}  # no runtime left that takes a hint


def test_gpu_runtimes_are_refused_without_a_gpu() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this host has a GPU")
    for name in ("onnxruntime-cuda", "tensorrt", "torch-cuda"):
        reason = runtime_spec(name).missing()
        assert reason is not None and reason.startswith(f"runtime={name} needs") and "\n" not in reason
    space = load_space("balanced").with_knobs(*[k for k in load_space("balanced").knobs if k.name == "runtime"])
    from paretodet.spaces import Knob

    gpu_space = space.with_knobs(Knob("runtime", choices=("onnxruntime", "torch-cuda")))
    reduced, notes = gpu_space.for_host()
    assert "runtime" not in {k.name for k in reduced.knobs} and notes[0].startswith("runtime torch-cuda not sampled")


def test_an_added_runtime_is_a_knob_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))
    _registry.runtime_names.cache_clear()
    try:
        add_runtime(RuntimeSpec(name="fakert", label="Fake RT", runner=lambda art, threads: None, package="numpy"))
        assert Candidate.from_dict({"runtime": "fakert"}).runtime == "fakert"
        assert runtime_label("fakert") == "Fake RT" and runtime_spec("fakert").missing() is None
    finally:
        monkeypatch.undo()
        _registry.runtime_names.cache_clear()
    with pytest.raises(ConfigError, match="runtime='fakert' is not one of"):
        Candidate.from_dict({"runtime": "fakert"})
