"""What an ONNX file or an OpenVINO IR says about itself, read without running it: metadata, input and output
shapes, precision, and the parameters and GFLOPs of its graph (counted by ``_graph_counts``)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paretodet.errors import ModelError, first_line
from paretodet.runtimes._graph_counts import ir_gflops, ir_params, onnx_gflops, onnx_params, onnx_shape, ov_shape

__all__ = ["FileFacts", "ir_facts", "onnx_facts", "parse_value"]

_ONNX_QUANT_OPS = frozenset(
    {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger"}
)
_OV_INT_WEIGHTS = frozenset({"i8", "u8", "i4", "u4"})
_FLOAT16 = 10  # onnx.TensorProto.FLOAT16


@dataclass
class FileFacts:
    """What a model file says about itself.

    Attributes:
        path: the file read (``.onnx`` or ``.xml``).
        metadata: its metadata, values parsed (``names`` a dict, ``imgsz`` a list ...).
        input_shape: the first input's shape (None: a dynamic dimension).
        output_shapes: each output's shape, in output order.
        precision: ``fp32``, ``fp16`` or ``int8``, read from the graph.
        params: see ``_graph_counts``.
        gflops_at: ``imgsz -> GFLOPs`` (see ``_graph_counts``).
    """

    path: Path
    metadata: dict[str, Any]
    input_shape: tuple[int | None, ...]
    output_shapes: list[tuple[int | None, ...]]
    precision: str
    params: int
    gflops_at: Callable[[int], float] = field(repr=False)


def parse_value(value: Any) -> Any:
    """A metadata value as Ultralytics wrote it (``str(value)`` in ONNX) parsed back; other text as it is.

    Example:
        >>> parse_value("[320, 320]"), parse_value("detect")
        ([320, 320], 'detect')
    """
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def onnx_facts(path: Path) -> FileFacts:
    """The facts of ONNX file ``path``; ModelError when ONNX cannot read it.

    Example:
        >>> onnx_facts(Path("yolov8n.onnx")).output_shapes  # doctest: +SKIP
        [(1, 84, 8400)]
    """
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception as exc:
        raise ModelError(f"{path} is not a readable ONNX file ({first_line(exc)}): pass an ONNX model") from None
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    feeds = [i for i in graph.input if i.name not in inits]
    if not feeds or not graph.output:
        raise ModelError(f"{path} has no graph input or output: pass a detection model")
    ops = {node.op_type for node in graph.node}
    if ops & _ONNX_QUANT_OPS:
        precision = "int8"
    else:
        precision = "fp16" if any(t.data_type == _FLOAT16 for t in inits.values()) else "fp32"
    return FileFacts(
        path=path,
        metadata={p.key: parse_value(p.value) for p in model.metadata_props},
        input_shape=onnx_shape(feeds[0]),
        output_shapes=[onnx_shape(o) for o in graph.output],
        precision=precision,
        params=onnx_params(graph),
        gflops_at=lambda imgsz: onnx_gflops(model, imgsz),
    )


def ir_facts(xml: Path) -> FileFacts:
    """The facts of OpenVINO IR ``xml`` (its ``.bin`` beside it); its metadata is what converting an ONNX file
    kept (``rt_info`` ``framework``), empty otherwise. ModelError when OpenVINO cannot read it.

    Example:
        >>> ir_facts(Path("best_openvino_model/best.xml")).precision  # doctest: +SKIP
        'fp32'
    """
    import openvino as ov

    try:
        model = ov.Core().read_model(str(xml))
    except Exception as exc:
        raise ModelError(f"OpenVINO cannot read {xml} ({first_line(exc)}): pass an IR .xml with its .bin") from None
    ops = model.get_ordered_ops()
    weights = {str(op.get_element_type().get_type_name()) for op in ops if op.get_type_name() == "Constant"}
    if any(op.get_type_name() == "FakeQuantize" for op in ops) or weights & _OV_INT_WEIGHTS:
        precision = "int8"
    else:
        precision = "fp16" if "f16" in weights else "fp32"
    return FileFacts(
        path=xml,
        metadata=_ir_metadata(model),
        input_shape=ov_shape(model.inputs[0].get_partial_shape()),
        output_shapes=[ov_shape(o.get_partial_shape()) for o in model.outputs],
        precision=precision,
        params=ir_params(ops),
        gflops_at=lambda imgsz: ir_gflops(xml, imgsz),
    )


def _ir_metadata(model: Any) -> dict[str, Any]:
    """The ONNX metadata an IR converted from ONNX keeps, plus Ultralytics' ``model_info`` labels."""
    meta: dict[str, Any] = {}
    if model.has_rt_info(["framework"]):
        table = model.get_rt_info(["framework"]).astype(dict)
        meta = {key: parse_value(value.astype(str)) for key, value in table.items()}
    if model.has_rt_info(["model_info", "labels"]):
        meta["labels"] = str(model.get_rt_info(["model_info", "labels"]).astype(str)).split()
    return meta
