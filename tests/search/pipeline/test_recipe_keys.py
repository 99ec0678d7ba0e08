"""A family's training recipe and the trainer's package versions are part of every trained stage's cache key
(issue 35, defect 7): a study resumed after a recipe change or a trainer upgrade trains again, an unchanged one
reuses its checkpoints."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import torch
import ultralytics

from paretodet.data import load_data_yaml
from paretodet.models import TrainRecipe, get_family, list_families, load_detector
from paretodet.models.torchvision._family import TorchvisionFamily
from paretodet.models.ultralytics._family import UltralyticsFamily
from paretodet.models.yolov5._family import YoloV5Family
from paretodet.search import build
from paretodet.search.pipeline._pipeline import _qat_salt
from paretodet.search.pipeline._stages import _recipe_salt
from paretodet.spaces import Candidate

RUN = TrainRecipe(epochs=1)
RECOVERED = {"imgsz": 64, "prune.method": "l2", "prune.ratio": 0.3, "prune.finetune_epochs": 1}


def _detector_of(family: str) -> Any:
    """What ``_qat_salt`` reads of a detector: its family."""
    return type("Stub", (), {"family": family})()


def _patch_recipe(monkeypatch: pytest.MonkeyPatch, family: Any, **changes: Any) -> None:
    monkeypatch.setattr(family, "recipe", dataclasses.replace(family.recipe, **changes))


@pytest.mark.parametrize("name", list_families())
def test_each_family_states_its_recipe_and_trainer_versions_as_data(name: str) -> None:
    how = get_family(name).training_recipe()
    assert json.loads(json.dumps(how)) == json.loads(json.dumps(how, sort_keys=True))  # JSON-able, plain data
    assert how["versions"]["torch"] == str(torch.__version__)
    assert how["recipe"], f"{name}: a family that trains states how"


@pytest.mark.parametrize(
    ("name", "family", "change"),
    [
        ("ultralytics", UltralyticsFamily, {"lr": 1e-3}),
        ("ultralytics", UltralyticsFamily, {"warmup_epochs": 1.0}),
        ("ultralytics", UltralyticsFamily, {"optimizer": "SGD"}),
        ("yolov5", YoloV5Family, {"lr_fit": (0.02, 4.0)}),
        ("yolov5", YoloV5Family, {"warmup_epochs": 3.0}),
        ("torchvision", TorchvisionFamily, {"lr": 0.02}),
        ("torchvision", TorchvisionFamily, {"warmup_iters": 100}),
    ],
)
def test_a_changed_recipe_changes_the_trained_stages_key(
    name: str, family: type, change: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _recipe_salt(name, RUN)
    assert _recipe_salt(name, RUN) == before  # stable: an unchanged recipe keeps its key
    _patch_recipe(monkeypatch, family, **change)
    assert _recipe_salt(name, RUN) != before
    monkeypatch.undo()
    assert _recipe_salt(name, RUN) == before


@pytest.mark.parametrize(
    ("name", "package"), [("ultralytics", ultralytics), ("yolov5", ultralytics), ("ultralytics", torch)]
)
def test_another_trainer_version_changes_the_trained_stages_key(
    name: str, package: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _recipe_salt(name, RUN)
    monkeypatch.setattr(package, "__version__", f"{package.__version__}.post1")
    assert _recipe_salt(name, RUN) != before


def test_another_torchvision_version_changes_the_torchvision_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision

    before = _recipe_salt("torchvision", RUN)
    monkeypatch.setattr(torchvision, "__version__", "0.0.1")
    assert _recipe_salt("torchvision", RUN) != before


def test_the_runs_batch_and_seed_are_keyed_too() -> None:
    base = _recipe_salt("ultralytics", RUN)
    assert _recipe_salt("ultralytics", TrainRecipe(epochs=1, batch=8)) != base
    assert _recipe_salt("ultralytics", TrainRecipe(epochs=1, seed=1)) != base
    assert _recipe_salt("ultralytics", TrainRecipe(epochs=1, device="cuda")) == base  # the device is not keyed


def test_qat_keys_its_trainer_settings_and_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    det = _detector_of("ultralytics")
    qat = Candidate.from_dict({"imgsz": 64, "quant.precision": "int8", "quant.qat_epochs": 1})
    before = _qat_salt(qat, det)
    assert before and _qat_salt(qat, det) == before and _qat_salt(qat.replace({"quant.qat_epochs": 0}), det) == ""
    monkeypatch.setattr(ultralytics, "__version__", "0.0.1")
    assert _qat_salt(qat, det) != before
    monkeypatch.undo()
    monkeypatch.setattr(UltralyticsFamily, "qat_lr", 3e-5)
    assert _qat_salt(qat, det) != before
    monkeypatch.undo()
    _patch_recipe(monkeypatch, UltralyticsFamily, momentum=0.8)
    assert _qat_salt(qat, det) != before


def test_the_trainers_read_the_family_recipe(tiny_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = load_data_yaml(tiny_data)
    _patch_recipe(monkeypatch, UltralyticsFamily, lr=1e-3, warmup_epochs=2.0, momentum=0.8)
    ultra = UltralyticsFamily().trainer_recipe(RUN, data)
    assert (ultra.lr, ultra.warmup_epochs, ultra.momentum) == (1e-3, 2.0, 0.8)
    seen: dict[str, Any] = {}
    monkeypatch.setattr("paretodet.models.torchvision._train.finetune", lambda *a, **kw: seen.update(kw))
    _patch_recipe(monkeypatch, TorchvisionFamily, lr=0.02)
    TorchvisionFamily().finetune(torch.nn.Identity(), data, imgsz=64, recipe=RUN, workdir=Path("unused"))
    assert seen["settings"] is TorchvisionFamily.recipe and seen["settings"].lr == 0.02


def test_recovery_trains_again_after_a_recipe_change_or_a_trainer_upgrade(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    cand = Candidate.from_dict(RECOVERED)
    first = build(cand, det, data, workdir=tmp_path)
    assert first.cache_hits == ()
    assert build(cand, det, data, workdir=tmp_path).cache_hits[:2] == ("prune", "recover")  # unchanged: reused
    _patch_recipe(monkeypatch, UltralyticsFamily, warmup_epochs=0.5)
    changed = build(cand, det, data, workdir=tmp_path)
    assert changed.cache_hits == ("prune",)  # pruning trains nothing: reused; recovery trains again
    assert len(list((tmp_path / "cache" / "recover").glob("*/model.pt"))) == 2
    monkeypatch.undo()
    assert build(cand, det, data, workdir=tmp_path).cache_hits[:2] == ("prune", "recover")
    monkeypatch.setattr(ultralytics, "__version__", f"{ultralytics.__version__}.post1")
    upgraded = build(cand, det, data, workdir=tmp_path)
    assert upgraded.cache_hits == ("prune",) and upgraded.artifact.path != first.artifact.path
    assert len(list((tmp_path / "cache" / "recover").glob("*/model.pt"))) == 3
