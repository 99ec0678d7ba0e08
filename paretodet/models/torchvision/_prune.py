"""Pruning support of the torchvision family: which convolutions are prunable, what Torch-Pruning traces,
and rebuilding a pruned model's shapes from its saved tensors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["PruneTrace", "conv_parts", "example_input", "fit_shapes"]

_BACKBONE = ("backbone.body.", "backbone.features.")  # R-CNN/RetinaNet/FCOS bodies; SSD's VGG/MobileNet
_NECK = ("backbone.fpn.", "backbone.extra.")  # FPN (inner, layer and P6/P7 blocks); SSD's extra layers


def conv_parts(model: nn.Module) -> dict[str, str]:
    """Prunable convolution -> ``backbone`` or ``neck`` (see ``TorchvisionFamily.prune_parts``)."""
    parts: dict[str, str] = {}
    for name, module in model.named_modules():
        if not isinstance(module, nn.Conv2d) or module.groups != 1:
            continue
        if name.startswith(_BACKBONE):
            parts[name] = "backbone"
        elif name.startswith(_NECK):
            parts[name] = "neck"
    return parts


def example_input(imgsz: int) -> torch.Tensor:
    """A fixed ``(1, 3, imgsz, imgsz)`` input in [0, 1]."""
    return torch.rand(1, 3, imgsz, imgsz, generator=torch.Generator().manual_seed(0))


class PruneTrace(nn.Module):
    """What Torch-Pruning traces: the backbone (with FPN / SSD extras) and every head on one image tensor.

    torchvision's own ``forward`` takes a list of images and ends in data-dependent steps (top-k, NMS, RoI
    sampling) that carry no channel dependencies, so it is not traced. Tracing only the backbone would let a
    pruned FPN/feature map change the channels the heads read without the heads following. Here every
    convolution or linear layer that reads a feature map is on the traced path: the SSD/RetinaNet/FCOS heads,
    and for R-CNN the RPN head plus the RoI box head fed by ``roi_align`` on a few fixed boxes of the first
    pooled level (Torch-Pruning maps the pooled channels through the flatten into ``fc6``). One level is
    enough: the RPN head is one module for every level, which couples all FPN outputs' channels; tracing
    ``MultiScaleRoIAlign`` itself (an index-put per level into one tensor) makes Torch-Pruning's index
    mapping through the flatten grow without bound (20 GB for ``fasterrcnn_resnet50_fpn``). The input is not
    normalized: tracing only needs the shapes.
    """

    def __init__(self, model: nn.Module, *, imgsz: int) -> None:
        super().__init__()
        self.model = model
        self.imgsz = imgsz
        s = float(imgsz)
        boxes = torch.tensor([[0, 0, s / 8, s / 8], [0, 0, s / 2, s / 2], [0, 0, s, s], [s / 4, s / 4, s / 2, s / 3]])
        self.register_buffer("boxes", boxes, persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Raw head outputs (flattened to a tuple)."""
        model: Any = self.model
        features = model.backbone(x)
        levels = list(features.values())
        if hasattr(model, "rpn"):
            from torchvision.ops import roi_align

            objectness, deltas = model.rpn.head(levels)
            pool = model.roi_heads.box_roi_pool
            feature = features[pool.featmap_names[0]]
            pooled = roi_align(
                feature,
                [self.boxes.to(x.dtype)],
                output_size=pool.output_size,
                spatial_scale=feature.shape[-1] / self.imgsz,
                sampling_ratio=pool.sampling_ratio,
            )
            scores, boxes = model.roi_heads.box_predictor(model.roi_heads.box_head(pooled))
            return (*objectness, *deltas, scores, boxes)
        return tuple(model.head(levels).values())


def fit_shapes(model: nn.Module, state: Mapping[str, torch.Tensor], groups: Mapping[str, int]) -> None:
    """Resize ``model``'s parameters and buffers (and the layers' channel attributes) to the tensors of
    ``state`` where they differ (a pruned model). ``groups``: saved convolution groups (depthwise layers)."""
    for name, module in model.named_modules():
        changed = False
        for kind, tensors in (("param", module._parameters), ("buffer", module._buffers)):
            for attr, tensor in list(tensors.items()):
                new = state.get(f"{name}.{attr}" if name else attr)
                if tensor is None or new is None or new.shape == tensor.shape:
                    continue
                fresh = torch.zeros(new.shape, dtype=tensor.dtype)
                tensors[attr] = nn.Parameter(fresh, requires_grad=tensor.requires_grad) if kind == "param" else fresh
                changed = True
        if changed:
            _fix_attributes(name, module, groups)


def _fix_attributes(name: str, module: nn.Module, groups: Mapping[str, int]) -> None:
    if isinstance(module, nn.Conv2d):
        depthwise = module.groups > 1 and module.groups == module.in_channels
        out = int(module.weight.shape[0])
        module.groups = int(groups.get(name, out if depthwise else module.groups))
        module.out_channels = out
        module.in_channels = int(module.weight.shape[1]) * module.groups
    elif isinstance(module, nn.BatchNorm2d):
        module.num_features = int((module.running_mean if module.running_mean is not None else module.weight).numel())
    elif isinstance(module, nn.GroupNorm):
        module.num_channels = int(module.weight.numel())
    elif isinstance(module, nn.Linear):
        module.out_features, module.in_features = (int(v) for v in module.weight.shape)
