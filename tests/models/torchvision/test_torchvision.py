"""The torchvision family: builders, loading and saving, bad inputs, decode, and training."""

from __future__ import annotations

import copy
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from paretodet.data import SHAPE_CLASSES, load_dataset
from paretodet.errors import ModelError
from paretodet.models._base import KDSettings, TrainRecipe
from paretodet.models.torchvision._family import BUILDERS, TorchvisionFamily, build_torchvision, list_builders

SSD = "ssdlite320_mobilenet_v3_large"
RCNN = "fasterrcnn_mobilenet_v3_large_320_fpn"
IMGSZ = 160


@pytest.fixture(scope="module")
def family() -> TorchvisionFamily:
    return TorchvisionFamily()


@pytest.fixture(scope="module")
def ssd() -> object:
    torch.manual_seed(0)
    return build_torchvision(SSD, names=SHAPE_CLASSES)


def _image(seed: int = 0) -> torch.Tensor:
    return torch.rand(1, 3, IMGSZ, IMGSZ, generator=torch.Generator().manual_seed(seed))


def calibrate_bn(model: torch.nn.Module, imgsz: int = IMGSZ) -> None:
    """Give an untrained model's batch norms real statistics (its eval outputs then depend on the image)."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        model.backbone(torch.rand(4, 3, imgsz, imgsz, generator=torch.Generator().manual_seed(9)))  # type: ignore[operator]
    model.eval()


def _run(family: TorchvisionFamily, det: object, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        return family.inference_module(det, imgsz=IMGSZ)(x)  # type: ignore[arg-type]


@pytest.mark.parametrize("builder", list_builders())
def test_every_builder_builds_and_counts_its_labels(builder: str) -> None:
    from torchvision.models import detection

    from paretodet.models.torchvision._load import label_count

    spec = BUILDERS[builder]
    assert getattr(detection, spec.weights).DEFAULT.meta["categories"][0] == "__background__"
    det = build_torchvision(builder, names=("a", "b", "c"))
    assert label_count(builder, det.model.state_dict(), where="test") == 4
    assert det.extra == {"builder": builder, "label_map": (-1, 0, 1, 2)} and det.family == "torchvision"


def test_claims(family: TorchvisionFamily, ssd: object, tmp_path: Path) -> None:
    ckpt = tmp_path / "tv.pt"
    family.save(ssd, ckpt)  # type: ignore[arg-type]
    plain = tmp_path / "plain.pt"
    torch.save({"weight": torch.zeros(2)}, plain)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    assert family.claims(f"torchvision:{SSD}")
    assert family.claims(str(ckpt))
    assert not family.claims(str(plain))
    assert not family.claims(str(junk))
    assert not family.claims(str(tmp_path / "missing.pt"))
    assert not family.claims("yolov8n.pt")


def test_save_load_round_trip(family: TorchvisionFamily, ssd: object, tmp_path: Path) -> None:
    from paretodet.base import file_digest

    path = tmp_path / "ssd.pt"
    family.save(ssd, path)  # type: ignore[arg-type]
    raw = torch.load(path, weights_only=True, map_location="cpu")
    assert raw["paretodet_family"] == "torchvision" and raw["builder"] == SSD
    loaded = family.load(str(path))
    assert loaded.family == "torchvision" and loaded.names == SHAPE_CLASSES
    assert loaded.extra["builder"] == SSD and loaded.extra["label_map"] == (-1, 0, 1, 2, 3, 4, 5)
    assert loaded.digest == file_digest(path)
    x = _image()
    for a, b in zip(_run(family, ssd, x), _run(family, loaded, x), strict=True):
        assert torch.equal(a, b)


def test_state_dict_weights_with_names(family: TorchvisionFamily, tmp_path: Path) -> None:
    torch.manual_seed(1)
    det = build_torchvision(RCNN, names=("a", "b"))
    weights = tmp_path / "rcnn.pth"
    torch.save({"model": det.model.state_dict(), "epoch": 3}, weights)  # torchvision reference layout
    loaded = family.load(f"torchvision:{RCNN}", weights=weights)
    assert loaded.names == ("class0", "class1")  # no names in a bare state dict: placeholders, label = cls + 1
    named = build_torchvision(RCNN, names=("a", "b"), weights=weights)
    x = _image(1)
    for a, b in zip(_run(family, det, x), _run(family, named, x), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ModelError, match="predict 3 labels, the class names need 4"):
        build_torchvision(RCNN, names=("a", "b", "c"), weights=weights)


def test_coco_weights_use_torchvision_categories(family: TorchvisionFamily, tmp_path: Path) -> None:
    from torchvision.models import detection

    torch.manual_seed(2)
    model = detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=91)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    weights = tmp_path / "coco.pth"
    torch.save(state, weights)
    det = family.load(f"torchvision:{SSD}", weights=weights)
    assert det.nc == 80 and det.names[0] == "person" and "N/A" not in det.names
    label_map = det.extra["label_map"]
    assert len(label_map) == 91 and label_map[0] == -1 and label_map[1] == 0 and label_map[12] == -1
    _, scores, classes = _run(family, det, _image(2))
    assert len(scores) and int(classes.min()) >= 0 and int(classes.max()) < 80


def test_names_that_do_not_fit_the_weights(family: TorchvisionFamily, ssd: object, tmp_path: Path) -> None:
    path = tmp_path / "bad.pt"
    family.save(ssd, path)  # type: ignore[arg-type]
    ckpt = torch.load(path, weights_only=True)
    ckpt["names"] = ["a", "b", "c"]
    ckpt["label_map"] = [-1, 0, 1, 2]
    torch.save(ckpt, path)
    with pytest.raises(ModelError, match="3 class names but the weights predict 7 labels"):
        family.load(str(path))
    with pytest.raises(ModelError, match="are for torchvision:ssdlite320"):
        family.load(f"torchvision:{RCNN}", weights=path)


def test_unknown_builder_suggests(family: TorchvisionFamily) -> None:
    with pytest.raises(ModelError, match="did you mean 'fasterrcnn_resnet50_fpn'"):
        family.load("torchvision:fasterrcnn_resnet50")
    with pytest.raises(ModelError, match="unknown torchvision builder"):
        build_torchvision("yolo", names=("a",))


def test_offline_download_is_one_clear_line(
    family: TorchvisionFamily, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from torchvision.models._api import WeightsEnum

    def offline(self: object, *args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(WeightsEnum, "get_state_dict", offline)
    with pytest.raises(ModelError) as info:
        family.load(f"torchvision:{SSD}")
    message = str(info.value)
    assert "\n" not in message
    assert f"could not download torchvision weights for {SSD}" in message and "pass --weights FILE" in message


def test_unreadable_weights(family: TorchvisionFamily, tmp_path: Path) -> None:
    bad = tmp_path / "w.pth"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelError, match="cannot read weights"):
        family.load(f"torchvision:{SSD}", weights=bad)
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1, 1, 1, 1)}, other)
    with pytest.raises(ModelError, match="weights do not fit torchvision:ssdlite"):
        family.load(f"torchvision:{SSD}", weights=other)


def test_decode_filters_and_ranks(family: TorchvisionFamily) -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 5, 20, 20], [1, 1, 2, 2], [3, 3, 4, 4]], np.float32)
    scores = np.array([0.3, 0.9, 0.0005, 0.5], np.float32)
    classes = np.array([1, 0, 2, -1], np.int64)
    out = family.decode([boxes, scores, classes], conf=0.001, iou=0.7, max_det=1)
    assert out.dtype == np.float32 and out.shape == (1, 6)
    assert out[0].tolist() == pytest.approx([5, 5, 20, 20, 0.9, 0])
    assert family.decode([boxes[:0], scores[:0], classes[:0]], conf=0.0, iou=0.7, max_det=9).shape == (0, 6)


def test_finetune_trains_with_torchvision_losses(family: TorchvisionFamily, tiny_data: Path, tmp_path: Path) -> None:
    info = load_dataset(tiny_data)
    torch.manual_seed(3)
    det = build_torchvision(SSD, names=info.names)
    calibrate_bn(det.model)
    setattr(det.model, "paretodet_frozen_bn", True)  # noqa: B010 - as loaded from trained weights: BN stats stay fixed
    batch = family.loss_batches(info, imgsz=IMGSZ, count=1)[0]
    before = {k: v.clone() for k, v in det.model.state_dict().items()}
    loss_before = float(family.batch_loss(det.model, batch).detach())
    seen: list[tuple[int, int]] = []
    recipe = TrainRecipe(epochs=2, lr=0.01, batch=4, seed=0)
    model = family.finetune(
        det.model, info, imgsz=IMGSZ, recipe=recipe, workdir=tmp_path, on_epoch=lambda d, t, m: seen.append((d, t))
    )
    assert seen == [(1, 2), (2, 2)] and not model.training
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert float(family.batch_loss(model, batch).detach()) < loss_before - 0.5
    assert (tmp_path / "train_log.csv").read_text().startswith("epoch,loss,lr")
    # a distillation criterion (the family's own, here from a copy of the model) trains it too, then lets go
    teacher = det.with_model(copy.deepcopy(model), source="teacher", digest="t")
    criterion = family.distillation(teacher, KDSettings(temperature=2.0, alpha=0.5, imgsz=IMGSZ))
    one = TrainRecipe(epochs=1, lr=0.01, batch=4, seed=0)
    distilled = family.finetune(model, info, imgsz=IMGSZ, recipe=one, workdir=tmp_path / "kd", criterion=criterion)
    assert not distilled.training and not distilled.head._forward_hooks


def test_the_training_size_is_the_builders_or_the_checkpoints(tmp_path: Path) -> None:
    from paretodet.models import build_torchvision, get_family

    assert build_torchvision("fasterrcnn_mobilenet_v3_large_320_fpn", names=("a", "b")).train_imgsz == 320
    trained_at = build_torchvision("ssdlite320_mobilenet_v3_large", names=("a", "b"), imgsz=192)
    assert trained_at.train_imgsz == 192
    family = get_family("torchvision")
    family.save(trained_at, tmp_path / "m.pt")
    assert family.load(str(tmp_path / "m.pt")).train_imgsz == 192  # a paretodet checkpoint records it
