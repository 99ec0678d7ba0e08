"""Compression techniques and the artifacts they produce."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "_openvino": ("onnx_to_ir",),
    "_engines": (
        "Int8Engine",
        "Int8Request",
        "int8_engine",
        "int8_engine_names",
    ),
    "_c2f": (
        "C2fSplit",
        "register_safe_globals",
        "split_c2f_blocks",
    ),
    "_distill": (
        "StudentSpec",
        "distillation_loss",
        "distillation_terms",
        "make_student",
    ),
    "_features": (
        "attach_feature_projectors",
        "cwd_loss",
        "detach_feature_projectors",
    ),
    "_export": (
        "ONNX_OPSET",
        "atomic_path",
        "count_gflops",
        "export_artifact",
        "inference_module",
    ),
    "_metadata": (
        "METADATA_KEYS",
        "read_onnx_metadata",
        "ultralytics_metadata",
    ),
    "_finetune": (
        "FinetuneRecipe",
        "finetune",
        "training_batches",
    ),
    "_choices": (
        "MAX_PRUNE_RATIO",
        "PRUNE_METHODS",
        "STRUCTURED_METHODS",
    ),
    "_prune": (
        "PruneReport",
        "PruneSpec",
        "prune_model",
        "structured_prune",
    ),
    "_qat": (
        "FakeQuantConv",
        "QatRecipe",
        "prepare_qat",
        "qat_finetune",
        "strip_qat",
    ),
    "_quantize": (
        "CALIBRATION_METHODS",
        "Int8Settings",
        "LetterboxCalibrationReader",
        "head_decode_nodes",
        "pick_calibration_images",
        "quantizable_blocks",
        "quantize_int8",
        "uses_reduced_range",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers
    from paretodet.compress._c2f import (
        C2fSplit as C2fSplit,
        register_safe_globals as register_safe_globals,
        split_c2f_blocks as split_c2f_blocks,
    )
    from paretodet.compress._choices import (
        MAX_PRUNE_RATIO as MAX_PRUNE_RATIO,
        PRUNE_METHODS as PRUNE_METHODS,
        STRUCTURED_METHODS as STRUCTURED_METHODS,
    )
    from paretodet.compress._distill import (
        StudentSpec as StudentSpec,
        distillation_loss as distillation_loss,
        distillation_terms as distillation_terms,
        make_student as make_student,
    )
    from paretodet.compress._engines import (
        Int8Engine as Int8Engine,
        Int8Request as Int8Request,
        int8_engine as int8_engine,
        int8_engine_names as int8_engine_names,
    )
    from paretodet.compress._export import (
        ONNX_OPSET as ONNX_OPSET,
        atomic_path as atomic_path,
        count_gflops as count_gflops,
        export_artifact as export_artifact,
        inference_module as inference_module,
    )
    from paretodet.compress._features import (
        attach_feature_projectors as attach_feature_projectors,
        cwd_loss as cwd_loss,
        detach_feature_projectors as detach_feature_projectors,
    )
    from paretodet.compress._finetune import (
        FinetuneRecipe as FinetuneRecipe,
        finetune as finetune,
        training_batches as training_batches,
    )
    from paretodet.compress._metadata import (
        METADATA_KEYS as METADATA_KEYS,
        read_onnx_metadata as read_onnx_metadata,
        ultralytics_metadata as ultralytics_metadata,
    )
    from paretodet.compress._openvino import onnx_to_ir as onnx_to_ir
    from paretodet.compress._prune import (
        PruneReport as PruneReport,
        PruneSpec as PruneSpec,
        prune_model as prune_model,
        structured_prune as structured_prune,
    )
    from paretodet.compress._qat import (
        FakeQuantConv as FakeQuantConv,
        QatRecipe as QatRecipe,
        prepare_qat as prepare_qat,
        qat_finetune as qat_finetune,
        strip_qat as strip_qat,
    )
    from paretodet.compress._quantize import (
        CALIBRATION_METHODS as CALIBRATION_METHODS,
        Int8Settings as Int8Settings,
        LetterboxCalibrationReader as LetterboxCalibrationReader,
        head_decode_nodes as head_decode_nodes,
        pick_calibration_images as pick_calibration_images,
        quantizable_blocks as quantizable_blocks,
        quantize_int8 as quantize_int8,
        uses_reduced_range as uses_reduced_range,
    )
