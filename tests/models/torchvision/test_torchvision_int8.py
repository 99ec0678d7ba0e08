"""INT8 calibration of torchvision detectors (issue 35): rare images with extreme activations are left out of
calibration, and every calibration method completes on an SSDlite whose detections vary in number per image."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch

from paretodet.compress import Int8Settings, export_artifact, quantize_int8
from paretodet.compress._typical import activation_outlier_scores
from paretodet.data import SHAPE_CLASSES, load_dataset, split_images
from paretodet.models.torchvision._family import TorchvisionFamily, build_torchvision
from paretodet.runtimes import Artifact, open_runner
from tests.models.torchvision.test_torchvision import IMGSZ, SSD, calibrate_bn

FAMILY = TorchvisionFamily()


def _ssd(tmp: Path, name: str, edit: Callable[[torch.nn.Module], None]) -> Artifact:
    """A tiny untrained SSDlite (batch norms calibrated), changed by ``edit(model)``, exported at IMGSZ."""
    torch.manual_seed(0)
    det = build_torchvision(SSD, names=SHAPE_CLASSES)
    calibrate_bn(det.model)
    with torch.no_grad():
        edit(det.model)
    return export_artifact(det, tmp / f"{name}.onnx", runtime="onnxruntime", imgsz=IMGSZ, precision="fp32")


def _fires_on_white(model: torch.nn.Module) -> None:
    """Channel 0 of the first convolution outputs ~100 on white pixels and 0 elsewhere: a white image drives the
    activations after it far above a textured image's, as bright pastel images do in the demo SSDlite."""
    backbone: Any = model.backbone
    first = backbone.features[0][0]  # Conv2dNormActivation: conv, batch norm, hardswish
    conv, bn = first[0], first[1]
    conv.weight[0].zero_()
    conv.weight[0, :, 1, 1] = 1000.0  # a white pixel, normalized, sums to ~7,300 over the channels
    bn.running_mean[0], bn.running_var[0], bn.weight[0], bn.bias[0] = 0.0, 1.0, 1.0, -7200.0


def _few_detections(model: torch.nn.Module) -> None:
    """Background logits raised and class logits spread: a different (small) number of boxes per image clears
    the 0.001 score threshold, so the tensors after NMS change shape from image to image."""
    head: Any = model.head
    for predictor in head.classification_head.module_list:
        predictor[-1].weight.mul_(5.0)
        predictor[-1].bias.view(-1, len(SHAPE_CLASSES) + 1)[:, 0] += 10.0


@pytest.fixture(scope="module")
def images(tiny_data: Path) -> list[Path]:
    info = load_dataset(tiny_data)
    return split_images(info, "train") + split_images(info, "val")  # 16 textured images


@pytest.fixture(scope="module")
def white(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import cv2

    path = tmp_path_factory.mktemp("white") / "white.png"
    cv2.imwrite(str(path), np.full((IMGSZ, IMGSZ, 3), 255, np.uint8))
    return path


def _activation_scales(path: Path) -> dict[str, float]:
    """Tensor -> the scale of the QuantizeLinear that quantizes it."""
    model = onnx.load(str(path))
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    return {n.input[0]: float(inits[n.input[1]]) for n in model.graph.node if n.op_type == "QuantizeLinear"}


def test_the_image_with_extreme_activations_sets_no_int8_range(
    images: list[Path], white: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fp32 = _ssd(tmp_path, "bright", _fires_on_white)
    nodes = {n for names in FAMILY.quantizable_blocks(onnx.load(str(fp32.path))).values() for n in names}
    scores = activation_outlier_scores(onnx.load(str(fp32.path)), [*images, white], imgsz=IMGSZ, nodes=nodes)
    assert np.argmax(scores) == len(images) and scores[-1] > np.sort(scores)[-2] + 0.5

    def scales(calibration: list[Path], name: str, trim: float) -> dict[str, float]:
        monkeypatch.setattr(TorchvisionFamily, "calibration_trim", trim)
        dest = tmp_path / f"{name}.onnx"
        quantize_int8(
            fp32.path, dest, calibration_images=calibration, imgsz=IMGSZ, settings=Int8Settings(), family="torchvision"
        )
        return _activation_scales(dest)

    trim = FAMILY.calibration_trim
    assert trim == pytest.approx(0.1)
    typical = scales(images, "typical", 0.0)
    with_white = scales([*images, white], "with_white", trim)
    assert with_white == typical  # the white image (1 of 17: 10% trimmed) is left out, nothing else
    untrimmed = scales([*images, white], "untrimmed", 0.0)  # what calibration did before: its ranges set scales
    assert max(untrimmed[t] / typical[t] for t in typical) > 10


@pytest.mark.parametrize("method", ["percentile", "entropy", "minmax"])
def test_every_calibration_method_completes_when_detections_vary_per_image(
    images: list[Path], tmp_path: Path, method: str
) -> None:
    fp32 = _ssd(tmp_path, "sparse", _few_detections)
    calibration = images[:4]  # one calibration chunk at this size: ORT stacked their tensors
    run = open_runner(fp32, threads=1)
    counts = {len(run(_input(p))[1]) for p in calibration}
    assert len(counts) > 1  # the NMS outputs differ in shape between the calibration images
    dest = tmp_path / f"{method}.onnx"
    quantize_int8(
        fp32.path,
        dest,
        calibration_images=calibration,
        imgsz=IMGSZ,
        settings=Int8Settings(calibration=method),
        family="torchvision",
    )
    model = onnx.load(str(dest))
    assert sum(n.op_type == "QuantizeLinear" for n in model.graph.node) > 50
    int8 = dataclasses.replace(fp32, path=dest, precision="int8")
    boxes, scores, classes = open_runner(int8, threads=1)(_input(calibration[0]))
    assert boxes.shape == (len(scores), 4) and classes.dtype == np.int64


def _input(path: Path) -> np.ndarray:
    from paretodet.data import letterbox, read_image

    return letterbox(read_image(path), IMGSZ)[0]
