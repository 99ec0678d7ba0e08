from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from paretodet.compress import FakeQuantConv, QatRecipe, prepare_qat, qat_finetune, strip_qat
from paretodet.compress._qat import block_of_module
from paretodet.data import load_data_yaml, write_resolved_yaml
from paretodet.models import load_detector


def test_block_names_match_the_onnx_blocks() -> None:
    assert block_of_module("model.3.conv", 22) == "model.3"
    assert block_of_module("model.22.cv2.0.1.conv", 22) == "model.22.cv2.0"
    assert block_of_module("model.22.cv3.2.2", 22) == "model.22.cv3.2"
    assert block_of_module("model.22.dfl.conv", 22) is None  # the decode is never fake-quantized
    assert block_of_module("head", 22) is None


def test_prepare_wraps_quantized_convs_only(tiny_model: Path) -> None:
    model = load_detector(tiny_model).model
    prepared = prepare_qat(model, per_channel=True, fp32_blocks=("model.0",))
    wrapped = {n for n, m in prepared.named_modules() if isinstance(m, FakeQuantConv)}
    assert "model.1.conv" in wrapped and "model.0.conv" not in wrapped
    assert not any(n.startswith("model.22.dfl") for n in wrapped)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in prepared.modules())  # BN folded first
    x = torch.rand(1, 3, 64, 64)
    prepared.eval()
    with torch.no_grad():
        fq_out = prepared(x)[0]
        plain_out = strip_qat(prepared)(x)[0]
    assert fq_out.shape == plain_out.shape
    assert not torch.equal(fq_out, plain_out)  # fake quantization changes the numbers a little
    assert not any(isinstance(m, FakeQuantConv) for m in strip_qat(prepared).modules())


@pytest.mark.parametrize("per_channel", [False, True])  # per-channel: the trainer's EMA copy once broke on it
def test_one_epoch_of_qat_changes_the_weights(
    per_channel: bool, tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    det = load_detector(tiny_model)
    yaml_path = write_resolved_yaml(load_data_yaml(tiny_data), tmp_path / "data.yaml")
    before = strip_qat(prepare_qat(det.model, per_channel=per_channel))
    tuned = qat_finetune(
        det.model,
        yaml_path,
        imgsz=64,
        per_channel=per_channel,
        fp32_blocks=(),
        workdir=tmp_path,
        recipe=QatRecipe(epochs=1, lr=1e-3, batch=4),
    )
    w0 = before.get_submodule("model.1.conv").weight
    w1 = tuned.get_submodule("model.1.conv").weight
    assert w0.shape == w1.shape and not torch.allclose(w0, w1)
    assert not any(isinstance(m, FakeQuantConv) for m in tuned.modules())
