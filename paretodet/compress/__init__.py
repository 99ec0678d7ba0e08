"""Compression techniques and the artifacts they produce."""

from __future__ import annotations

from paretodet.compress._artifact import RUNTIMES, Artifact
from paretodet.compress._c2f import C2fSplit, register_safe_globals, split_c2f_blocks
from paretodet.compress._distill import StudentSpec, distillation_loss, distillation_terms, make_student
from paretodet.compress._export import ONNX_OPSET, atomic_path, count_gflops, export_artifact, inference_module
from paretodet.compress._finetune import FinetuneRecipe, finetune, training_batches
from paretodet.compress._prune import (
    MAX_PRUNE_RATIO,
    PRUNE_METHODS,
    STRUCTURED_METHODS,
    PruneReport,
    PruneSpec,
    prune_model,
    structured_prune,
)
from paretodet.compress._qat import FakeQuantConv, QatRecipe, prepare_qat, qat_finetune, strip_qat
from paretodet.compress._quantize import (
    CALIBRATION_METHODS,
    Int8Settings,
    LetterboxCalibrationReader,
    head_decode_nodes,
    pick_calibration_images,
    quantizable_blocks,
    quantize_int8,
    uses_reduced_range,
)

__all__ = [
    "CALIBRATION_METHODS",
    "MAX_PRUNE_RATIO",
    "ONNX_OPSET",
    "PRUNE_METHODS",
    "STRUCTURED_METHODS",
    "C2fSplit",
    "FinetuneRecipe",
    "PruneReport",
    "PruneSpec",
    "StudentSpec",
    "RUNTIMES",
    "Artifact",
    "FakeQuantConv",
    "Int8Settings",
    "LetterboxCalibrationReader",
    "QatRecipe",
    "atomic_path",
    "count_gflops",
    "distillation_loss",
    "distillation_terms",
    "export_artifact",
    "make_student",
    "training_batches",
    "finetune",
    "prune_model",
    "register_safe_globals",
    "split_c2f_blocks",
    "structured_prune",
    "head_decode_nodes",
    "inference_module",
    "pick_calibration_images",
    "prepare_qat",
    "qat_finetune",
    "quantizable_blocks",
    "quantize_int8",
    "strip_qat",
    "uses_reduced_range",
]
