"""Counting a model file's graph without running it: parameters and GFLOPs of an ONNX file or OpenVINO IR.

- params: the elements of the constant weights and biases of Conv / ConvTranspose / Gemm / MatMul nodes (and
  BatchNorm scale and shift), each constant once, followed back through dequantize / convert / reshape nodes
  to the stored tensor (an INT8 weight counts its int8 elements). Quantization scales, zero points, anchors and
  shape constants are not parameters.
- gflops: 2 x multiply-accumulates of Conv and MatMul/Gemm nodes at a batch-1 ``imgsz`` input (as torch's FLOP
  counter counts a model: no bias adds, activations, pooling or NMS). 0.0 when the graph's shapes cannot be
  inferred.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["ir_gflops", "ir_params", "onnx_gflops", "onnx_params", "onnx_shape", "ov_shape"]

_ONNX_PASS = frozenset({"DequantizeLinear", "QuantizeLinear", "Cast", "Identity", "Reshape", "Transpose", "Squeeze"})
_ONNX_WEIGHTS = {
    "Conv": (1, 2),
    "ConvTranspose": (1, 2),
    "Gemm": (0, 1, 2),
    "MatMul": (0, 1),
    "BatchNormalization": (1, 2),
}
_OV_PASS = frozenset(
    {"Convert", "Multiply", "Subtract", "Reshape", "Transpose", "FakeQuantize", "Squeeze", "Unsqueeze"}
)
_OV_COMPUTE = frozenset({"Convolution", "GroupConvolution", "ConvolutionBackpropData", "MatMul"})


def onnx_shape(value_info: Any) -> tuple[int | None, ...]:
    """An ONNX value's shape (None: a dynamic dimension)."""
    dims = value_info.type.tensor_type.shape.dim
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)


def ov_shape(shape: Any) -> tuple[int | None, ...]:
    """An OpenVINO partial shape as a tuple (None: a dynamic dimension)."""
    return tuple(d.get_length() if d.is_static else None for d in shape)


def onnx_params(graph: Any) -> int:
    """Parameters of an ONNX graph (see the module docstring).

    Example:
        >>> onnx_params(onnx.load("yolov8n.onnx").graph)  # doctest: +SKIP
        3151904
    """
    inits = {t.name: t for t in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    counted: set[str] = set()
    params = 0
    for node in graph.node:
        for index in _ONNX_WEIGHTS.get(node.op_type, ()):
            source = _onnx_constant(node.input[index], inits, producers) if index < len(node.input) else None
            if source is not None and source.name not in counted:
                counted.add(source.name)
                params += math.prod(source.dims)
    return params


def _onnx_constant(name: str, inits: dict[str, Any], producers: dict[str, Any]) -> Any:
    """The initializer (or Constant node tensor) ``name`` comes from through pass-through nodes, else None."""
    for _ in range(8):
        if name in inits:
            return inits[name]
        node = producers.get(name)
        if node is None:
            return None
        if node.op_type == "Constant":
            return next((a.t for a in node.attribute if a.name == "value"), None)
        if node.op_type not in _ONNX_PASS or not node.input:
            return None
        name = node.input[0]
    return None


def onnx_gflops(model: Any, imgsz: int) -> float:
    """Conv and MatMul/Gemm GFLOPs after ONNX shape inference at a (1, 3, imgsz, imgsz) input; 0.0 if unknown."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    inits = {t.name for t in copy.graph.initializer}
    feed = next(i for i in copy.graph.input if i.name not in inits)
    for dim, value in zip(feed.type.tensor_type.shape.dim, (1, 3, imgsz, imgsz), strict=False):
        dim.dim_value = value
    inferred = _inferred_graph(copy)
    if inferred is None:
        return 0.0
    shapes = {t.name: tuple(t.dims) for t in inferred.initializer}
    for info in (*inferred.input, *inferred.value_info, *inferred.output):
        shapes[info.name] = onnx_shape(info)
    macs = 0
    for node in inferred.node:
        if node.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        trans_a = any(attr.name == "transA" and attr.i for attr in node.attribute)
        shape_of = (shapes.get(n, ()) for n in (node.output[0], node.input[0], node.input[1]))
        count = _macs(node.op_type == "Conv", *shape_of, transpose_a=trans_a, groups_first=False)
        if count is None:
            return 0.0
        macs += count
    return 2 * macs / 1e9


def _inferred_graph(model: Any) -> Any:
    """``model``'s graph with every tensor's shape: ONNX Runtime's symbolic shape inference (it folds the shape
    arithmetic of split/slice blocks), else ONNX's own; None when both fail."""
    import onnx

    try:
        from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

        return SymbolicShapeInference.infer_shapes(model, auto_merge=True).graph
    except Exception:
        pass
    try:
        return onnx.shape_inference.infer_shapes(model).graph
    except Exception:
        return None


