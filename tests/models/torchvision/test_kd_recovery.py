"""KD recovery of a pruned SSDlite that learns from its unpruned self (issue 22).

A trained SSD predicts some boxes beyond the image's edge; its postprocess clips them to the image, so they come
out with zero width or height. Used as distillation targets, the box coder's ``log(width / anchor width)``
turned them into infinite regression targets, and every KD recovery diverged in its first batch. The teacher
here is an SSDlite whose box regression pushes boxes three anchor widths to the right, so the boxes of the
anchors near the right edge land beyond it: the same zero-width boxes, without a trained teacher.
"""

from __future__ import annotations

import copy
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import paretodet.models._teacher_detections as detection_kd
from paretodet.compress import PruneSpec, prune_model
from paretodet.data import SynthSpec, load_dataset, read_truth, split_images, synthesize
from paretodet.errors import TrainingDiverged
from paretodet.models import KDSettings, TrainRecipe, get_family
from paretodet.models.torchvision._family import build_torchvision
from tests.models.torchvision.test_torchvision import calibrate_bn

IMGSZ = 160
SSD = "ssdlite320_mobilenet_v3_large"
SHIFT = 30.0  # regression bias on dx; the box coder divides it by 10: centres move 3 anchor widths right


def _runaway_teacher(names: tuple[str, ...]) -> object:
    torch.manual_seed(0)
    det = build_torchvision(SSD, names=names)
    calibrate_bn(det.model, IMGSZ)
    with torch.no_grad():
        for block in det.model.head.regression_head.module_list:  # type: ignore[union-attr]
            block[-1].bias[0::4] += SHIFT
    setattr(det.model, "paretodet_frozen_bn", True)  # noqa: B010 - as loaded from trained weights
    return det


def _map(det: object, data: object) -> float:
    from paretodet.objectives import evaluate_map

    family = get_family("torchvision")
    net = family.inference_module(det, imgsz=IMGSZ)  # type: ignore[arg-type]

    class _Runner:
        threads, family = 1, "torchvision"

        def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
            with torch.inference_mode():
                return [t.numpy() for t in net(torch.from_numpy(batch))]

    truths = [read_truth(data, p) for p in split_images(data, "val")]  # type: ignore[arg-type]
    return evaluate_map(_Runner(), truths, names=data.names, imgsz=IMGSZ).map50_95  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def setup(tiny_data: Path) -> tuple[object, object, torch.nn.Module]:
    data = load_dataset(tiny_data)
    teacher = _runaway_teacher(tuple(data.names))
    pruned, _report = prune_model(teacher.model, PruneSpec("l2", 0.3), imgsz=IMGSZ, family="torchvision")  # type: ignore[attr-defined]
    setattr(pruned, "paretodet_frozen_bn", True)  # noqa: B010
    return data, teacher, pruned


def _recover(setup: tuple[object, object, torch.nn.Module], workdir: Path) -> torch.nn.Module:
    data, teacher, pruned = setup
    family = get_family("torchvision")
    criterion = family.distillation(teacher, KDSettings(temperature=4.0, alpha=0.5, imgsz=IMGSZ))  # type: ignore[arg-type]
    recipe = TrainRecipe(epochs=1, lr=0.0005, batch=4, seed=0)
    return family.finetune(
        copy.deepcopy(pruned), data, imgsz=IMGSZ, recipe=recipe, workdir=workdir, criterion=criterion
    )  # type: ignore[arg-type]


def test_the_teacher_makes_zero_width_boxes_and_they_are_not_targets(setup: tuple[object, object, object]) -> None:
    from paretodet.models.torchvision._train import loss_batches

    data, teacher, _ = setup
    images = torch.stack(loss_batches(data, imgsz=IMGSZ, count=1)[0].images)  # type: ignore[arg-type]
    raw = detection_kd.TeacherDetections(teacher, imgsz=IMGSZ)  # type: ignore[arg-type]
    module_out = raw.module(images[:1])
    decoded = raw.family.decode([o.numpy() for o in module_out], conf=detection_kd.MIN_SCORE, iou=0.6, max_det=100)
    widths = decoded[:, 2] - decoded[:, 0]
    assert (widths == 0).any(), "the runaway teacher should clip some boxes to zero width"
    kept = raw(images[:1])[0]
    assert len(kept) and ((kept[:, 2:4] - kept[:, 0:2]) >= detection_kd.MIN_BOX_SIDE).all()


def test_kd_recovery_diverged_on_zero_width_teacher_boxes(
    setup: tuple[object, object, torch.nn.Module], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the fix (teacher boxes used as they come): the box term is infinite in the first batch."""
    monkeypatch.setattr(detection_kd, "encodable", lambda dets: dets)
    with pytest.raises(TrainingDiverged) as caught:
        _recover(setup, tmp_path)
    reason = str(caught.value)
    assert "box distillation term (kd_box) is inf" in reason
    assert "not the learning rate" in reason and "distill.alpha=0" in reason and "lower the learning rate" not in reason
    assert len(reason.splitlines()) == 1


@pytest.fixture(scope="module")
def val40(tmp_path_factory: pytest.TempPathFactory) -> object:
    """40 val images of the same classes: on the 8 of tiny_data, the runaway models score exactly 0 before and
    after (no chance match at all), which cannot show a change."""
    spec = SynthSpec(images=160, seed=5)  # the val split: 160 // 4 = 40 images
    return load_dataset(synthesize(tmp_path_factory.mktemp("val40"), spec, splits=("val",)))


def test_kd_recovery_of_the_pruned_model_is_finite_and_moves_its_map(
    setup: tuple[object, object, torch.nn.Module], val40: object, tmp_path: Path
) -> None:
    _data, teacher, pruned = setup
    before = _map(teacher.with_model(pruned, source="pruned", digest="p"), val40)  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on the training path either
        recovered = _recover(setup, tmp_path)
    losses = [float(line.split(",")[1]) for line in (tmp_path / "train_log.csv").read_text().splitlines()[1:]]
    assert losses and all(math.isfinite(v) for v in losses)
    after = _map(teacher.with_model(recovered, source="recovered", digest="r"), val40)  # type: ignore[attr-defined]
    assert after != before
