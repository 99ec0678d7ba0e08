from __future__ import annotations

from pathlib import Path

import pytest
import torch

from paretodet.data import load_data_yaml, write_resolved_yaml
from paretodet.errors import ConfigError
from paretodet.models import (
    FinetuneRecipe,
    StudentSpec,
    attach_feature_projectors,
    cwd_loss,
    detach_feature_projectors,
    distillation_loss,
    finetune,
    load_detector,
    make_student,
)
from paretodet.models.ultralytics._features import PROJECTORS, neck_channels


def test_cwd_is_zero_for_equal_maps_and_ignores_a_per_channel_shift() -> None:
    feats = [torch.randn(2, 4, 6, 6), torch.randn(2, 4, 3, 3)]
    assert float(cwd_loss(feats, feats)) == 0.0
    shifted = [f + torch.randn(1, 4, 1, 1) for f in feats]  # same spatial distribution per channel
    assert float(cwd_loss(shifted, feats)) == pytest.approx(0.0, abs=1e-5)
    other = [torch.randn_like(f) for f in feats]
    assert float(cwd_loss(other, feats)) > 0.1
    with pytest.raises(ConfigError, match="feature shapes differ"):
        cwd_loss([torch.randn(1, 2, 3, 3)], [torch.randn(1, 4, 3, 3)])


def test_projectors_map_student_channels_to_the_teachers(tiny_model: Path) -> None:
    teacher = load_detector(tiny_model).model
    student = make_student(teacher, StudentSpec(width=0.5))
    attach_feature_projectors(student, teacher)
    convs = getattr(student, PROJECTORS)
    pairs = [(c.in_channels, c.out_channels) for c in convs]
    assert pairs == list(zip(neck_channels(student), neck_channels(teacher), strict=True))
    assert all(s < t for s, t in pairs)
    detach_feature_projectors(student)
    assert not hasattr(student, PROJECTORS)


def test_feature_distillation_needs_projectors(tiny_model: Path) -> None:
    from ultralytics.cfg import get_cfg

    teacher = load_detector(tiny_model).model
    student = make_student(teacher, StudentSpec(width=0.5))
    student.args = get_cfg()
    with pytest.raises(ConfigError, match="attach_feature_projectors"):
        distillation_loss(student, teacher, temperature=2.0, alpha=0.5, feature_weight=1.0)


def test_one_epoch_of_feature_distillation_trains_projectors_and_drops_them(
    tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    teacher = load_detector(tiny_model).model
    student = make_student(teacher, StudentSpec(width=0.5))
    attach_feature_projectors(student, teacher)
    before = [p.detach().clone() for p in getattr(student, PROJECTORS).parameters()]
    seen: list[float] = []
    trained_projectors: list[torch.nn.Module] = []

    def criterion(model: torch.nn.Module) -> object:
        inner = distillation_loss(model, teacher, temperature=2.0, alpha=0.5, feature_weight=1.0)
        trained_projectors.append(inner.projectors)  # the training model's own, stepped by the optimizer

        def run(preds: object, batch: dict) -> tuple[torch.Tensor, dict]:
            loss, items = inner(preds, batch)
            seen.append(float(items["kd_feat"]))
            return loss, items

        return run

    trained = finetune(
        student,
        write_resolved_yaml(load_data_yaml(tiny_data), tmp_path / "data.yaml"),
        imgsz=64,
        recipe=FinetuneRecipe(epochs=1, lr=1e-3),
        workdir=tmp_path / "cwd",
        criterion=criterion,
    )
    assert seen and all(feat > 0 for feat in seen)
    after = list(trained_projectors[0].parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))  # the optimizer saw them
    assert not hasattr(trained, PROJECTORS)
    detach_feature_projectors(student)
    assert trained.state_dict().keys() == student.state_dict().keys()
