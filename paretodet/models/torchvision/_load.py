"""Loading torchvision detectors: the builder table, weights files, class names and label maps.

Every model is built with ``nn.BatchNorm2d`` (torchvision's pretrained builders use ``FrozenBatchNorm2d``,
which Torch-Pruning cannot prune; in eval mode both compute the same). A label map sends torchvision labels
to paretodet class indices (-1: background and COCO's "N/A" slots); paretodet-trained models use
label = class + 1 for every kind (RetinaNet and FCOS included, whose label 0 is then never a class).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from paretodet.errors import ModelError, first_line

__all__ = [
    "placeholder_names",
    "BUILDERS",
    "Builder",
    "builder_spec",
    "check_imgsz",
    "classes_of",
    "construct",
    "download",
    "from_state",
    "list_builders",
    "label_count",
    "num_outputs",
    "read_weights",
    "state_digest",
    "text_digest",
]

_NOT_CLASSES = ("__background__", "N/A")


@dataclass(frozen=True)
class Builder:
    """One torchvision builder: its weights enum (in ``torchvision.models.detection``), its kind
    (``ssd``, ``rcnn``, ``retinanet``, ``fcos``) and the smallest input size its feature maps allow."""

    weights: str
    kind: str
    min_imgsz: int = 64


BUILDERS: dict[str, Builder] = {
    "ssdlite320_mobilenet_v3_large": Builder("SSDLite320_MobileNet_V3_Large_Weights", "ssd"),
    "ssd300_vgg16": Builder("SSD300_VGG16_Weights", "ssd", min_imgsz=272),
    "fasterrcnn_mobilenet_v3_large_320_fpn": Builder("FasterRCNN_MobileNet_V3_Large_320_FPN_Weights", "rcnn"),
    "fasterrcnn_mobilenet_v3_large_fpn": Builder("FasterRCNN_MobileNet_V3_Large_FPN_Weights", "rcnn"),
    "fasterrcnn_resnet50_fpn": Builder("FasterRCNN_ResNet50_FPN_Weights", "rcnn"),
    "fasterrcnn_resnet50_fpn_v2": Builder("FasterRCNN_ResNet50_FPN_V2_Weights", "rcnn"),
    "retinanet_resnet50_fpn": Builder("RetinaNet_ResNet50_FPN_Weights", "retinanet"),
    "retinanet_resnet50_fpn_v2": Builder("RetinaNet_ResNet50_FPN_V2_Weights", "retinanet"),
    "fcos_resnet50_fpn": Builder("FCOS_ResNet50_FPN_Weights", "fcos"),
}


def list_builders() -> list[str]:
    """The torchvision builders paretodet loads."""
    return list(BUILDERS)


def builder_spec(builder: str) -> Builder:
    """The table entry of ``builder``; ModelError with the closest name otherwise."""
    if builder not in BUILDERS:
        close = difflib.get_close_matches(builder, list(BUILDERS), n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else f": use one of {', '.join(BUILDERS)}"
        raise ModelError(f"unknown torchvision builder '{builder}'{hint}")
    return BUILDERS[builder]


def check_imgsz(builder: str, imgsz: int) -> None:
    """ModelError when ``imgsz`` is below what the builder's feature maps allow (SSD300's extra layers)."""
    low = builder_spec(builder).min_imgsz
    if imgsz < low:
        raise ModelError(f"torchvision:{builder} needs an input size of at least {low}, got {imgsz}")


def construct(builder: str, num_labels: int, *, pretrained_backbone: bool = False) -> nn.Module:
    """The builder's architecture with ``num_labels`` outputs (random weights; BatchNorm2d everywhere)."""
    from torchvision.models import detection

    builder_spec(builder)
    fn = getattr(detection, builder)
    if not pretrained_backbone:
        return fn(weights=None, weights_backbone=None, num_classes=num_labels).eval()
    try:
        model = fn(weights=None, weights_backbone="DEFAULT", num_classes=num_labels)
    except Exception as exc:  # urllib/ssl/hash errors: the download failed
        raise ModelError(
            f"could not download the torchvision backbone weights of {builder}: {first_line(exc)} (offline?)"
        ) from None
    return thaw_frozen_bn(model).eval()


def thaw_frozen_bn(model: nn.Module) -> nn.Module:
    """Replace torchvision's FrozenBatchNorm2d by BatchNorm2d with the same statistics (eval mode: equal)."""
    from torchvision.ops import FrozenBatchNorm2d

    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, FrozenBatchNorm2d):
                bn = nn.BatchNorm2d(child.weight.numel(), eps=child.eps)
                bn.load_state_dict(child.state_dict(), strict=False)  # weight, bias, running mean and var
                setattr(module, child_name, bn.eval())
        del name
    model.paretodet_frozen_bn = True  # type: ignore[assignment]
    return model


def coco_categories(builder: str) -> list[str]:
    """torchvision's COCO categories for ``builder`` (91 labels, background and "N/A" slots included)."""
    from torchvision.models import detection

    return list(getattr(detection, BUILDERS[builder].weights).DEFAULT.meta["categories"])


def download(builder: str) -> tuple[dict[str, torch.Tensor], str]:
    """torchvision's default weights of ``builder`` (downloaded by torchvision into its cache) and their URL."""
    from torchvision.models import detection

    enum = getattr(detection, BUILDERS[builder].weights).DEFAULT
    try:
        return dict(enum.get_state_dict(progress=False, check_hash=True)), str(enum.url)
    except Exception as exc:  # URLError, SSL, hash mismatch ...
        raise ModelError(
            f"could not download torchvision weights for {builder}: {first_line(exc)} (offline? pass --weights FILE)"
        ) from None


