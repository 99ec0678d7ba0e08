from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paretodet.data import ImageTruth
from paretodet.errors import ConfigError
from paretodet.objectives._image_evals import ImageEvals, image_evals
from paretodet.objectives._intervals import (
    INTERVAL_METHODS,
    DeltaInterval,
    Interval,
    _maps,
    bootstrap_map,
    map_from_evals,
    paired_delta,
    resample_weights,
    separable,
)
from paretodet.objectives._truth import coco_ground_truth, score_coco

NAMES = ["a", "b", "c", "d"]  # "d" never has ground truth; "c" (below) never gets a detection


def _scene(seed: int, *, images: int = 10, ties: bool = False) -> tuple[list[ImageTruth], list[dict[str, Any]]]:
    """Random truth (some difficult, some crowd, every fifth image empty) and noisy detections of it."""
    rng = np.random.default_rng(seed)
    truths, results = [], []
    for i in range(images):
        n = 0 if i % 5 == 2 else int(rng.integers(1, 6))
        xy = rng.uniform(0, 140, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(8, 60, (n, 2))], axis=1)
        cls = rng.integers(0, 3, n)
        difficult = rng.random(n) < 0.2
        truths.append(ImageTruth(Path(f"{i}.jpg"), 200, 200, boxes, cls, difficult, difficult & (rng.random(n) < 0.5)))
        dets = [(b + rng.normal(0, 4, 4), int(c)) for b, c in zip(boxes, cls) for _ in range(int(rng.integers(0, 3)))]
        for xy0 in rng.uniform(0, 150, (int(rng.integers(0, 8)), 2)):  # background: classes "a", "b", "d"
            dets.append((np.r_[xy0, xy0 + rng.uniform(5, 50, 2)], int(rng.choice([0, 1, 3]))))
        for box, c in dets:
            c = 0 if c == 2 else c  # class "c" is never predicted
            score = round(float(rng.random()), 1) if ties else float(rng.random())
            results.append({"image_id": i, "category_id": c, "bbox": [*box[:2], *(box[2:] - box[:2])], "score": score})
    return truths, results


def _duplicated(truths: list[ImageTruth], results: list[dict[str, Any]], weights: np.ndarray) -> tuple[list, list]:
    """The images listed ``weights[i]`` times each, copies side by side, and their detections."""
    first = np.concatenate([[0], np.cumsum(weights)])
    dup_truths = [t for t, w in zip(truths, weights) for _ in range(w)]
    dup_results = [
        {**r, "image_id": int(first[r["image_id"]] + j)} for r in results for j in range(weights[r["image_id"]])
    ]
    return dup_truths, dup_results


@pytest.mark.parametrize("seed", range(6))
def test_no_weights_equal_pycocotools_exactly(seed: int) -> None:
    truths, results = _scene(seed, ties=seed % 2 == 1)
    gt = coco_ground_truth(truths, NAMES)
    assert map_from_evals(image_evals(gt, results)) == score_coco(gt, results)


@pytest.mark.parametrize("seed", range(4))
def test_integer_weights_equal_duplicated_images(seed: int) -> None:
    truths, results = _scene(seed, ties=seed >= 2)  # ties: equal scores within an image too
    evals = image_evals(coco_ground_truth(truths, NAMES), results)
    for weights in np.random.default_rng(seed).integers(0, 4, (3, len(truths))):
        dup_truths, dup_results = _duplicated(truths, results, weights)
        expected = score_coco(coco_ground_truth(dup_truths, NAMES), dup_results)
        assert map_from_evals(evals, weights) == pytest.approx(expected, rel=0, abs=1e-12)


def test_bootstrap_samples_match_single_reaccumulation() -> None:
    truths, results = _scene(7, ties=True)
    evals = image_evals(coco_ground_truth(truths, NAMES), results)
    weights = resample_weights(evals.n_images, reps=20, seed=3)
    m50_95, m50 = _maps(evals, weights)
    for w, a, b in zip(weights, m50_95, m50):
        assert (a, b) == pytest.approx(map_from_evals(evals, w), rel=0, abs=1e-12)


def test_empty_conventions_follow_score_coco() -> None:
    truths, results = _scene(1)
    gt = coco_ground_truth(truths, NAMES)
    assert map_from_evals(image_evals(gt, [])) == (0.0, 0.0) == score_coco(gt, [])
    no_truth = [ImageTruth(t.path, t.height, t.width, np.zeros((0, 4)), [], []) for t in truths]
    assert all(math.isnan(v) for v in map_from_evals(image_evals(coco_ground_truth(no_truth, NAMES), results)))
    evals = image_evals(gt, results)
    only_empty = np.array([int(i % 5 == 2) for i in range(len(truths))])  # the images without truth
    assert all(math.isnan(v) for v in map_from_evals(evals, only_empty))
    iv = bootstrap_map(image_evals(coco_ground_truth(no_truth, NAMES), results), reps=10)
    assert math.isnan(iv.map50_95.estimate) and math.isnan(iv.map50_95.low)


