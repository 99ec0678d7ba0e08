"""Spaces fitted to the model they search: sizes around its training size, no one-shot structured pruning
beyond its family's limit, and a line for each thing left out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import optuna
import pytest

from paretodet.errors import ConfigError
from paretodet.spaces import (
    Knob,
    fit_to_model,
    load_space,
    parse_space,
    sample,
    sizes_around,
    space_to_dict,
    technique_notes,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
STRUCTURED = ("l1", "l2", "fpgm", "taylor")


def _draws(space, n: int = 300) -> list:  # type: ignore[no-untyped-def]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(sample(trial, space))
        study.tell(trial, 0.0)
    return out


def test_sizes_around_the_training_size() -> None:
    assert sizes_around(320, (0.5, 1.0)) == (160, 192, 224, 256, 288, 320)
    assert sizes_around(640, (0.5, 1.0)) == (320, 384, 448, 512, 576, 640)
    assert sizes_around(192, (0.5, 1.0)) == (96, 128, 160, 192)
    assert 800 in sizes_around(800, (0.5, 1.0)) and len(sizes_around(800, (0.5, 1.0))) <= 6
    assert sizes_around(300, (0.5, 1.0))[-1] == 288  # the nearest multiple of 32 stands for 300
    assert sizes_around(640, (0.5, 1.5))[-1] > 640 and 640 in sizes_around(640, (0.5, 1.5))


def test_a_space_built_for_a_640_px_model_samples_640() -> None:
    space, notes = fit_to_model(load_space("balanced"), train_imgsz=640, one_shot_limit=None, family="yolov5")
    assert space.base.imgsz == 640  # the original model is measured at its training size
    assert {c.imgsz for c in _draws(space, 200)} == {320, 384, 448, 512, 576, 640}
    assert "around the model's training size 640 px" in notes[0]
    unknown, notes = fit_to_model(load_space("quick"), train_imgsz=None, one_shot_limit=None, family="f")
    assert unknown.base.imgsz == 320 and "does not record its training size" in notes[0]


def test_a_space_file_keeps_its_own_sizes() -> None:
    fixed = load_space("balanced").with_knobs(Knob("imgsz", choices=(224, 256)))
    space, notes = fit_to_model(fixed, train_imgsz=640, one_shot_limit=None, family="f")
    assert next(k for k in space.knobs if k.name == "imgsz").choices == (224, 256) and notes == []


def test_no_one_shot_structured_pruning_above_the_family_limit_without_recovery() -> None:
    no_recovery = load_space("balanced").for_techniques({"fp16", "int8", "prune", "unstructured"})
    space, notes = fit_to_model(no_recovery, train_imgsz=320, one_shot_limit=0.1, family="f")
    draws = _draws(space)
    structured = [c for c in draws if c.prune.method in STRUCTURED]
    assert structured and all(c.prune.ratio <= 0.1 + 1e-9 for c in structured)
    assert all(c.prune.backbone_ratio == -1.0 and c.prune.neck_ratio == -1.0 for c in structured)
    assert any(c.prune.method == "level" and c.prune.ratio > 0.1 for c in draws)  # unstructured may stay
    assert "up to ratio 0.1" in notes[-1] and "no recovery epochs" in notes[-1]


def test_with_recovery_only_the_one_shot_trials_are_limited() -> None:
    space, _ = fit_to_model(load_space("balanced"), train_imgsz=320, one_shot_limit=0.2, family="f")
    names = [k.name for k in space.knobs]
    assert names.index("prune.finetune_epochs") == names.index("prune.method") + 1  # known before the ratios
    structured = [c for c in _draws(space) if c.prune.method in STRUCTURED]
    one_shot = [c for c in structured if c.prune.finetune_epochs == 0]
    recovered = [c for c in structured if c.prune.finetune_epochs > 0]
    assert one_shot and all(c.prune.ratio <= 0.2 + 1e-9 and c.prune.backbone_ratio == -1.0 for c in one_shot)
    assert any(c.prune.ratio > 0.2 for c in recovered)


def test_a_family_that_recovers_little_gets_a_recovered_limit_too() -> None:
    space, notes = fit_to_model(
        load_space("balanced"), train_imgsz=640, one_shot_limit=0.05, recovered_limit=0.1, family="yolov5"
    )
    structured = [c for c in _draws(space, 300) if c.prune.method in STRUCTURED]
    one_shot = [c for c in structured if c.prune.finetune_epochs == 0]
    recovered = [c for c in structured if c.prune.finetune_epochs > 0]
    assert one_shot and all(c.prune.ratio <= 0.05 + 1e-9 for c in one_shot)
    assert recovered and all(c.prune.ratio <= 0.1 + 1e-9 for c in recovered)
    assert all(c.prune.backbone_ratio in (-1.0, 0.0) and c.prune.neck_ratio == -1.0 for c in recovered)
    assert any("with recovery epochs sampled up to ratio 0.1 only: yolov5 models do not recover" in n for n in notes)


def test_a_limit_below_the_range_is_the_ratio_itself() -> None:
    no_recovery = load_space("quick").for_techniques({"fp16", "int8", "prune"})
    space, _ = fit_to_model(no_recovery, train_imgsz=320, one_shot_limit=0.05, family="f")
    assert {c.prune.ratio for c in _draws(space, 100) if c.prune.method in STRUCTURED} == {0.05}


def test_technique_notes_name_what_is_left_out() -> None:
    notes = technique_notes(load_space("balanced"), {"fp16", "int8", "prune", "recover", "qat", "kd"}, "yolov5")
    assert any(n.startswith("student not sampled (yolov5 models lack it): distill.student_width") for n in notes)
    assert not any(n.startswith("qat") for n in notes)


def test_around_model_in_a_space_file(tmp_path: Path) -> None:
    space = parse_space({"knobs": {"imgsz": {"around_model": [0.5, 1.0]}}}, where="f.yaml")
    assert space.knobs[0].around_model == (0.5, 1.0)
    assert space_to_dict(space) == {"knobs": {"imgsz": {"around_model": [0.5, 1.0]}}}
    for bad, message in (
        ({"around_model": [0.5]}, "must be \\[low, high\\]"),
        ({"around_model": [1.2, 2.0]}, "0 < low <= 1 <= high"),
        ({"around_model": [0.5, 1.0], "choices": [320]}, "not both"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_space({"knobs": {"imgsz": bad}}, where="f.yaml")
    with pytest.raises(ConfigError, match="imgsz only"):
        parse_space({"knobs": {"quant.calib_images": {"around_model": [0.5, 1.0]}}}, where="f.yaml")


@pytest.mark.filterwarnings("ignore:Fixed parameter prune.ratio")
def test_a_queued_value_is_sampled_as_queued_limits_or_not() -> None:
    # so the reference probes must ask for values within the limits themselves (search.study._probes does)
    space, _ = fit_to_model(load_space("balanced"), train_imgsz=320, one_shot_limit=0.2, family="f")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    queued = {"prune.method": "l2", "prune.finetune_epochs": 0, "prune.ratio": 0.3}
    for limited in (False, True):
        study.enqueue_trial(queued)
        assert sample(study.ask(), space, limited=limited).prune.ratio == 0.3


def test_a_family_with_a_fitted_rate_centres_the_recovery_lr_on_it() -> None:
    from paretodet.models import get_family

    rate = get_family("yolov5").recovery_lr(80)
    assert rate == pytest.approx(0.002 * 5 / (4 + 80), abs=1e-6)  # the YOLOv5 recipe's fit: 1.19e-4 on COCO
    preset = next(k for k in load_space("balanced").knobs if k.name == "prune.lr")
    space, notes = fit_to_model(
        load_space("balanced"),
        train_imgsz=640,
        one_shot_limit=0.05,
        recovered_limit=0.1,
        family="yolov5",
        recovery_lr=rate,
    )
    knob = next(k for k in space.knobs if k.name == "prune.lr")
    assert knob.log and knob.low < rate < knob.high  # type: ignore[operator]
    assert knob.high / knob.low == pytest.approx(preset.high / preset.low, rel=0.01)  # type: ignore[operator]
    assert (knob.low * knob.high) ** 0.5 == pytest.approx(rate, rel=0.01)  # type: ignore[operator]
    assert knob.high < preset.low * 10  # type: ignore[operator]
    assert space.base.prune.lr == rate  # what the recovery probes train at
    lrs = [c.prune.lr for c in _draws(space) if c.prune.finetune_epochs > 0]
    assert lrs and all(knob.low <= lr <= knob.high for lr in lrs)  # type: ignore[operator]
    assert any(n.startswith("prune.lr 2.66e-05-0.000532 (the space's 0.0001-0.002 centred on 0.000119)") for n in notes)
    choices = load_space("balanced").with_knobs(
        dataclasses.replace(preset, choices=(1e-4, 1e-3), low=None, high=None, log=False)
    )
    space, _ = fit_to_model(choices, train_imgsz=640, one_shot_limit=None, family="yolov5", recovery_lr=rate)
    assert next(k for k in space.knobs if k.name == "prune.lr").choices == (3.76e-05, 0.000376)


def test_a_family_without_a_fitted_rate_keeps_the_preset_recovery_lr() -> None:
    from paretodet.models import get_family

    assert get_family("ultralytics").recovery_lr(80) is None and get_family("torchvision").recovery_lr(80) is None
    preset = load_space("balanced")
    space, notes = fit_to_model(preset, train_imgsz=640, one_shot_limit=0.2, family="ultralytics", recovery_lr=None)
    assert next(k for k in space.knobs if k.name == "prune.lr") == next(k for k in preset.knobs if k.name == "prune.lr")
    assert space.base.prune.lr == preset.base.prune.lr and not any("prune.lr" in n for n in notes)
    fixed = preset.with_fixed({"prune.lr": 0.001})  # a space that does not sample it keeps its own rate
    space, notes = fit_to_model(fixed, train_imgsz=640, one_shot_limit=None, family="yolov5", recovery_lr=1.19e-4)
    assert space.base.prune.lr == 0.001 and not any("prune.lr" in n for n in notes)