def _macs(
    conv: bool,
    out: tuple[int | None, ...],
    a: tuple[int | None, ...],
    w: tuple[int | None, ...],
    *,
    transpose_a: bool,
    groups_first: bool,
) -> int | None:
    """Multiply-accumulates of a convolution (weights ``w``; ``groups_first``: OpenVINO's grouped layout
    ``(G, O/G, I/G, kh, kw)``) or a matmul (input ``a``) with output ``out``; None when a shape is unknown."""
    dims = [d for d in (*out, *a, *w) if d is not None]
    if not out or not a or not w or len(dims) != len(out) + len(a) + len(w):
        return None
    known = [int(d) for d in dims]
    o, x, k = known[: len(out)], known[len(out) : len(out) + len(a)], known[len(out) + len(a) :]
    if conv:
        return math.prod(o) * math.prod(k[2:] if groups_first else k[1:])
    return math.prod(o) * (x[-2] if transpose_a else x[-1])


def _ov_constant(node: Any) -> Any:
    """The Constant ``node`` comes from through decompression / reshape nodes (first inputs), else None."""
    for _ in range(8):
        kind = node.get_type_name()
        if kind == "Constant":
            return node
        if kind not in _OV_PASS:
            return None
        node = node.input_value(0).get_node()
    return None


def ir_params(ops: list[Any]) -> int:
    counted: set[str] = set()
    total = 0
    for op in ops:
        kind = op.get_type_name()
        if kind in _OV_COMPUTE:
            indices = (0, 1) if kind == "MatMul" else (1,)
        elif kind == "Add" and op.input_value(0).get_node().get_type_name() in _OV_COMPUTE:
            indices = (1,)  # a layer's bias
        else:
            continue
        for index in indices:
            const = _ov_constant(op.input_value(index).get_node())
            if const is not None and const.get_friendly_name() not in counted:
                counted.add(const.get_friendly_name())
                total += math.prod(const.get_output_shape(0))
    return total


def ir_gflops(xml: Path, imgsz: int) -> float:
    """Convolution and MatMul GFLOPs of the IR reshaped to (1, 3, imgsz, imgsz); 0.0 when shapes stay unknown."""
    import openvino as ov

    model = ov.Core().read_model(str(xml))
    try:
        if not model.inputs[0].get_partial_shape().is_static:
            model.reshape({model.inputs[0]: ov.PartialShape([1, 3, imgsz, imgsz])})
    except Exception:
        return 0.0
    macs = 0
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        if kind not in ("Convolution", "GroupConvolution", "MatMul"):
            continue
        shapes = (op.get_output_partial_shape(0), op.get_input_partial_shape(0), op.get_input_partial_shape(1))
        count = _macs(
            kind != "MatMul",
            *map(ov_shape, shapes),
            transpose_a=bool(op.get_attributes().get("transpose_a")),
            groups_first=kind == "GroupConvolution",
        )
        if count is None:
            return 0.0
        macs += count
    return 2 * macs / 1e9
