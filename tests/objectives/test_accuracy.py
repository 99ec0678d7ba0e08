from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paretodet.data import label_path_for, letterbox, list_images, load_data_yaml, read_image, read_labels, read_truth
from paretodet.objectives import NmsSettings, evaluate_map


class OracleRunner:
    """Returns raw predictions that contain exactly the ground-truth boxes (perfect detector)."""

    threads = 1
    family = "ultralytics"

    def __init__(self, images: list[Path], imgsz: int, nc: int, *, shift: float = 0.0) -> None:
        self.queue: list[np.ndarray] = []
        for path in images:
            img = read_image(path)
            h, w = img.shape[:2]
            _, lb = letterbox(img, imgsz)
            rows = read_labels(label_path_for(path), nc=nc)
            raw = np.zeros((1, 4 + nc, max(1, len(rows))), np.float32)
            for j, (cls, cx, cy, bw, bh) in enumerate(rows):
                raw[0, 0, j] = cx * w * lb.ratio + lb.pad_x + shift * bw * w * lb.ratio
                raw[0, 1, j] = cy * h * lb.ratio + lb.pad_y
                raw[0, 2, j] = bw * w * lb.ratio
                raw[0, 3, j] = bh * h * lb.ratio
                raw[0, 4 + cls, j] = 0.9
            self.queue.append(raw)

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        return [self.queue.pop(0)]


@pytest.mark.parametrize("imgsz", [160, 320])
def test_perfect_predictions_score_one(tiny_data: Path, imgsz: int) -> None:
    info = load_data_yaml(tiny_data)
    images = list_images(info.val)
    result = evaluate_map(
        OracleRunner(images, imgsz, info.nc), [read_truth(info, p) for p in images], names=info.names, imgsz=imgsz
    )
    assert result.map50_95 == pytest.approx(1.0, abs=0.02)  # boxes are rounded to input pixels
    assert result.map50 == pytest.approx(1.0)
    assert result.images == len(images)


def test_shifted_boxes_lose_strict_iou_only(tiny_data: Path) -> None:
    info = load_data_yaml(tiny_data)
    images = list_images(info.val)
    # shifting every box by 20% of its width: IoU ~0.67 -> counted at 0.5..0.65, missed above
    result = evaluate_map(
        OracleRunner(images, 320, info.nc, shift=0.2),
        [read_truth(info, p) for p in images],
        names=info.names,
        imgsz=320,
    )
    assert result.map50 == pytest.approx(1.0)
    assert 0.2 < result.map50_95 < 0.5


def test_no_detections_score_zero(tiny_data: Path) -> None:
    info = load_data_yaml(tiny_data)
    images = list_images(info.val)

    class Empty:
        threads, family = 1, "ultralytics"

        def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
            return [np.zeros((1, 4 + info.nc, 10), np.float32)]

    truths = [read_truth(info, p) for p in images]
    result = evaluate_map(Empty(), truths, names=info.names, imgsz=160, nms=NmsSettings())
    assert result.map50_95 == 0.0 and result.detections == 0


def test_two_scoring_routes_agree_on_the_same_predictions(tiny_data: Path) -> None:
    from paretodet.compress import export_artifact
    from paretodet.models import demo_teacher_path, load_detector
    from paretodet.objectives import coco_map, predict, ultralytics_map
    from paretodet.runtimes import open_runner

    info = load_data_yaml(tiny_data)
    images = list_images(info.val)
    # a perfect detector scores 1 by both routes
    oracle = predict(OracleRunner(images, 160, info.nc), [read_truth(info, p) for p in images], imgsz=160)
    assert coco_map(oracle, info.names).map50_95 == pytest.approx(1.0, abs=1e-6)
    # Ultralytics' interpolation ends its precision envelope with a zero: a perfect detector gets 0.995
    assert ultralytics_map(oracle, info.names).map50_95 == pytest.approx(0.995, abs=1e-6)
    # a real detector: pycocotools and Ultralytics' metrics score its detections alike
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        art = export_artifact(
            load_detector(demo_teacher_path()), Path(tmp) / "t.onnx", runtime="onnxruntime", imgsz=160, precision="fp32"
        )
        preds = predict(open_runner(art, threads=1), [read_truth(info, p) for p in images], imgsz=160)
    coco, ultra = coco_map(preds, info.names), ultralytics_map(preds, info.names)
    assert 0.2 < coco.map50_95 < 1.0 and abs(coco.map50_95 - ultra.map50_95) < 0.05