def test_perfect_detector_collapses_at_one() -> None:
    truths, _ = _scene(2)
    truths = [ImageTruth(t.path, t.height, t.width, t.boxes, t.classes, np.zeros(len(t.boxes), bool)) for t in truths]
    results = [
        {"image_id": i, "category_id": int(c), "bbox": [*b[:2], *(b[2:] - b[:2])], "score": 1.0}
        for i, t in enumerate(truths) for b, c in zip(t.boxes, t.classes)
    ]  # fmt: skip
    evals = image_evals(coco_ground_truth(truths, NAMES), results)
    for method in INTERVAL_METHODS:
        iv = bootstrap_map(evals, reps=200, method=method)
        # pycocotools' precision is tp / (tp + fp + eps): a resample with one object of a class scores 1 - 2e-16
        ends = (iv.map50_95.low, iv.map50_95.estimate, iv.map50_95.high, iv.map50.low, iv.map50.high)
        assert ends == pytest.approx((1.0,) * 5, rel=0, abs=1e-12)


def test_useless_detector_interval_holds_zero() -> None:
    truths, _ = _scene(3)
    results = [{"image_id": i, "category_id": c, "bbox": [170.0, 170.0, 3.0, 3.0], "score": 0.5 + c / 10}
               for i in range(len(truths)) for c in range(3)]  # fmt: skip  # far from every box
    evals = image_evals(coco_ground_truth(truths, NAMES), results)
    for method in INTERVAL_METHODS:
        iv = bootstrap_map(evals, reps=200, method=method)
        assert iv.map50_95.estimate == 0.0 and iv.map50_95.contains(0.0) and iv.map50.contains(0.0)


def test_paired_delta_of_a_model_with_itself_is_zero() -> None:
    truths, results = _scene(4)
    evals = image_evals(coco_ground_truth(truths, NAMES), results)
    for method in INTERVAL_METHODS:
        delta = paired_delta(evals, evals, reps=300, method=method)
        assert (delta.map50_95.estimate, delta.map50_95.low, delta.map50_95.high) == (0.0, 0.0, 0.0)
        assert (delta.map50.low, delta.map50.high) == (0.0, 0.0)
        assert not separable(delta) and not separable(delta, metric="map50")


def test_paired_delta_sees_a_clear_change_and_needs_the_same_images() -> None:
    truths, results = _scene(5, images=30)
    gt = coco_ground_truth(truths, NAMES)
    worse = [{**r, "bbox": [r["bbox"][0] + 0.3 * r["bbox"][2], *r["bbox"][1:]]} for r in results]  # boxes shifted
    delta = paired_delta(image_evals(gt, results), image_evals(gt, worse), reps=300)
    assert delta.map50_95.estimate == pytest.approx(score_coco(gt, worse)[0] - score_coco(gt, results)[0])
    assert delta.map50_95.high < 0 and separable(delta)
    fewer = image_evals(coco_ground_truth(truths[:-1], NAMES), [r for r in results if r["image_id"] < 29])
    with pytest.raises(ConfigError, match="same images"):
        paired_delta(image_evals(gt, results), fewer)
    with pytest.raises(ConfigError, match="unknown metric"):
        separable(delta, metric="map75")


def test_save_load_roundtrip(tmp_path: Path) -> None:
    truths, results = _scene(6, ties=True)
    evals = image_evals(coco_ground_truth(truths, NAMES), results)
    path = evals.save(tmp_path / "evals.npz")
    loaded = ImageEvals.load(path)
    assert loaded.n_images == evals.n_images == len(truths)
    for name in ("image_ids", "offsets", "det_image", "det_score", "det_matched", "det_ignored", "gt_count"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(evals, name))
    assert map_from_evals(loaded) == map_from_evals(evals)
    with np.load(path, allow_pickle=False) as data:  # plain arrays only
        assert all(data[k].dtype != object for k in data.files)


def test_select_equals_evaluating_only_those_images() -> None:
    truths, results = _scene(8, images=12, ties=True)
    keep = [1, 2, 5, 9, 10]
    sub_truths = [truths[i] for i in keep]
    sub_results = [{**r, "image_id": keep.index(r["image_id"])} for r in results if r["image_id"] in keep]
    expected = score_coco(coco_ground_truth(sub_truths, NAMES), sub_results)
    assert map_from_evals(image_evals(coco_ground_truth(truths, NAMES), results).select(keep)) == expected
    with pytest.raises(ConfigError, match="increase"):
        image_evals(coco_ground_truth(truths, NAMES), results).select([3, 1])


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    truths, results = _scene(9, images=20)
    evals = image_evals(coco_ground_truth(truths, NAMES), results)
    first = bootstrap_map(evals, reps=200, seed=1)
    assert bootstrap_map(evals, reps=200, seed=1) == first
    assert bootstrap_map(evals, reps=200, seed=2) != first
    assert first.map50_95.low <= first.map50_95.high and first.images == 20 and first.reps == 200
    assert resample_weights(20, reps=5, seed=0).sum(axis=1).tolist() == [20] * 5


def test_bad_arguments_are_config_errors() -> None:
    truths, results = _scene(0)
    evals = image_evals(coco_ground_truth(truths, NAMES), results)
    with pytest.raises(ConfigError, match="weights"):
        map_from_evals(evals, [1, 2])
    with pytest.raises(ConfigError, match="weights"):
        map_from_evals(evals, [-1] * evals.n_images)
    with pytest.raises(ConfigError, match="method"):
        bootstrap_map(evals, method="studentized")
    with pytest.raises(ConfigError, match="level"):
        bootstrap_map(evals, level=95)


def test_separable_reads_the_interval() -> None:
    assert separable(DeltaInterval(Interval(0.02, 0.01, 0.03), Interval(0.0, -0.01, 0.01), 100, 1000, 0.95, "basic"))
    assert not separable(DeltaInterval(Interval(0.0, -0.01, 0.01), Interval(0.02, 0.01, 0.03), 100, 1000, 0.95, "bca"))
