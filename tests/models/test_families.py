"""The detector family registry: claim order, lookup errors, and a family registered from outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretodet.errors import ConfigError, ModelError
from paretodet.models import ALL_TECHNIQUES, family_for, get_family, list_families, load_detector, register_family


def test_builtin_families_and_their_techniques() -> None:
    assert list_families()[:3] == ["torchvision", "yolov5", "ultralytics"]
    assert get_family("ultralytics").techniques == ALL_TECHNIQUES
    yolov5 = get_family("yolov5").techniques
    assert {"int8", "recover", "qat", "kd"} <= yolov5 and not {"student", "kd_features"} & yolov5  # issue 25
    assert not {"student", "kd", "qat"} & get_family("torchvision").techniques


def test_unknown_family_names_a_close_one() -> None:
    with pytest.raises(ConfigError, match="did you mean 'torchvision'"):
        get_family("torchvison")


def test_claims_route_each_source(tiny_model: Path) -> None:
    assert family_for(tiny_model).name == "ultralytics"
    assert family_for("yolov8n.pt").name == "ultralytics"  # a bare name: Ultralytics downloads it when online
    assert family_for("torchvision:ssdlite320_mobilenet_v3_large").name == "torchvision"
    with pytest.raises(ModelError, match=r"is not a \.pt checkpoint"):
        family_for("model.onnx")


def test_ultralytics_detector_records_its_family(tiny_model: Path) -> None:
    detector = load_detector(tiny_model)
    assert detector.family == "ultralytics" and detector.trainable


def test_weights_only_for_builder_names(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="weights file not found"):
        load_detector("torchvision:ssdlite320_mobilenet_v3_large", weights=tmp_path / "missing.pth")
    (tmp_path / "w.pth").write_bytes(b"x")
    with pytest.raises(ModelError, match="--weights is for builder names"):
        load_detector(tiny_model, weights=tmp_path / "w.pth")


def test_a_registered_family_claims_first() -> None:
    ultralytics = get_family("ultralytics")

    class Shadow(type(ultralytics)):  # type: ignore[misc]
        name = "shadow"

        def claims(self, source: str) -> bool:
            return source.endswith(".shadow.pt")

    register_family("shadow", Shadow())
    try:
        assert list_families()[0] == "shadow"
        assert family_for("m.shadow.pt").name == "shadow"
        assert family_for("m.pt").name == "ultralytics"
    finally:
        from paretodet.models import _families

        _families._ENTRIES.pop("shadow")
        _families._LOADED.pop("shadow")


def test_each_family_reports_the_training_size(tiny_model: Path) -> None:
    from paretodet.models import demo_teacher_path, load_detector

    assert load_detector(demo_teacher_path()).train_imgsz == 320  # its checkpoint's train_args
    assert load_detector(tiny_model).train_imgsz is None  # built from a YAML, never trained: no size
