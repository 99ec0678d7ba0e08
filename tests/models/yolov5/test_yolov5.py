"""Original YOLOv5 checkpoints on real COCO photos (../shared; skipped where it is absent)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch

from paretodet.errors import ModelError
from paretodet.models import load_detector
from tests.conftest import SHARED

V5 = SHARED / "models" / "yolov5n-coco.pt"
COCO128 = SHARED / "data" / "coco128" / "data.yaml"
needs_shared = pytest.mark.skipif(
    not (V5.is_file() and COCO128.is_file()),
    reason=f"real-data test: {V5} and {COCO128} are not on this machine",
)


@needs_shared
def test_loads_without_the_yolov5_code_base() -> None:
    det = load_detector(V5)
    assert 1_800_000 < det.params() < 2_000_000  # YOLOv5n: 1.9 M parameters
    assert det.nc == 80 and det.names[0] == "person" and det.names[79] == "toothbrush"
    with torch.no_grad():
        out, raw = det.model(torch.rand(1, 3, 320, 320))
    assert out.shape == (1, 84, 3 * (40 * 40 + 20 * 20 + 10 * 10))  # Ultralytics layout: xywh + 80 scores
    assert [r.shape[1] for r in raw] == [3, 3, 3]  # three anchors per level
    assert float(out[0, 4:].max()) <= 1.0


@needs_shared
def test_evaluates_on_real_val_photos(tmp_path: Path) -> None:
    from paretodet.objectives import EvalSettings, LatencySettings
    from paretodet.search import apply_candidate
    from paretodet.spaces import Candidate

    settings = EvalSettings(threads=2, max_images=12, latency=LatencySettings(warmup=2, runs=30))
    _, metrics = apply_candidate(str(V5), COCO128, Candidate.from_dict({"imgsz": 320}), tmp_path, settings=settings)
    assert metrics.eval_images == 12 and 0.1 < metrics.map50_95 < 0.6  # a real COCO detector, not noise


@needs_shared
def test_pruning_recovers_with_the_yolov5_loss_on_real_photos(tmp_path: Path) -> None:
    from paretodet.data import load_data_yaml
    from paretodet.search import build
    from paretodet.spaces import Candidate

    det, data = load_detector(V5), load_data_yaml(COCO128)
    assert det.train_imgsz == 640 and det.trainable  # YOLOv5's default: the release stores no options
    cand = Candidate.from_dict({"imgsz": 64, "prune.method": "l1", "prune.ratio": 0.2, "prune.finetune_epochs": 1})
    recovered = build(cand, det, data, workdir=tmp_path)
    one_shot = build(cand.replace({"prune.finetune_epochs": 0}), det, data, workdir=tmp_path)
    assert recovered.artifact.params == one_shot.artifact.params < 0.8 * det.params()  # the C3 layout prunes
    assert recovered.artifact.path != one_shot.artifact.path


def test_unknown_classes_are_refused_before_unpickling(tmp_path: Path) -> None:
    common = types.ModuleType("models.common")

    class C3TR(torch.nn.Module):  # a YOLOv5 class paretodet does not know
        pass

    C3TR.__module__, C3TR.__qualname__ = "models.common", "C3TR"
    common.C3TR = C3TR  # type: ignore[attr-defined]
    package = types.ModuleType("models")
    package.common = common  # type: ignore[attr-defined]
    sys.modules.update({"models": package, "models.common": common})
    try:
        torch.save({"model": C3TR()}, tmp_path / "odd.pt")
    finally:
        del sys.modules["models"], sys.modules["models.common"]
    with pytest.raises(ModelError, match=r"references 'models.common.C3TR'.*refusing to unpickle"):
        load_detector(tmp_path / "odd.pt")


@needs_shared
def test_a_search_on_yolov5_is_fitted_to_the_model() -> None:
    from paretodet.search import study_space
    from paretodet.spaces import default_space

    space, notes = study_space(default_space(), load_detector(V5))
    sizes = next(k for k in space.knobs if k.name == "imgsz").choices
    assert space.base.imgsz == 640 and 640 in sizes and min(sizes) == 320  # around its 640-px training size
    assert not any(k.name == "distill.student_width" for k in space.knobs)  # YOLOv5 has no students
    assert any(k.name == "quant.qat_epochs" for k in space.knobs)  # but trains: QAT, recovery, KD
    assert any("student not sampled" in n for n in notes) and any("up to ratio" in n for n in notes)


def test_yolov5_fine_tunes_at_a_rate_fitted_to_its_classes(tiny_data: Path) -> None:
    from paretodet.data import load_data_yaml
    from paretodet.models import TrainRecipe, get_family

    data = load_data_yaml(tiny_data)
    v5 = get_family("yolov5").trainer_recipe(TrainRecipe(epochs=3), data)
    assert v5.lr == pytest.approx(0.002 * 5 / (4 + data.nc), abs=1e-6) and v5.warmup_epochs == 1.0
    assert get_family("yolov5").recovery_lr(data.nc) == v5.lr  # a search's prune.lr range is centred on it
    ultra = get_family("ultralytics").trainer_recipe(TrainRecipe(epochs=3), data)
    assert ultra.lr == 5e-4 and ultra.warmup_epochs == 0.0  # the Ultralytics family keeps its measured default
    assert get_family("ultralytics").recovery_lr(data.nc) is None  # and a search keeps its space's prune.lr
