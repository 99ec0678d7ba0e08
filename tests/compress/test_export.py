from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from paretodet.compress import export_artifact
from paretodet.errors import ConfigError
from paretodet.models import inference_module, load_detector
from paretodet.runtimes import Artifact, open_runner


@pytest.fixture(scope="module")
def detector(tiny_model: Path):
    return load_detector(tiny_model)


def test_onnx_fp32_matches_torch(detector, tmp_path: Path) -> None:
    onnx_art = export_artifact(detector, tmp_path / "m.onnx", runtime="onnxruntime", imgsz=64, precision="fp32")
    pt_art = export_artifact(detector, tmp_path / "m.pt", runtime="torch", imgsz=64, precision="fp32")
    x = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
    a = open_runner(onnx_art, threads=1)(x)[0]
    b = open_runner(pt_art, threads=1)(x)[0]
    assert a.shape == (1, 4 + detector.nc, 84)  # 8x8 + 4x4 + 2x2 anchors at 64 px
    assert np.allclose(a, b, atol=1e-3)


def test_fp16_halves_the_weights(detector, tmp_path: Path) -> None:
    fp32 = export_artifact(detector, tmp_path / "a.onnx", runtime="onnxruntime", imgsz=64, precision="fp32")
    fp16 = export_artifact(detector, tmp_path / "b.onnx", runtime="onnxruntime", imgsz=64, precision="fp16")
    ratio = fp16.path.stat().st_size / fp32.path.stat().st_size
    assert 0.4 < ratio < 0.6
    model = onnx.load(str(fp16.path))
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # IO stays FP32
    x = np.random.default_rng(1).random((1, 3, 64, 64), dtype=np.float32)
    a, b = open_runner(fp32, threads=1)(x)[0], open_runner(fp16, threads=1)(x)[0]
    assert b.dtype == np.float32 and np.allclose(a[:, :4], b[:, :4], atol=0.5)


def test_artifact_metadata_and_sidecar(detector, tmp_path: Path) -> None:
    art = export_artifact(detector, tmp_path / "m.onnx", runtime="onnxruntime", imgsz=96, precision="fp32")
    assert art.params == sum(p.numel() for p in inference_module(detector.model).parameters())
    assert art.gflops > 0 and art.names == detector.names
    assert Artifact.read_sidecar(art.path) == art
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temp file


def test_pt_artifact_reloads_as_ultralytics(detector, tmp_path: Path) -> None:
    from ultralytics import YOLO

    art = export_artifact(detector, tmp_path / "m.pt", runtime="torch", imgsz=64, precision="fp32")
    reloaded = YOLO(str(art.path))
    assert sum(p.numel() for p in reloaded.model.parameters()) == detector.params()


def test_torch_fp16_rejected(detector, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="runtime=torch"):
        export_artifact(detector, tmp_path / "m.pt", runtime="torch", imgsz=64, precision="fp16")
