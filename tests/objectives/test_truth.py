from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paretodet.data import ImageTruth
from paretodet.objectives._truth import coco_ground_truth, score_coco, voc_map


def _truth(boxes: list[list[float]], classes: list[int], difficult: list[bool] | None = None) -> ImageTruth:
    difficult = difficult if difficult is not None else [False] * len(boxes)
    return ImageTruth(Path("img.jpg"), 200, 200, np.array(boxes).reshape(-1, 4), np.array(classes), np.array(difficult))


def _det(image_id: int, cls: int, box: list[float], score: float) -> dict[str, Any]:
    x0, y0, x1, y1 = box
    return {"image_id": image_id, "category_id": cls, "bbox": [x0, y0, x1 - x0, y1 - y0], "score": score}


A, B, C = [10.0, 10.0, 50.0, 50.0], [100.0, 100.0, 160.0, 140.0], [60.0, 0.0, 90.0, 40.0]
FAR = [150.0, 0.0, 190.0, 30.0]  # overlaps nothing above


def test_perfect_detections_score_one() -> None:
    truths = [_truth([A, B], [0, 1]), _truth([C], [0])]
    results = [_det(0, 0, A, 0.9), _det(0, 1, B, 0.8), _det(1, 0, C, 0.7)]
    res = voc_map(truths, results, nc=2)
    assert res.map50_07_11pt == pytest.approx(1.0) and res.map50_area == pytest.approx(1.0)
    assert score_coco(coco_ground_truth(truths, ["a", "b"]), results) == pytest.approx((1.0, 1.0))


def test_false_positive_ranked_above_the_hit() -> None:
    # ranks: FP (p=0, r=0), TP (p=1/2, r=1): envelope 1/2 over the whole recall range
    res = voc_map([_truth([A], [0])], [_det(0, 0, FAR, 0.9), _det(0, 0, A, 0.8)], nc=1)
    assert res.map50_07_11pt == pytest.approx(0.5) and res.map50_area == pytest.approx(0.5)
    # the same detections the other way round lose nothing
    res = voc_map([_truth([A], [0])], [_det(0, 0, FAR, 0.7), _det(0, 0, A, 0.8)], nc=1)
    assert res.map50_area == pytest.approx(1.0)


def test_eleven_point_and_area_differ_on_a_known_case() -> None:
    # two objects; ranks TP, FP, TP: (r, p) = (1/2, 1), (1/2, 1/2), (1, 2/3)
    truths = [_truth([A, B], [0, 0])]
    results = [_det(0, 0, A, 0.9), _det(0, 0, FAR, 0.8), _det(0, 0, B, 0.7)]
    res = voc_map(truths, results, nc=1)
    assert res.map50_area == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)  # 0.8333
    assert res.map50_07_11pt == pytest.approx((6 * 1 + 5 * 2 / 3) / 11)  # 0.8485: levels 0..0.5 see p=1
    assert res.map50_07_11pt != pytest.approx(res.map50_area)


def test_difficult_object_matched_is_ignored() -> None:
    truths = [_truth([A, B], [0, 0], difficult=[False, True])]
    # the detection on the difficult object ranks first: ignored, so precision stays 1
    res = voc_map(truths, [_det(0, 0, B, 0.9), _det(0, 0, A, 0.8)], nc=1)
    assert res.map50_07_11pt == pytest.approx(1.0) and res.map50_area == pytest.approx(1.0)
    # missing the difficult object costs no recall either
    assert voc_map(truths, [_det(0, 0, A, 0.8)], nc=1).map50_area == pytest.approx(1.0)
    # the same boxes without the flag: finding A alone is recall 1/2
    plain = [_truth([A, B], [0, 0])]
    assert voc_map(plain, [_det(0, 0, A, 0.8)], nc=1).map50_area == pytest.approx(0.5)
    gt = coco_ground_truth(truths, ["a"])
    assert [a["difficult"] for a in gt["annotations"]] == [0, 1]
    assert score_coco(gt, [_det(0, 0, B, 0.9), _det(0, 0, A, 0.8)]) == pytest.approx((1.0, 1.0))
    assert score_coco(gt, [_det(0, 0, A, 0.8)]) == pytest.approx((1.0, 1.0))
    assert score_coco(coco_ground_truth(plain, ["a"]), [_det(0, 0, A, 0.8)])[1] == pytest.approx(0.5, abs=0.01)


