from __future__ import annotations

from pathlib import Path

import pytest
import torch

from paretodet.compress._prune import structured_prune
from paretodet.errors import ConfigError
from paretodet.models import demo_teacher_path, load_detector


@pytest.mark.parametrize("method", ["l1", "l2", "fpgm"])
def test_channels_are_physically_removed(method: str) -> None:
    model = load_detector(demo_teacher_path()).model  # the real YOLOv8n layout
    pruned, report = structured_prune(model, method=method, ratio=0.3, imgsz=64)
    assert report.groups_pruned > 0
    assert report.params_after < 0.85 * report.params_before
    assert sum(p.numel() for p in pruned.parameters()) == report.params_after
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert pruned(x)[0].shape == model.eval()(x)[0].shape  # same detections layout, fewer channels inside


def test_pruned_model_exports_and_reloads(tmp_path: Path) -> None:
    from ultralytics import YOLO

    from paretodet.compress import export_artifact
    from paretodet.models import Detector

    det = load_detector(demo_teacher_path())
    pruned, report = structured_prune(det.model, method="l2", ratio=0.3, imgsz=64)
    pruned_det = Detector(model=pruned, names=det.names, source="pruned", digest="pruned")
    pt = export_artifact(pruned_det, tmp_path / "p.pt", runtime="torch", imgsz=64, precision="fp32")
    onnx_art = export_artifact(pruned_det, tmp_path / "p.onnx", runtime="onnxruntime", imgsz=64, precision="fp32")
    assert sum(p.numel() for p in YOLO(str(pt.path)).model.parameters()) == report.params_after
    full = export_artifact(det, tmp_path / "f.onnx", runtime="onnxruntime", imgsz=64, precision="fp32")
    assert onnx_art.path.stat().st_size < full.path.stat().st_size
    assert onnx_art.gflops < full.gflops


def test_bad_pruning_settings(tiny_model: Path) -> None:
    model = load_detector(tiny_model).model
    with pytest.raises(ConfigError, match=r"in \[0, 0.9\]"):
        structured_prune(model, method="l1", ratio=0.95)
    with pytest.raises(ConfigError, match="unknown pruning method"):
        structured_prune(model, method="random", ratio=0.3)
