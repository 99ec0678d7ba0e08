from __future__ import annotations

from pathlib import Path

import pytest

from paretodet.data import SHAPE_CLASSES
from paretodet.errors import ModelError
from paretodet.models import load_detector
from paretodet.testing import tiny_model_yaml


def test_load_checkpoint_names_and_digest(tiny_model: Path) -> None:
    det = load_detector(tiny_model)
    assert det.names == SHAPE_CLASSES and det.nc == 6
    assert det.params() > 0 and len(det.digest) == 16
    assert load_detector(tiny_model).digest == det.digest


def test_load_model_yaml(tmp_path: Path) -> None:
    det = load_detector(tiny_model_yaml(tmp_path / "m.yaml", nc=3))
    assert det.nc == 3 and not det.model.training


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model file not found"):
        load_detector(tmp_path / "missing.pt")
    with pytest.raises(ModelError, match="model file not found"):
        load_detector("some/dir/yolov8n.pt")


def test_corrupt_checkpoint(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ModelError, match="cannot read checkpoint"):
        load_detector(bad)


def test_wrong_suffix_and_folder(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"x")
    with pytest.raises(ModelError, match=r"not a \.pt checkpoint"):
        load_detector(tmp_path / "m.onnx")
    with pytest.raises(ModelError, match="is a folder"):
        load_detector(tmp_path)
