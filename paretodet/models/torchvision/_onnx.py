"""Deployment pieces of the torchvision family: the export wrapper and the INT8 block map of its ONNX graph.

The wrapper feeds torchvision's own ``forward`` (normalization, anchors, box coding, NMS) one letterboxed
image at the size it already has: the model's transform keeps normalizing but never resizes. Labels become
paretodet class indices through a lookup table (COCO's background and "N/A" slots are dropped).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
from torch import nn
from torchvision.models.detection.transform import GeneralizedRCNNTransform

__all__ = [
    "TorchvisionInference",
    "block_of",
    "branch_free_batched_nms",
    "branch_free_tracing",
    "fp32_node_names",
    "module_path",
    "quantizable_node_blocks",
    "set_inference_thresholds",
    "set_input_size",
]

# what the wrapper calls its model: the first scope of every exported node name (``/model/backbone/...``)
WRAPPED = "model"
# mAP needs low-scoring detections too (torchvision's defaults keep 100-300 above 0.05-0.2)
SCORE_THRESH = 0.001
DETECTIONS = 300
_QUANTIZABLE_OPS = frozenset({"Conv", "Gemm", "MatMul"})
# module containers whose children are the INT8 blocks (the longest matching prefix wins)
_CONTAINERS = (
    "backbone.body",  # MobileNet bodies (R-CNN): backbone.body.N
    "backbone.body.layer1",  # ResNet stages: backbone.body.layerK.N (bottlenecks)
    "backbone.body.layer2",
    "backbone.body.layer3",
    "backbone.body.layer4",
    "backbone.features",  # SSD300 VGG: backbone.features.N (single convs)
    "backbone.features.0",  # SSDlite MobileNet halves: backbone.features.H.N
    "backbone.features.1",
    "backbone.extra",  # SSD extra feature layers
    "backbone.fpn.inner_blocks",
    "backbone.fpn.layer_blocks",
    "backbone.fpn.extra_blocks",  # RetinaNet P6/P7
    "head",  # SSD / RetinaNet / FCOS heads: head.classification_head, head.regression_head
    "rpn",  # rpn.head
    "roi_heads",  # roi_heads.box_head, roi_heads.box_predictor
)


class _NoResize(GeneralizedRCNNTransform):
    """torchvision's transform without its resize: the input is already letterboxed to the network size."""

    def resize(self, image: torch.Tensor, target: Any = None) -> tuple[torch.Tensor, Any]:
        """The image and target unchanged."""
        return image, target


def set_input_size(model: nn.Module, imgsz: int, *, resize: bool = True) -> None:
    """Make ``model``'s transform work at ``imgsz`` x ``imgsz`` (its own mean/std kept).

    ``resize=False`` swaps in a transform that never resizes (inference on letterboxed input); with ``True``
    the sizes are set so that a letterboxed input is resized by a factor of exactly 1 (training).
    """
    old: Any = model.transform
    fixed = (imgsz, imgsz) if getattr(old, "fixed_size", None) is not None else None
    if resize:
        old.min_size, old.max_size, old.fixed_size = (imgsz,), imgsz, fixed
        return
    model.transform = _NoResize(
        imgsz,
        imgsz,
        list(old.image_mean),
        list(old.image_std),
        size_divisible=old.size_divisible,
        fixed_size=fixed,
    )


def set_inference_thresholds(model: nn.Module) -> None:
    """Low score threshold and enough detections for mAP; each model keeps its own NMS IoU."""
    holder: Any = getattr(model, "roi_heads", model)  # R-CNN keeps them in its RoI heads
    holder.score_thresh = SCORE_THRESH
    holder.detections_per_img = DETECTIONS
    if hasattr(holder, "topk_candidates"):
        holder.topk_candidates = max(int(holder.topk_candidates), DETECTIONS)