def test_each_object_matches_once_and_low_iou_is_a_miss() -> None:
    truths = [_truth([A], [0])]
    shifted = [A[0] + 25, A[1], A[2] + 25, A[3]]  # IoU 15/65 < 0.5
    res = voc_map(truths, [_det(0, 0, A, 0.9), _det(0, 0, A, 0.8), _det(0, 0, shifted, 0.95)], nc=1)
    # ranks: miss (p=0), hit (r=1, p=1/2), duplicate (p=1/3)
    assert res.map50_area == pytest.approx(0.5)


def test_classes_without_plain_objects_are_skipped() -> None:
    truths = [_truth([A, B], [0, 1], difficult=[False, True])]  # class 1 only difficult, class 2 absent
    res = voc_map(truths, [_det(0, 0, A, 0.9), _det(0, 2, C, 0.5)], nc=3)
    assert res.map50_area == pytest.approx(1.0) and math.isnan(res.ap_area[1]) and math.isnan(res.ap_area[2])
    assert res.ap_11pt[0] == pytest.approx(1.0)
    assert math.isnan(voc_map([_truth([], [])], [], nc=2).map50_area)


def test_class_with_objects_but_no_detections_scores_zero() -> None:
    res = voc_map([_truth([A, B], [0, 1])], [_det(0, 0, A, 0.9)], nc=2)
    assert res.ap_area == (pytest.approx(1.0), 0.0) and res.map50_area == pytest.approx(0.5)


def test_score_coco_edge_cases_and_inputs_untouched() -> None:
    truths = [_truth([A], [0])]
    gt = coco_ground_truth(truths, ["a"])
    assert score_coco(gt, []) == (0.0, 0.0)
    empty = coco_ground_truth([_truth([], [])], ["a"])
    assert all(math.isnan(v) for v in score_coco(empty, [_det(0, 0, A, 0.5)]))
    only_difficult = coco_ground_truth([_truth([A], [0], difficult=[True])], ["a"])
    assert all(math.isnan(v) for v in score_coco(only_difficult, [_det(0, 0, A, 0.5)]))
    results = [_det(0, 0, A, 0.9)]
    before = (repr(gt), repr(results))
    score_coco(gt, results)
    assert (repr(gt), repr(results)) == before


def test_crowd_objects_are_crowds_for_pycocotools() -> None:
    flags = np.array([False, True])
    crowd = ImageTruth(Path("c.jpg"), 200, 200, np.array([A, B]), np.array([0, 0]), flags, crowd=flags)
    gt = coco_ground_truth([crowd], ["a"])
    assert [(a["iscrowd"], a["difficult"]) for a in gt["annotations"]] == [(0, 0), (1, 1)]
    # two detections inside the crowd region are both ignored (a crowd matches many), so AP stays 1
    inside = [[100.0, 100.0, 130.0, 140.0], [130.0, 100.0, 160.0, 140.0]]
    results = [_det(0, 0, inside[0], 0.95), _det(0, 0, inside[1], 0.94), _det(0, 0, A, 0.9)]
    assert score_coco(gt, results) == pytest.approx((1.0, 1.0))


def test_module_import_does_not_load_torch_or_pycocotools() -> None:
    code = "import sys, paretodet.objectives._truth; print('torch' in sys.modules, 'pycocotools' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_score_coco_is_plain_cocoeval_without_difficult_objects() -> None:
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(0)
    truths, results = [], []
    for image_id in range(6):
        n = int(rng.integers(1, 6))
        xy = rng.uniform(0, 120, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(8, 80, (n, 2))], 1)
        crowd = rng.random(n) < 0.2
        truths.append(ImageTruth(Path(f"{image_id}.jpg"), 200, 200, boxes, rng.integers(0, 3, n), crowd, crowd=crowd))
        for box, cls in zip(boxes, truths[-1].classes):
            for _ in range(2):
                jitter = box + rng.normal(0, 6, 4)
                results.append(_det(image_id, int(cls) if rng.random() < 0.8 else 2, jitter.tolist(), rng.random()))
    gt = coco_ground_truth(truths, ["a", "b", "c"])
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {**gt, "annotations": [dict(a) for a in gt["annotations"]]}
        coco_gt.createIndex()
        plain = COCOeval(coco_gt, coco_gt.loadRes([dict(r) for r in results]), iouType="bbox")
        plain.evaluate()
        plain.accumulate()
        plain.summarize()
    assert any(a["iscrowd"] for a in gt["annotations"]) and 0 < plain.stats[0] < 1
    # crowds are difficult too, and pycocotools already ignores them: the same figures as the official protocol
    assert score_coco(gt, results) == pytest.approx((plain.stats[0], plain.stats[1]))
