"""Original YOLOv5 checkpoints (the ultralytics/yolov5 code base), loaded without that code base.

A YOLOv5 ``.pt`` is a pickle of ``models.yolo.Model``, ``models.common.Conv`` ... . It is read with torch's
restricted (``weights_only``) unpickler, where each known class name is an alias of a paretodet class built
from Ultralytics' blocks (same attribute names, same computation); any other global is refused before
anything is unpickled. This module imports Ultralytics: import it where it is used.

The anchor-based ``Detect`` head is rebuilt here: anchors, strides, grid and decode,
with its output in the Ultralytics layout ``(B, 4 + nc, anchors)`` (xywh in pixels, then per-class scores
= objectness x class probability), so evaluation, export and quantization treat it like any other model.
"""

from __future__ import annotations

import importlib
import pickle
import types
from pathlib import Path
from typing import Any

import torch
from torch import nn
from ultralytics.nn.modules import C3, SPP, SPPF, Bottleneck, Concat, Conv
from ultralytics.nn.tasks import DetectionModel

from paretodet.errors import ModelError, first_line
from paretodet.models.yolov5._loss import DEFAULT_TRAIN_IMGSZ

__all__ = ["YoloV5Detect", "YoloV5Model", "load_yolov5"]

_TORCH_PREFIX = "torch.nn.modules."


def load_yolov5(path: Path, *, trust_model: bool = False) -> tuple[nn.Module, tuple[str, ...]]:
    """The model (FP32, eval, CPU) and class names of an original YOLOv5 checkpoint.

    ``trust_model=True`` unpickles in full (running whatever the file holds), with the same YOLOv5 aliases.

    Raises:
        ModelError: the checkpoint references a YOLOv5 class paretodet does not implement.
        UntrustedModelError: it references any other type outside the torch layers (without ``trust_model``).
    """
    needed = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    aliases = _aliases()
    known = list(aliases.values())  # in the order of the mapping, for the message
    unknown = [name for name in needed if name not in known and not _plain_torch_layer(name)]
    for name in unknown:
        if name.startswith("models."):  # a YOLOv5 class without a stand-in: trusting the file would not help
            raise ModelError(
                f"{path} references '{name}', which paretodet does not load (only the YOLOv5 classes "
                f"{', '.join(c.rsplit('.', 1)[1] for c in known)} and torch layers): refusing to unpickle it"
            )
    if unknown and not trust_model:
        from paretodet.models._refusal import refuse

        raise refuse(unknown[0], path)
    try:
        if trust_model:
            ckpt = _load_trusted(path)
        else:
            torch_layers = [_torch_class(n) for n in needed if _plain_torch_layer(n)]
            with torch.serialization.safe_globals([*aliases.items(), *torch_layers]):
                ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # damaged archives and refused pickle operations come in many types
        raise ModelError(f"cannot read checkpoint {path}: {first_line(exc)}") from None
    model: Any = (ckpt.get("ema") or ckpt.get("model")) if isinstance(ckpt, dict) else None
    if not isinstance(model, YoloV5Model):
        raise ModelError(f"{path} holds no YOLOv5 detection model under 'model' or 'ema'")
    try:
        return _prepare(model, path, train_imgsz=_stored_imgsz(ckpt))
    except (AttributeError, TypeError, ValueError, IndexError, KeyError, RuntimeError) as exc:
        raise ModelError(f"{path} holds a malformed YOLOv5 model: {first_line(exc)}") from None


def _stored_imgsz(ckpt: dict[str, Any]) -> int:
    """The training input size in a YOLOv5 checkpoint's options (``opt.imgsz``, or ``img_size`` in older
    releases), else YOLOv5's default 640 (released checkpoints store no options)."""
    opt = ckpt.get("opt")
    opt = opt if isinstance(opt, dict) else vars(opt) if hasattr(opt, "__dict__") else {}
    size = opt.get("imgsz", opt.get("img_size"))
    if isinstance(size, list | tuple) and size:
        size = max(size)
    return int(size) if isinstance(size, int) and size > 0 else DEFAULT_TRAIN_IMGSZ


def _prepare(model: Any, path: Path, *, train_imgsz: int) -> tuple[nn.Module, tuple[str, ...]]:
    model = model.float().eval()
    model.paretodet_train_imgsz = train_imgsz  # travels with the model (stage checkpoints); the loss scales by it
    head: Any = model.model[-1]
    head.stride = head.stride.float()  # plain tensors the checkpoint stored in FP16
    model.stride = head.stride
    raw_names = model.names
    names = (
        tuple(str(raw_names[i]) for i in sorted(raw_names))
        if isinstance(raw_names, dict)
        else tuple(map(str, raw_names))
    )
    if len(names) != model.model[-1].nc:
        raise ModelError(f"{path}: {len(names)} class names for a {model.model[-1].nc}-class head")
    model.names = dict(enumerate(names))
    for param in model.parameters():
        param.requires_grad_(False)
    return model, names


def _load_trusted(path: Path) -> Any:
    """Full unpickling (the file's code runs), with the YOLOv5 class names mapped to their stand-ins."""
    v5 = _v5_classes()

    class _Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            return v5.get(f"{module}.{name}") or super().find_class(module, name)

    pickle_module = types.ModuleType("paretodet_v5_pickle")
    pickle_module.Unpickler = _Unpickler  # type: ignore[attr-defined]
    pickle_module.load = pickle.load  # type: ignore[attr-defined]
    return torch.load(str(path), map_location="cpu", weights_only=False, pickle_module=pickle_module)