class TorchvisionInference(nn.Module):
    """``forward(x)``: ``x`` (1, 3, S, S) RGB in [0, 1] -> ``boxes (n, 4)`` xyxy input pixels, ``scores (n,)``,
    ``classes (n,)`` int64 class indices (labels without a class are dropped).

    Example:
        >>> boxes, scores, classes = TorchvisionInference(model, [-1, 0, 1], imgsz=320)(x)  # doctest: +SKIP
    """

    def __init__(self, model: nn.Module, label_map: Sequence[int], *, imgsz: int) -> None:
        super().__init__()
        model = copy.deepcopy(model).float().cpu().eval()
        set_input_size(model, imgsz, resize=False)
        set_inference_thresholds(model)
        setattr(self, WRAPPED, model)
        self.register_buffer("label_to_class", torch.tensor(list(label_map), dtype=torch.int64))
        self.imgsz = imgsz
        self.eval()  # the exporter restores the wrapper's mode on every submodule afterwards

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Detections of the first image of ``x``."""
        with branch_free_tracing() if torch.jit.is_tracing() else nullcontext():
            out = getattr(self, WRAPPED)([x[0]])[0]
        lut: Any = self.label_to_class
        classes = lut[out["labels"]]
        keep = classes >= 0
        return out["boxes"][keep], out["scores"][keep], classes[keep]


def _offset_batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """torchvision's per-class NMS by coordinate offsets, without its ``if boxes.numel() == 0`` branch: the
    maximum also covers an extra 0, so an empty input stays valid (boxes are clipped to the image, >= 0)."""
    from torchvision.ops import nms

    max_coordinate = torch.cat([boxes.reshape(-1), boxes.new_zeros(1)]).max()
    offsets = idxs.to(boxes) * (max_coordinate + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)


@contextmanager
def branch_free_batched_nms() -> Iterator[None]:
    """While tracing for ONNX: torchvision scripts its batched NMS when traced, which exports an ``If`` node
    (the empty-input branch) that FP16 conversion (``onnxruntime.transformers.float16``) turns into an invalid
    model. Swap in the same computation without the branch for the duration of the trace."""
    import torchvision.ops.boxes as box_ops

    original = box_ops._batched_nms_coordinate_trick
    box_ops._batched_nms_coordinate_trick = _offset_batched_nms
    try:
        yield
    finally:
        box_ops._batched_nms_coordinate_trick = original


def _shape_safe_decode(coder: Any, rel_codes: torch.Tensor, boxes: list[torch.Tensor]) -> torch.Tensor:
    """torchvision's ``BoxCoder.decode`` without its ``if box_sum > 0`` branches: the trace records the box
    count as the proposals' dynamic length, and the per-box width (4 x classes) as the constant it is."""
    concat_boxes = torch.cat(boxes, dim=0)
    count, width = concat_boxes.shape[0], rel_codes.shape[-1]
    pred_boxes = coder.decode_single(rel_codes.reshape(count, width), concat_boxes)
    return pred_boxes.reshape(count, width // 4, 4)


@contextmanager
def _shape_safe_box_decode() -> Iterator[None]:
    """While tracing for ONNX: R-CNN's box decoding branches in Python on the number of proposals. A trace
    taken where the RPN kept none (a blank example image under ``rpn_score_thresh``) skips the reshapes and
    exports a graph that fails on every real image; swap in the branch-free decode for the trace."""
    from torchvision.models.detection._utils import BoxCoder

    original = BoxCoder.decode
    BoxCoder.decode = _shape_safe_decode
    try:
        yield
    finally:
        BoxCoder.decode = original


@contextmanager
def branch_free_tracing() -> Iterator[None]:
    """The patches a trace of a torchvision detector for ONNX needs: branch-free batched NMS and box decoding."""
    with branch_free_batched_nms(), _shape_safe_box_decode():
        yield


# ------------------------------------------------------------------------------------------- INT8 blocks


def module_path(node_name: str) -> str:
    """The module a node exported by torch's ONNX exporter belongs to, as a dotted name without the wrapper.

    Scopes are written as ``/model/backbone/body/body.1/block/block.0/block.0.0/Conv``: a scope names its
    module from the last non-numeric atom on (``body.1`` is ``body``'s child ``1``; a container that is
    iterated rather than called has no scope of its own); ``_N`` suffixes mark repeated calls of one module.

    Example:
        >>> module_path("/model/backbone/features.0/features.0.1/block/block.0/block.0.0/Conv")
        'backbone.features.0.1.block.0.0'
    """
    atoms: list[str] = []
    for raw in node_name.strip("/").split("/")[:-1]:
        scope = re.sub(r"_\d+$", "", raw).split(".")
        overlap = 0
        for k in range(min(len(atoms), len(scope) - 1), 0, -1):  # the scope continues the path's tail
            if atoms[-k:] == scope[:k]:
                overlap = k
                break
        atoms = atoms[: len(atoms) - overlap] + scope
    if atoms and atoms[0] == WRAPPED:
        atoms = atoms[1:]
    return ".".join(atoms)


def block_of(path: str) -> str:
    """The INT8 block of a module path: the child of its deepest known container (else its first two atoms).

    Example:
        >>> block_of("backbone.body.layer2.3.conv1"), block_of("head.classification_head.module_list.0.1")
        ('backbone.body.layer2.3', 'head.classification_head')
    """
    atoms = path.split(".")
    best = ""
    for container in _CONTAINERS:
        if (path == container or path.startswith(container + ".")) and len(container) > len(best):
            best = container
    if not best:
        return ".".join(atoms[:2])
    depth = best.count(".") + 2
    return ".".join(atoms[:depth])


def quantizable_node_blocks(onnx_model: Any) -> dict[str, list[str]]:
    """Block -> names of its Conv/Gemm/MatMul nodes, blocks in the order the graph first uses them."""
    blocks: dict[str, list[str]] = {}
    for node in onnx_model.graph.node:
        if node.op_type not in _QUANTIZABLE_OPS or not node.name:
            continue
        path = module_path(node.name)
        if not path:
            continue
        blocks.setdefault(block_of(path), []).append(node.name)
    return blocks


def fp32_node_names(onnx_model: Any) -> list[str]:
    """Every named node outside the quantizable blocks (normalization, anchors, box coding, RoI ops, NMS)."""
    quantized = {name for names in quantizable_node_blocks(onnx_model).values() for name in names}
    return [node.name for node in onnx_model.graph.node if node.name and node.name not in quantized]
