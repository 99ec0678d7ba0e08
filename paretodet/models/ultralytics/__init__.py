"""The Ultralytics family (YOLOv8/v11 and every model Ultralytics builds): loading without running code from
checkpoints, its trainer, KD (same-family logits and features, cross-family detections), the ONNX export
wrapper and its INT8 blocks, and the C2f rewrite that makes its channel split prunable.

The YOLOv5 family reuses this family's trainer and deployment path through the names below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.models.ultralytics._c2f import (
        C2fSplit as C2fSplit,
        conv_like as conv_like,
        split_c2f_blocks as split_c2f_blocks,
    )
    from paretodet.models.ultralytics._family import UltralyticsFamily as UltralyticsFamily
    from paretodet.models.ultralytics._features import (
        attach_feature_projectors as attach_feature_projectors,
        cwd_loss as cwd_loss,
        detach_feature_projectors as detach_feature_projectors,
    )
    from paretodet.models.ultralytics._kd import (
        distillation_loss as distillation_loss,
        distillation_terms as distillation_terms,
        make_student as make_student,
    )
    from paretodet.models.ultralytics._load import (
        is_yolov5_checkpoint as is_yolov5_checkpoint,
        load_ultralytics as load_ultralytics,
        pickled_globals as pickled_globals,
    )
    from paretodet.models.ultralytics._onnx import (
        QUANTIZE_ARG as QUANTIZE_ARG,
        head_decode_nodes as head_decode_nodes,
        inference_module as inference_module,
        quantizable_blocks as quantizable_blocks,
    )
    from paretodet.models.ultralytics._recipe import FinetuneRecipe as FinetuneRecipe
    from paretodet.models.ultralytics._train import (
        finetune as finetune,
        training_batches as training_batches,
    )
