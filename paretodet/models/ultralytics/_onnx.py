"""The Ultralytics family's deployment pieces: the export wrapper of its model, the metadata Ultralytics'
own ONNX export writes (so ``YOLO("model.onnx")`` reads paretodet's files), and the INT8 block map of its ONNX
graph (``/model.N/`` scopes; the head's conv branches are blocks, its decode stays FP32)."""

from __future__ import annotations

import copy
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretodet.errors import ExportError

if TYPE_CHECKING:
    import torch

    from paretodet.models._base import Detector

__all__ = ["QUANTIZE_ARG", "head_decode_nodes", "inference_module", "quantizable_blocks", "ultralytics_metadata"]

# Ultralytics' ``quantize`` export argument for each precision (None: FP32)
QUANTIZE_ARG: dict[str, int | None] = {"fp32": None, "fp16": 16, "int8": 8}
_BLOCK = re.compile(r"^/model\.(\d+)/(?:((?:cv[23]|m)\.\d+)/)?")  # head conv branches: cv2/cv3 (v8), m (v5)


def inference_module(model: torch.nn.Module) -> torch.nn.Module:
    """A fused FP32 copy of an Ultralytics model whose forward returns the raw ``(1, 4 + nc, anchors)`` tensor."""
    net: Any = copy.deepcopy(model).float().eval().cpu()
    if hasattr(net, "fuse"):
        net = net.fuse(verbose=False) if "verbose" in net.fuse.__code__.co_varnames else net.fuse()
    module: Any
    for module in net.modules():
        if hasattr(module, "export") and hasattr(module, "stride") and hasattr(module, "nc"):
            module.export = True
            module.format = "onnx"
            module.dynamic = False
    for param in net.parameters():
        param.requires_grad_(False)
    return net


def ultralytics_metadata(detector: Detector, *, imgsz: int, precision: str, opset: int) -> dict[str, Any]:
    """The metadata Ultralytics' ONNX export writes, for ``detector`` exported at ``imgsz`` and ``precision``.

    Example:
        >>> meta = ultralytics_metadata(det, imgsz=320, precision="fp16", opset=17)  # doctest: +SKIP
        >>> meta["names"][0], meta["imgsz"]  # doctest: +SKIP
        ('person', [320, 320])
    """
    import ultralytics

    from paretodet import __version__

    model: Any = detector.model
    stride = getattr(model, "stride", None)
    yaml = getattr(model, "yaml", None)
    layers = getattr(model, "model", None)
    return {
        "description": f"{Path(detector.source).name}, compressed by paretodet {__version__}",
        "author": "paretodet",
        "date": datetime.now().astimezone().isoformat(),
        "version": ultralytics.__version__,  # the Ultralytics whose Detect head wrote the graph
        "stride": int(max(stride)) if stride is not None else 32,
        "task": "detect",
        "head": type(layers[-1]).__name__ if layers is not None else "Detect",
        "batch": 1,
        "imgsz": [imgsz, imgsz],
        "names": dict(enumerate(detector.names)),
        "args": _export_args(precision, opset=opset),
        "channels": int(yaml.get("channels", 3)) if isinstance(yaml, dict) else 3,
        "end2end": bool(getattr(model, "end2end", False)),
    }


def _export_args(precision: str, *, opset: int) -> dict[str, Any]:
    """Ultralytics' ONNX export arguments that describe this graph: static batch-1 input, no NMS inside."""
    return {
        "batch": 1,
        "dynamic": False,
        "quantize": QUANTIZE_ARG[precision],
        "opset": opset,
        "simplify": False,
        "nms": False,
    }


def _head_index(model: Any) -> int:
    indices = [int(m.group(1)) for n in model.graph.node if (m := _BLOCK.match(n.name))]
    if not indices:
        raise ExportError("ONNX graph has no Ultralytics '/model.N/' node names: cannot locate the detection head")
    return max(indices)


def head_decode_nodes(model: Any) -> list[str]:
    """Names of the detection head's decode nodes (everything in the head but its conv branches)."""
    head = _head_index(model)
    prefix = f"/model.{head}/"
    decode = []
    for node in model.graph.node:
        match = _BLOCK.match(node.name)
        if node.name.startswith(prefix) and match is not None and not match.group(2):
            decode.append(node.name)
    return decode


def quantizable_blocks(model: Any) -> dict[str, list[str]]:
    """Quantizable blocks, in graph order: ``model.K`` for backbone/neck blocks, ``model.H.cv2.i`` /
    ``model.H.cv3.i`` (``model.H.m.i`` for YOLOv5) for the head's box and class conv branches. Maps block
    name -> node names."""
    head = _head_index(model)
    blocks: dict[str, list[str]] = {}
    for node in model.graph.node:
        match = _BLOCK.match(node.name)
        if not match:
            continue
        index = int(match.group(1))
        branch = match.group(2) if index == head else None  # only the head is split into branches
        if index == head and not branch:
            continue  # the decode stays FP32
        name = f"model.{index}" + (f".{branch}" if branch else "")
        blocks.setdefault(name, []).append(node.name)
    return blocks
