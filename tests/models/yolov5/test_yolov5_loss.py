"""YOLOv5's anchor-based loss and distillation on a tiny YOLOv5-shaped model (no shared data needed)."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest
import torch

from paretodet.errors import ConfigError
from paretodet.models import YoloV5DistillationLoss, YoloV5Gains, assign_targets, get_family
from paretodet.testing import tiny_yolov5


def _batch() -> dict[str, torch.Tensor]:
    """Two 64-px images with three labelled boxes (normalised xywh)."""
    torch.manual_seed(0)
    return {
        "img": torch.rand(2, 3, 64, 64),
        "batch_idx": torch.tensor([0.0, 1.0, 1.0]),
        "cls": torch.tensor([[0.0], [1.0], [2.0]]),
        "bboxes": torch.tensor([[0.5, 0.5, 0.3, 0.4], [0.3, 0.6, 0.2, 0.2], [0.7, 0.3, 0.5, 0.5]]),
    }


def _trainable(model: torch.nn.Module) -> torch.nn.Module:
    for param in model.parameters():
        param.requires_grad_(True)
    return model.train()


def test_loss_is_finite_and_decreases_on_two_images() -> None:
    model = _trainable(tiny_yolov5(names=("a", "b", "c")).model)
    batch = _batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(6):
        loss, items = model.loss(batch)  # type: ignore[operator]
        assert torch.isfinite(loss) and set(items) == {"box_loss", "obj_loss", "cls_loss"}
        assert all(float(v) > 0 for v in items.values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0]  # it learns
    assert all(b < a for a, b in itertools.pairwise(losses))


def test_assignment_takes_the_centre_cell_and_its_nearest_neighbours() -> None:
    anchors = torch.tensor([[2.0, 2.0], [20.0, 20.0]])  # grid cells
    near_corner = torch.tensor([[0.0, 1.0, 0.52, 0.58, 0.2, 0.2]])  # centre (5.2, 5.8) on a 10x10 grid
    got = assign_targets(near_corner, anchors, grid=(10, 10), anchor_t=4.0)
    assert got.anchor.tolist() == [0, 0, 0]  # the 20-cell anchor is 10x too large: not matched
    assert sorted(zip(got.gx.tolist(), got.gy.tolist())) == [(4, 5), (5, 5), (5, 6)]  # centre, left, below
    assert torch.all((got.box[:, :2] > -0.5) & (got.box[:, :2] < 1.5))  # offsets within YOLOv5's span
    assert got.cls.tolist() == [1, 1, 1] and torch.allclose(got.box[:, 2:], torch.tensor([[2.0, 2.0]]))
    empty = assign_targets(torch.zeros((0, 6)), anchors, grid=(10, 10), anchor_t=4.0)
    assert len(empty.image) == 0


def test_gains_come_from_the_checkpoint_hyp() -> None:
    model = tiny_yolov5(names=("a", "b")).model
    assert YoloV5Gains.from_model(model) == YoloV5Gains()  # no hyp: YOLOv5's defaults
    model.hyp = {"box": 0.1, "obj": 2.0, "lr0": 0.01}
    assert YoloV5Gains.from_model(model).box == 0.1 and YoloV5Gains.from_model(model).obj == 2.0


def test_distillation_is_zero_against_itself_and_pulls_towards_the_teacher() -> None:
    teacher = tiny_yolov5(names=("a", "b", "c")).model
    student = _trainable(copy.deepcopy(teacher))
    batch = _batch()
    same = YoloV5DistillationLoss(student, teacher, temperature=2.0, alpha=0.5)
    student.eval()  # batch-norm on running statistics, as the teacher: the same outputs
    _, items = same(student(batch["img"]), batch)
    student.train()
    assert float(items["kd_obj"]) < 1e-6 and float(items["kd_cls"]) < 1e-6 and float(items["kd_box"]) < 1e-9
    other = _trainable(tiny_yolov5(names=("a", "b", "c"), seed=1).model)
    kd = YoloV5DistillationLoss(other, teacher, temperature=2.0, alpha=1.0)
    optimizer = torch.optim.Adam(other.parameters(), lr=0.01)
    first = None
    for _ in range(5):
        loss, items = kd(other(batch["img"]), batch)
        first = first if first is not None else float(loss.detach())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(items["kd_obj"]) > 0 and float(loss.detach()) < first  # alpha=1: the teacher term alone, and it falls


def test_distillation_refuses_a_teacher_on_another_grid() -> None:
    student = tiny_yolov5(names=("a", "b")).model
    with pytest.raises(ConfigError, match="differ in nc"):
        YoloV5DistillationLoss(student, tiny_yolov5(names=("a", "b", "c")).model, temperature=2.0, alpha=0.5)
    with pytest.raises(ConfigError, match="temperature >= 1"):
        YoloV5DistillationLoss(student, student, temperature=0.5, alpha=0.5)


def test_the_family_trains_and_distils_with_the_ultralytics_trainer(tiny_data: Path, tmp_path: Path) -> None:
    from paretodet.data import SHAPE_CLASSES, load_dataset
    from paretodet.models import KDSettings, TrainRecipe

    family = get_family("yolov5")
    assert {"recover", "qat", "kd"} <= family.techniques and "student" not in family.techniques
    detector = tiny_yolov5(names=SHAPE_CLASSES)
    data = load_dataset(tiny_data)
    before = {k: v.clone() for k, v in detector.model.state_dict().items()}
    recipe = TrainRecipe(epochs=1, batch=4)
    trained = family.finetune(detector.model, data, imgsz=64, recipe=recipe, workdir=tmp_path / "plain")
    moved = [k for k, v in trained.state_dict().items() if k in before and not torch.equal(v, before[k])]
    assert moved and not trained.training  # trained weights, back in eval mode
    with torch.no_grad():
        out, _ = trained(torch.rand(1, 3, 64, 64))
    assert out.shape[1] == 4 + len(SHAPE_CLASSES) and torch.isfinite(out).all()
    criterion = family.distillation(detector, KDSettings(temperature=2.0, alpha=0.5, imgsz=64))
    distilled = family.finetune(
        detector.model, data, imgsz=64, recipe=recipe, workdir=tmp_path / "kd", criterion=criterion
    )
    assert not torch.equal(distilled.state_dict()["model.0.conv.weight"], trained.state_dict()["model.0.conv.weight"])


def test_a_model_that_computed_its_loss_saves_and_loads_safely(tmp_path: Path) -> None:
    from paretodet.models import load_detector

    detector = tiny_yolov5(names=("a", "b", "c"))
    _trainable(detector.model).loss(_batch())  # type: ignore[operator]  # Taylor pruning leaves model.criterion set
    detector.model.eval()
    family = get_family("yolov5")
    family.save(detector, tmp_path / "m.pt")
    loaded = family.load(str(tmp_path / "m.pt"))  # the restricted unpickler: no loss object in the file
    assert loaded.family == "yolov5" and loaded.train_imgsz == 64
    assert load_detector(tmp_path / "m.pt").params() == detector.params()


def test_qat_and_kd_recovery_build_for_a_yolov5_model(tiny_data: Path, tmp_path: Path) -> None:
    from paretodet.data import SHAPE_CLASSES, load_dataset
    from paretodet.search import build
    from paretodet.spaces import Candidate

    detector = tiny_yolov5(names=SHAPE_CLASSES)
    data = load_dataset(tiny_data)
    qat = build(Candidate.from_dict({"imgsz": 64, "quant.precision": "int8", "quant.qat_epochs": 1}), detector, data,
                workdir=tmp_path)  # fmt: skip
    assert qat.artifact.precision == "int8" and qat.artifact.family == "yolov5"
    kd = Candidate.from_dict(
        {"imgsz": 64, "prune.method": "l2", "prune.ratio": 0.3, "prune.finetune_epochs": 1, "distill.alpha": 0.5}
    )
    recovered = build(kd, detector, data, workdir=tmp_path)
    assert recovered.artifact.params < detector.params() and recovered.artifact.family == "yolov5"
