from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from paretodet.data import load_data_yaml, write_resolved_yaml
from paretodet.errors import ConfigError
from paretodet.models import (
    FinetuneRecipe,
    StudentSpec,
    demo_teacher_path,
    distillation_loss,
    distillation_terms,
    finetune,
    load_detector,
    make_student,
    training_batches,
)


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def batch(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    data_yaml = write_resolved_yaml(load_data_yaml(tiny_data), tmp_path_factory.mktemp("kd") / "data.yaml")
    return training_batches(data_yaml, imgsz=64, count=1, batch=8)[0]


def _with_hyp(*models: torch.nn.Module) -> None:
    from ultralytics.cfg import get_cfg

    for model in models:
        model.args = get_cfg()


def test_half_width_student_of_the_demo_teacher() -> None:
    teacher = load_detector(demo_teacher_path()).model
    scratch = make_student(teacher, StudentSpec(width=0.5, init="scratch"))
    warm = make_student(teacher, StudentSpec(width=0.5, init="teacher"))
    assert 0.25 * _params(teacher) < _params(scratch) == _params(warm) < 0.4 * _params(teacher)
    assert scratch.model[-1].nc == teacher.model[-1].nc and scratch.names == teacher.names
    first, source = warm.model[0].conv.weight, teacher.model[0].conv.weight  # filters chosen from the teacher's
    assert all(any(torch.equal(row, other) for other in source) for row in first)
    assert not torch.equal(scratch.model[0].conv.weight, first)


def test_student_yaml_with_other_classes_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    import ultralytics

    cfg = yaml.safe_load((Path(ultralytics.__file__).parent / "cfg/models/v8/yolov8.yaml").read_text())
    cfg["nc"] = 3
    bad = tmp_path / "yolov8n-three.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=r"has nc=3 but the teacher has 6 classes"):
        make_student(load_detector(tiny_model).model, StudentSpec(yaml=bad))
    with pytest.raises(ConfigError, match="student YAML not found"):
        make_student(load_detector(tiny_model).model, StudentSpec(yaml=tmp_path / "none.yaml"))


def test_alpha_zero_is_plain_training_loss(tiny_model: Path, batch: dict) -> None:
    from ultralytics.utils.loss import v8DetectionLoss

    teacher = load_detector(tiny_model).model
    student = make_student(teacher, StudentSpec(width=0.5, init="scratch")).train()
    _with_hyp(student, teacher)
    preds = student(batch["img"])
    plain, _ = v8DetectionLoss(student)(preds, batch)
    kd0, items = distillation_loss(student, teacher, temperature=4.0, alpha=0.0)(preds, batch)
    assert torch.equal(kd0, plain.sum()) and float(items["kd_cls"]) == 0.0


def test_kd_term_is_positive_and_training_on_it_closes_the_gap(tiny_model: Path, batch: dict) -> None:
    teacher = load_detector(tiny_model).model
    student = make_student(teacher, StudentSpec(width=0.5, init="scratch")).train()
    _with_hyp(student, teacher)
    criterion = distillation_loss(student, teacher, temperature=4.0, alpha=1.0)
    teacher_out = criterion.parse_output(criterion.teacher(batch["img"]))

    def gap() -> float:
        with torch.no_grad():
            cls_term, box_term = distillation_terms(
                student(batch["img"]), teacher_out, temperature=4.0, reg_max=criterion.reg_max
            )
        return float(cls_term + box_term)

    before = gap()
    assert before > 0
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-3)
    for _ in range(15):
        optimizer.zero_grad()
        loss, items = criterion(student(batch["img"]), batch)
        loss.backward()
        optimizer.step()
    assert float(items["kd_cls"]) > 0 and float(items["kd_box"]) > 0
    assert gap() < 0.8 * before


def test_one_epoch_of_distillation_through_the_trainer(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    teacher = load_detector(tiny_model).model
    student = make_student(teacher, StudentSpec(width=0.5, init="scratch"))
    calls: list[float] = []

    def criterion(model: torch.nn.Module) -> object:
        inner = distillation_loss(model, teacher, temperature=2.0, alpha=0.5)

        def run(preds: object, batch: dict) -> tuple[torch.Tensor, dict]:
            loss, items = inner(preds, batch)
            calls.append(float(items["kd_cls"]))
            return loss, items

        return run

    trained = finetune(
        student,
        write_resolved_yaml(load_data_yaml(tiny_data), tmp_path / "data.yaml"),
        imgsz=64,
        recipe=FinetuneRecipe(epochs=1, lr=1e-3),
        workdir=tmp_path / "kd",
        criterion=criterion,
    )
    assert calls and all(c > 0 for c in calls)  # the KD loss, not the model's own, trained the student
    assert _params(trained) == _params(student)
    assert any(not torch.equal(a, b) for a, b in zip(trained.state_dict().values(), student.state_dict().values()))
