"""Distillation through detections: a YOLO teacher teaches a torchvision SSDlite student."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from paretodet.data import SHAPE_CLASSES, load_data_yaml
from paretodet.errors import ConfigError
from paretodet.models import KDSettings, TrainRecipe, demo_teacher_path, get_family, load_detector
from paretodet.models._teacher_detections import TeacherDetections
from paretodet.models.torchvision._family import build_torchvision
from paretodet.models.torchvision._kd import DetectionKD, softened_targets
from paretodet.models.torchvision._train import _class_to_label, _loss, loss_batches

IMGSZ = 160
SSD = "ssdlite320_mobilenet_v3_large"


@pytest.fixture(scope="module")
def teacher() -> object:
    det = load_detector(demo_teacher_path())
    assert tuple(det.names) == tuple(SHAPE_CLASSES)
    return det


def _student() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_torchvision(SSD, names=SHAPE_CLASSES).model


def test_softened_targets_flatten_towards_half_with_temperature() -> None:
    sharp = softened_targets(torch.tensor([0.95]), torch.tensor([1]), 4, 1.0)
    soft = softened_targets(torch.tensor([0.95]), torch.tensor([1]), 4, 4.0)
    assert torch.allclose(sharp.sum(1), torch.ones(1)) and torch.allclose(soft.sum(1), torch.ones(1))
    assert float(sharp[0, 1]) == pytest.approx(0.95, abs=1e-4)
    assert 0.5 < float(soft[0, 1]) < float(sharp[0, 1]) and float(soft[0, 2]) == 0.0


def test_the_teacher_detects_through_its_family(teacher: object, tiny_data: Path) -> None:
    batch = loss_batches(load_data_yaml(tiny_data), imgsz=IMGSZ, count=1)[0]
    dets = TeacherDetections(teacher, imgsz=IMGSZ)(torch.stack(batch.images))  # type: ignore[arg-type]
    assert len(dets) == len(batch.images) and sum(len(d) for d in dets) > 0
    assert all(d.shape[1] == 6 and (d[:, 4] >= 0.05).all() and (d[:, :4] <= IMGSZ + 1).all() for d in dets)


def test_training_on_the_teachers_detections_closes_the_gap(teacher: object, tiny_data: Path) -> None:
    data = load_data_yaml(tiny_data)
    batch = loss_batches(data, imgsz=IMGSZ, count=1)[0]
    student = _student()
    lut = _class_to_label(student, data.nc)
    kd = DetectionKD(student, teacher, temperature=2.0, alpha=1.0, imgsz=IMGSZ)  # type: ignore[arg-type]
    images = torch.stack(batch.images)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)
    student.train()
    gaps = []
    for _ in range(12):
        loss, parts = kd(images, lambda: _loss(student, batch, lut), lut)
        gaps.append(parts["kd_cls"] + parts["kd_box"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert gaps[0] > 0 and gaps[-1] < 0.7 * gaps[0]
    kd.remove()
    assert not student.head._forward_hooks


def test_a_torchvision_family_finetune_with_a_yolo_teacher(teacher: object, tiny_data: Path, tmp_path: Path) -> None:
    family = get_family("torchvision")
    student = _student()
    before = {k: v.clone() for k, v in student.state_dict().items()}
    criterion = family.distillation(teacher, KDSettings(temperature=2.0, alpha=0.5, imgsz=IMGSZ))  # type: ignore[arg-type]
    trained = family.finetune(
        student,
        load_data_yaml(tiny_data),
        imgsz=IMGSZ,
        recipe=TrainRecipe(epochs=1, batch=4),
        workdir=tmp_path,
        criterion=criterion,
    )
    assert any(not torch.equal(v, before[k]) for k, v in trained.state_dict().items())
    assert not trained.head._forward_hooks  # the criterion let go of the student


def test_students_and_teachers_that_cannot_pair_say_so(teacher: object) -> None:
    rcnn = build_torchvision("fasterrcnn_mobilenet_v3_large_320_fpn", names=SHAPE_CLASSES)
    tv = get_family("torchvision")
    assert "kd" not in tv.supported_techniques(rcnn)
    assert "kd" in tv.supported_techniques(build_torchvision(SSD, names=SHAPE_CLASSES))
    with pytest.raises(ConfigError, match="SSD-style student"):
        DetectionKD(rcnn.model, teacher, temperature=2.0, alpha=0.5, imgsz=IMGSZ)  # type: ignore[arg-type]
    # an Ultralytics student learns from any family's detections (models.ultralytics._xkd)
    assert callable(get_family("ultralytics").distillation(rcnn, KDSettings(temperature=2.0, alpha=0.5, imgsz=IMGSZ)))
    with pytest.raises(ConfigError, match="feature_weight=0"):
        tv.distillation(teacher, KDSettings(temperature=2.0, alpha=0.5, imgsz=IMGSZ, feature_weight=1.0))  # type: ignore[arg-type]
