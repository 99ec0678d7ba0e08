"""Distillation across families: a torchvision teacher teaches a YOLO student, a YOLO teacher an SSDlite, and
the pairs that cannot work are refused in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from paretodet.data import SHAPE_CLASSES, load_data_yaml
from paretodet.errors import ConfigError
from paretodet.models import KDSettings, StudentSpec, TrainRecipe, get_family, load_detector
from paretodet.models._teacher_detections import TeacherDetections, at_size
from paretodet.models.torchvision._family import build_torchvision
from paretodet.models.torchvision._train import loss_batches
from paretodet.models.ultralytics._xkd import cross_family_loss, teacher_targets

IMGSZ = 128
SSD = "ssdlite320_mobilenet_v3_large"


@pytest.fixture(scope="module")
def ssd_teacher() -> object:
    torch.manual_seed(0)
    return build_torchvision(SSD, names=SHAPE_CLASSES, imgsz=IMGSZ)


def _yolo_student(tiny_model: Path) -> torch.nn.Module:
    yolo = load_detector(str(tiny_model))
    return get_family("ultralytics").make_student(yolo, StudentSpec(width=1.0, depth=1.0, init="scratch"))


def test_teacher_detections_are_kept_per_image(ssd_teacher: object, tiny_data: Path) -> None:
    images = torch.stack(loss_batches(load_data_yaml(tiny_data), imgsz=IMGSZ, count=1)[0].images)
    teacher = TeacherDetections(ssd_teacher, imgsz=IMGSZ)  # type: ignore[arg-type]
    first = teacher(images)
    again = teacher(images)
    teacher(images.flip(-1))  # another augmentation of the same images: new passes
    assert teacher.stats()["teacher_passes"] == 2 * len(images) and teacher.stats()["cache_hits"] == len(images)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


def test_the_teacher_sees_images_at_its_own_training_size(tiny_data: Path) -> None:
    """A teacher trained at 128 px teaching at 64: its detections come back in the student's pixels."""
    big = build_torchvision(SSD, names=SHAPE_CLASSES, imgsz=IMGSZ)
    images = torch.stack(loss_batches(load_data_yaml(tiny_data), imgsz=IMGSZ // 2, count=1)[0].images)
    teacher = TeacherDetections(big, imgsz=IMGSZ // 2)  # type: ignore[arg-type]
    assert teacher.imgsz == IMGSZ
    dets = teacher(images)
    assert sum(len(d) for d in dets) > 0 and all((d[:, :4] <= IMGSZ // 2 + 1).all() for d in dets)
    square, scale = at_size(torch.zeros(3, 40, 64), 128)
    assert tuple(square.shape) == (3, 128, 128) and scale == 2.0
    assert float(square[0, 100, 10]) == pytest.approx(114 / 255, abs=1e-3)  # padded at the bottom


def test_teacher_targets_are_an_ultralytics_batch() -> None:
    dets = [np.zeros((0, 6)), np.array([[8, 16, 40, 48, 0.8, 1], [0, 0, 64, 32, 0.3, 4]])]
    t = teacher_targets(dets, (64, 128), torch.device("cpu"))
    assert t["batch_idx"].tolist() == [1.0, 1.0] and t["cls"].view(-1).tolist() == [1.0, 4.0]
    assert t["bboxes"][0].tolist() == pytest.approx([24 / 128, 32 / 64, 32 / 128, 32 / 64])


def test_a_yolo_student_learns_from_a_torchvision_teacher(
    ssd_teacher: object, tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    """One epoch through the Ultralytics trainer; the loss carries the teacher's term and the teacher ran."""
    family = get_family("ultralytics")
    student = _yolo_student(tiny_model)
    before = {k: v.clone() for k, v in student.state_dict().items()}
    made: list[object] = []
    criterion = family.distillation(ssd_teacher, KDSettings(temperature=2.0, alpha=0.5, imgsz=IMGSZ))  # type: ignore[arg-type]

    def keep(model: torch.nn.Module) -> object:
        made.append(criterion(model))
        return made[-1]

    data = load_data_yaml(tiny_data)
    trained = family.finetune(
        student, data, imgsz=IMGSZ, recipe=TrainRecipe(epochs=1, batch=4), workdir=tmp_path, criterion=keep
    )
    assert any(not torch.equal(v, before[k]) for k, v in trained.state_dict().items())
    stats = made[0].stats()  # type: ignore[attr-defined]
    assert stats["teacher_passes"] >= 8  # every training image went through the teacher
    # on one batch, the total differs from the task loss by the teacher's term, which is positive
    loss_fn: object = made[0]
    batch = family.loss_batches(data, imgsz=IMGSZ, count=1)[0]
    preds = trained.train()(batch["img"])
    total, items = loss_fn.loss(loss_fn.parse_output(preds), batch)  # type: ignore[attr-defined]
    assert float(items["kd_cls"]) > 0 and float(items["kd_box"]) >= 0
    task, _ = super(type(loss_fn), loss_fn).loss(loss_fn.parse_output(preds), batch)  # type: ignore[misc]
    assert float(total) != pytest.approx(float(task.sum()))


def test_an_ssdlite_student_learns_from_a_yolo_teacher_from_scratch(
    tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    """The SSDlite student starts from random weights (the family's student) and trains with the teacher."""
    tv = get_family("torchvision")
    searched = build_torchvision(SSD, names=SHAPE_CLASSES, imgsz=IMGSZ)
    student = tv.make_student(searched, StudentSpec(width=1.0, depth=1.0, init="scratch", seed=1))
    assert any(
        not torch.equal(a, b) for a, b in zip(student.state_dict().values(), searched.model.state_dict().values())
    )
    teacher = load_detector(str(tiny_model))
    made: list[object] = []
    criterion = tv.distillation(teacher, KDSettings(temperature=2.0, alpha=0.5, imgsz=IMGSZ))

    def keep(model: torch.nn.Module) -> object:
        made.append(criterion(model))
        return made[-1]

    tv.finetune(
        student,
        load_data_yaml(tiny_data),
        imgsz=IMGSZ,
        recipe=TrainRecipe(epochs=2, batch=4),
        workdir=tmp_path,
        criterion=keep,
    )
    log = (tmp_path / "train_log.csv").read_text().splitlines()
    assert len(log) == 3
    stats = made[0].stats()  # type: ignore[attr-defined]
    assert stats["teacher_passes"] + stats["cache_hits"] == 16 and stats["cache_hits"] > 0  # flips repeat


def test_pairs_that_cannot_work_are_refused_in_one_line(ssd_teacher: object, tiny_model: Path) -> None:
    yolo = load_detector(str(tiny_model))
    with pytest.raises(ConfigError, match="feature_weight=0") as caught:
        get_family("ultralytics").distillation(
            ssd_teacher,
            KDSettings(temperature=2.0, alpha=0.5, imgsz=IMGSZ, feature_weight=1.0),  # type: ignore[arg-type]
        )
    assert len(str(caught.value).splitlines()) == 1
    with pytest.raises(ConfigError, match="student_width=1") as caught:
        get_family("torchvision").make_student(ssd_teacher, StudentSpec(width=0.5))  # type: ignore[arg-type]
    assert len(str(caught.value).splitlines()) == 1
    other = build_torchvision(SSD, names=("a", "b"), imgsz=IMGSZ)
    with pytest.raises(ConfigError, match="same classes") as caught:
        cross_family_loss(_yolo_student(tiny_model), other, temperature=2.0, alpha=0.5, imgsz=IMGSZ)
    assert len(str(caught.value).splitlines()) == 1
    with pytest.raises(ConfigError, match="YOLOv5 teacher") as caught:
        get_family("yolov5").distillation(ssd_teacher, KDSettings(temperature=2.0, alpha=0.5, imgsz=IMGSZ))  # type: ignore[arg-type]
    assert len(str(caught.value).splitlines()) == 1
    del yolo