def read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(state dict, the dict around it)`` of a weights file: a state dict, or a dict holding one under
    ``state_dict`` or ``model`` (torchvision's reference scripts, paretodet checkpoints)."""
    if not path.is_file():
        raise ModelError(f"weights file not found: {path}")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):  # the 'args' of torchvision's references
            raw = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(
            f"cannot read weights {path} as a state dict ({first_line(exc)}): "
            "save one with torch.save(model.state_dict(), path)"
        ) from None
    if not isinstance(raw, dict):
        raise ModelError(f"{path} holds a {type(raw).__name__}, not a state dict")
    saved: dict[str, Any] = raw
    state: Any = raw
    for key in ("state_dict", "model"):
        if isinstance(raw.get(key), dict):
            state = raw[key]
            break
    tensors = {str(k).removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ModelError(f"{path} holds no tensors: pass a state dict of a torchvision detection model")
    return tensors, saved if saved is not state else {}


def label_count(builder: str, state: Mapping[str, torch.Tensor], *, where: str) -> int:
    """The label count of a state dict: the classification layer's outputs per anchor."""
    kind = BUILDERS[builder].kind
    if kind == "rcnn":
        key = "roi_heads.box_predictor.cls_score.weight"
        _require(state, key, builder, where)
        return int(state[key].shape[0])
    if kind == "ssd":
        cls = _last_weight(state, "head.classification_head.module_list.0.", builder, where)
        reg = _last_weight(state, "head.regression_head.module_list.0.", builder, where)
    else:
        cls_key, reg_key = "head.classification_head.cls_logits.weight", "head.regression_head.bbox_reg.weight"
        _require(state, cls_key, builder, where)
        _require(state, reg_key, builder, where)
        cls, reg = state[cls_key], state[reg_key]
    anchors = max(int(reg.shape[0]) // 4, 1)
    return int(cls.shape[0]) // anchors


def _require(state: Mapping[str, torch.Tensor], key: str, builder: str, where: str) -> None:
    if key not in state:
        sample = ", ".join(list(state)[:3])
        raise ModelError(f"{where}: weights do not fit torchvision:{builder} (no '{key}'; the file has {sample} ...)")


def _last_weight(state: Mapping[str, torch.Tensor], prefix: str, builder: str, where: str) -> torch.Tensor:
    convs = [v for k, v in state.items() if k.startswith(prefix) and k.endswith("weight") and v.dim() == 4]
    if not convs:
        _require(state, prefix + "weight", builder, where)
    return convs[-1]


def classes_of(
    builder: str, num_labels: int, saved: Mapping[str, Any], *, where: str
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Class names and label map: saved ones, COCO's (91 labels), else placeholders with label = class + 1."""
    if saved.get("names") is not None:
        names = tuple(str(n) for n in saved["names"])
        label_map = tuple(int(v) for v in saved.get("label_map") or (-1, *range(len(names))))
        if len(label_map) != num_labels or max(label_map) + 1 != len(names):
            raise ModelError(
                f"{where}: {len(names)} class names but the weights predict {num_labels} labels "
                f"({num_labels - 1} classes + background): the names do not belong to these weights"
            )
        return names, label_map
    categories = coco_categories(builder)
    if num_labels == len(categories):
        label_map_list: list[int] = []
        names_list: list[str] = []
        for category in categories:
            label_map_list.append(-1 if category in _NOT_CLASSES else len(names_list))
            if category not in _NOT_CLASSES:
                names_list.append(category)
        return tuple(names_list), tuple(label_map_list)
    if num_labels < 2:
        raise ModelError(f"{where}: the weights predict {num_labels} label(s); need background + classes")
    return placeholder_names(num_labels - 1), (-1, *range(num_labels - 1))


def placeholder_names(count: int) -> tuple[str, ...]:
    """The names of ``count`` classes whose weights came without names (``class0``, ``class1`` ...)."""
    return tuple(f"class{i}" for i in range(count))


def from_state(
    builder: str, state: Mapping[str, torch.Tensor], label_map: Sequence[int], groups: Mapping[str, int], *, where: str
) -> nn.Module:
    """The builder's model with ``state`` loaded (module shapes fitted to the tensors of a pruned model)."""
    num_labels = label_count(builder, state, where=where)
    if num_labels != len(label_map):
        raise ModelError(
            f"{where}: the weights predict {num_labels} labels, the class names need {len(label_map)} "
            f"({len(label_map) - 1} classes + background): use weights trained for these classes"
        )
    from paretodet.models.torchvision._prune import fit_shapes

    model = construct(builder, num_labels)
    fit_shapes(model, state, groups)
    try:
        result = model.load_state_dict(dict(state), strict=False)
    except RuntimeError as exc:  # shapes fit_shapes could not reconcile
        raise ModelError(f"{where}: weights do not fit torchvision:{builder} ({first_line(exc)})") from None
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]  # FrozenBatchNorm2d files
    if missing or result.unexpected_keys:
        problem = f"missing {missing[:3]}" if missing else f"unexpected {result.unexpected_keys[:3]}"
        raise ModelError(f"{where}: weights do not fit torchvision:{builder} ({problem})")
    return model.eval()


def num_outputs(model: nn.Module) -> int:
    """The label count of a built model (its state dict's classification layer)."""
    from torchvision.models.detection import SSD, FasterRCNN

    state = model.state_dict()
    kind = "rcnn" if isinstance(model, FasterRCNN) else "ssd" if isinstance(model, SSD) else "retinanet"
    builder = next(name for name, spec in BUILDERS.items() if spec.kind == kind)
    return label_count(builder, state, where="model")


def text_digest(text: str) -> str:
    """Short sha256 of a text (a builder name, a weights URL)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def state_digest(model: nn.Module) -> str:
    """Short sha256 of a model's tensors (fresh random models: two builds must not share a cache key)."""
    h = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        h.update(key.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
