"""Family-agnostic compression drivers: export, quantize (PTQ, QAT), prune, and the INT8 engines; a family's
own pieces (its trainer, KD loss, graph rewrites) live with it in ``paretodet.models``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

# the public names: the imports under TYPE_CHECKING below (type checkers read them; each is imported on first use)
__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.compress._choices import (
        MAX_PRUNE_RATIO as MAX_PRUNE_RATIO,
        PRUNE_METHODS as PRUNE_METHODS,
        STRUCTURED_METHODS as STRUCTURED_METHODS,
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
    )
    from paretodet.compress._metadata import (
        METADATA_KEYS as METADATA_KEYS,
        read_onnx_metadata as read_onnx_metadata,
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
        pick_calibration_images as pick_calibration_images,
        quantize_int8 as quantize_int8,
        uses_reduced_range as uses_reduced_range,
    )
