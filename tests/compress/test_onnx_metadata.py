"""paretodet's ONNX files carry Ultralytics' metadata: ``YOLO(path).predict`` labels boxes with the class names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from paretodet.compress import (
    METADATA_KEYS,
    Int8Settings,
    export_artifact,
    pick_calibration_images,
    quantize_int8,
    read_onnx_metadata,
)
from paretodet.data import list_images, load_data_yaml
from paretodet.models import load_detector


@pytest.fixture(scope="module")
def onnx_files(tiny_model: Path, tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny model as FP32, FP16 (paretodet's export) and INT8 (quantized from the FP32 file) ONNX files."""
    out = tmp_path_factory.mktemp("meta")
    detector = load_detector(tiny_model)
    files = {
        p: export_artifact(detector, out / f"{p}.onnx", runtime="onnxruntime", imgsz=64, precision=p).path
        for p in ("fp32", "fp16")
    }
    info = load_data_yaml(tiny_data)
    assert info.train is not None
    calib = pick_calibration_images(list_images(info.train), 4)
    files["int8"] = out / "int8.onnx"
    quantize_int8(
        files["fp32"], files["int8"], calibration_images=calib, imgsz=64, settings=Int8Settings(), family="ultralytics"
    )
    return files


@pytest.fixture(scope="module")
def val_image(tiny_data: Path) -> Path:
    return list_images(load_data_yaml(tiny_data).val)[0]


@pytest.mark.parametrize(("precision", "quantize"), [("fp32", None), ("fp16", 16), ("int8", 8)])
def test_metadata_has_ultralytics_keys(onnx_files, tiny_data: Path, precision: str, quantize: int | None) -> None:
    meta = read_onnx_metadata(onnx_files[precision])
    assert set(METADATA_KEYS) <= set(meta)
    names = load_data_yaml(tiny_data).names
    assert ast.literal_eval(meta["names"]) == dict(enumerate(names))
    assert ast.literal_eval(meta["imgsz"]) == [64, 64]
    assert meta["task"] == "detect" and meta["stride"] == "32" and meta["batch"] == "1"
    args = ast.literal_eval(meta["args"])
    assert args["quantize"] == quantize and args["nms"] is False and args["dynamic"] is False


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_ultralytics_predicts_with_class_names(onnx_files, tiny_data: Path, val_image: Path, precision: str) -> None:
    from ultralytics import YOLO

    model = YOLO(str(onnx_files[precision]))  # no task given: it comes from the metadata
    assert model.task == "detect"
    # no imgsz given either: the static 64 px input comes from the metadata (the default 640 would not run)
    result = model.predict(str(val_image), conf=1e-4, verbose=False)[0]
    names = dict(enumerate(load_data_yaml(tiny_data).names))
    assert result.names == names
    assert len(result.boxes) > 0  # the untrained model's boxes, at a tiny confidence
    assert {result.names[int(c)] for c in result.boxes.cls} <= set(names.values())


def test_onnx_output_layout_is_what_ultralytics_decodes(tiny_model: Path, onnx_files, val_image: Path) -> None:
    """(1, 4 + nc, anchors): Ultralytics' NMS on the ONNX output gives the boxes of the PyTorch checkpoint."""
    from ultralytics import YOLO

    ref = YOLO(str(tiny_model)).predict(str(val_image), imgsz=64, conf=1e-4, verbose=False)[0]
    got = YOLO(str(onnx_files["fp32"])).predict(str(val_image), conf=1e-4, verbose=False)[0]
    assert len(got.boxes) == len(ref.boxes) > 0
    assert got.boxes.cls.tolist() == ref.boxes.cls.tolist()
    assert (got.boxes.xyxy - ref.boxes.xyxy).abs().max() < 1.0
    assert (got.boxes.conf - ref.boxes.conf).abs().max() < 1e-3
