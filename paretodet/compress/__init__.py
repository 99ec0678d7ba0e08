"""Compression techniques and the artifacts they produce."""

from __future__ import annotations

from paretodet.compress._artifact import RUNTIMES, Artifact
from paretodet.compress._export import ONNX_OPSET, count_gflops, export_artifact, inference_module

__all__ = ["ONNX_OPSET", "RUNTIMES", "Artifact", "count_gflops", "export_artifact", "inference_module"]