def _plain_torch_layer(name: str) -> bool:
    return name.startswith(_TORCH_PREFIX) and isinstance(_torch_class(name), type)


def _torch_class(name: str) -> Any:
    module_name, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr, None)
    except ImportError:
        return None


def _aliases() -> dict[Any, str]:
    """paretodet class -> the YOLOv5 name it stands for (the safe-globals alias form torch expects)."""
    return {cls: name for name, cls in _v5_classes().items()}


def _v5_classes() -> dict[str, Any]:
    """YOLOv5 class name -> the paretodet/Ultralytics class that stands for it."""
    return {
        "models.yolo.Model": YoloV5Model,
        "models.yolo.Detect": YoloV5Detect,
        "models.common.Conv": Conv,
        "models.common.C3": C3,
        "models.common.SPPF": SPPF,
        "models.common.SPP": SPP,
        "models.common.Bottleneck": Bottleneck,
        "models.common.Concat": Concat,
    }


class YoloV5Detect(nn.Module):
    """The anchor-based YOLOv5 head: one 1x1 convolution per level predicting, for each of ``na`` anchors,
    box offsets, objectness and class logits; decoded with the level's grid, stride and anchor sizes.

    Unpickled attributes: ``m`` (convs), ``nc``, ``no`` (= nc + 5), ``nl``, ``na``, ``stride``, ``anchors``
    (per level, in stride units).
    """

    export = False  # set by paretodet's export: return the decoded tensor only
    # Ultralytics' trainer, validator and predictor set these on any head; decoding here never reads them (NMS
    # is the family's decode, with its own limits)
    max_det = 300
    agnostic_nms = False
    m: nn.ModuleList
    nc: int
    no: int
    nl: int
    na: int
    stride: torch.Tensor
    anchors: torch.Tensor

    @classmethod
    def create(cls, channels: list[int], *, nc: int, anchors: list[list[float]], strides: list[int]) -> YoloV5Detect:
        """A new head (unpickling builds checkpoints' heads): one 1x1 convolution per input level of ``channels``,
        ``anchors`` in pixels per level (``[w0, h0, w1, h1, ...]``), the levels' ``strides``."""
        head = cls()
        head.nc, head.nl, head.no = nc, len(channels), nc + 5
        head.na = len(anchors[0]) // 2
        head.m = nn.ModuleList(nn.Conv2d(c, head.na * head.no, 1) for c in channels)
        head.stride = torch.tensor(strides, dtype=torch.float32)
        grid_anchors = torch.tensor(anchors, dtype=torch.float32).view(head.nl, head.na, 2)
        head.register_buffer("anchors", grid_anchors / head.stride.view(-1, 1, 1))  # in grid cells, as YOLOv5
        return head

    def forward(self, x: list[torch.Tensor]) -> Any:
        """Raw maps (B, na, H, W, no) per level in training; decoded (B, 4 + nc, N) (plus raw) otherwise."""
        raw = []
        decoded = []
        for i in range(self.nl):
            out = self.m[i](x[i])
            if self.training or not self.export:  # an export returns the decoded tensor only
                b, _, h, w = out.shape
                raw.append(out.view(b, self.na, self.no, h, w).permute(0, 1, 3, 4, 2).contiguous())
            if not self.training:
                decoded.append(self._decode(out, i))
        if self.training:
            return raw
        y = torch.cat(decoded, 2)
        return y if self.export else (y, raw)

    def _decode(self, out: torch.Tensor, level: int) -> torch.Tensor:
        """One level's boxes and scores, channels first: (B, 4 + nc, na * H * W), anchor-major like YOLOv5.

        Computed on (B, na, no, H * W) views, so no transpose of the whole prediction tensor is needed (OpenVINO
        spent 2.3 ms of a 19 ms INT8 YOLOv5n on that transpose at 640 px)."""
        b, _, h, w = out.shape
        stride = self.stride[level]
        p = out.view(b, self.na, self.no, h * w).sigmoid()
        ys, xs = torch.meshgrid(
            torch.arange(h, dtype=out.dtype, device=out.device),
            torch.arange(w, dtype=out.dtype, device=out.device),
            indexing="ij",
        )
        grid = torch.stack((xs.reshape(-1), ys.reshape(-1)), 0).view(1, 1, 2, h * w)
        anchors = (self.anchors[level] * stride).view(1, self.na, 2, 1).to(out.dtype)
        xy = (p[:, :, 0:2] * 2 - 0.5 + grid) * stride
        wh = (p[:, :, 2:4] * 2) ** 2 * anchors
        scores = p[:, :, 5:] * p[:, :, 4:5]
        y = torch.cat((xy, wh, scores), 2)  # (B, na, 4 + nc, H * W)
        return y.permute(0, 2, 1, 3).reshape(b, 4 + self.nc, self.na * h * w)


class YoloV5Model(DetectionModel):
    """Stand-in for ``models.yolo.Model``: an Ultralytics ``DetectionModel``, so ``forward``, ``fuse``, the layer
    bookkeeping (``m.f``, ``m.i``, ``save``) and Ultralytics' trainer are Ultralytics' own; its training loss is
    YOLOv5's anchor-based one (:mod:`paretodet.models.yolov5._loss`)."""

    paretodet_train_imgsz: int = DEFAULT_TRAIN_IMGSZ

    def init_criterion(self) -> Any:
        """YOLOv5's anchor-based detection loss, with the checkpoint's own gains."""
        from paretodet.models.yolov5._loss import YoloV5Loss

        return YoloV5Loss(self)
