"""Detector families behind one seam (Ultralytics, YOLOv5, torchvision), each with its own training, KD and
graph rewrites, and the packaged demo teacher.

A family's own modules carry its name (``_ultralytics_*``, ``_yolov5*``, ``_torchvision_*``); the rest of
paretodet reaches a family through :class:`DetectorFamily` (``get_family``) or the public names below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import file_digest, lazy_exports
from paretodet.models._base import ALL_TECHNIQUES, Detector, DetectorFamily, EpochCallback, KDSettings, TrainRecipe
from paretodet.models._device import check_device
from paretodet.models._families import family_for, get_family, list_families, load_detector, register_family
from paretodet.models._teacher import (
    DEMO_DATA_SPEC,
    TeacherRecipe,
    demo_teacher_path,
    plateau_reached,
    train_demo_teacher,
)

# the families' own pieces, imported on first use (they import torch and Ultralytics)
_EXPORTS: dict[str, tuple[str, ...]] = {
    "_ultralytics_c2f": ("C2fSplit", "conv_like", "register_safe_globals", "split_c2f_blocks"),
    "_ultralytics_features": ("attach_feature_projectors", "cwd_loss", "detach_feature_projectors"),
    "_ultralytics_kd": ("StudentSpec", "distillation_loss", "distillation_terms", "make_student"),
    "_ultralytics_onnx": ("QUANTIZE_ARG", "head_decode_nodes", "inference_module", "quantizable_blocks"),
    "_ultralytics_train": ("FinetuneRecipe", "finetune", "training_batches"),
    "_torchvision": ("build_torchvision",),
    "_torchvision_kd": ("DetectionKD", "TeacherDetections", "is_ssd_style", "softened_targets"),
}
__getattr__, _lazy_dir, _lazy_all = lazy_exports(__name__, _EXPORTS)
__all__ = [
    "ALL_TECHNIQUES",
    "C2fSplit",
    "DEMO_DATA_SPEC",
    "DetectionKD",
    "Detector",
    "DetectorFamily",
    "EpochCallback",
    "FinetuneRecipe",
    "KDSettings",
    "QUANTIZE_ARG",
    "StudentSpec",
    "TeacherDetections",
    "TeacherRecipe",
    "TrainRecipe",
    "attach_feature_projectors",
    "build_torchvision",
    "check_device",
    "conv_like",
    "cwd_loss",
    "demo_teacher_path",
    "detach_feature_projectors",
    "distillation_loss",
    "distillation_terms",
    "family_for",
    "file_digest",
    "finetune",
    "get_family",
    "head_decode_nodes",
    "inference_module",
    "is_ssd_style",
    "list_families",
    "load_detector",
    "make_student",
    "plateau_reached",
    "quantizable_blocks",
    "register_family",
    "register_safe_globals",
    "softened_targets",
    "split_c2f_blocks",
    "train_demo_teacher",
    "training_batches",
]


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))


if TYPE_CHECKING:  # the lazy names, for type checkers
    from paretodet.models._torchvision import build_torchvision as build_torchvision
    from paretodet.models._torchvision_kd import (
        DetectionKD as DetectionKD,
        TeacherDetections as TeacherDetections,
        is_ssd_style as is_ssd_style,
        softened_targets as softened_targets,
    )
    from paretodet.models._ultralytics_c2f import (
        C2fSplit as C2fSplit,
        conv_like as conv_like,
        register_safe_globals as register_safe_globals,
        split_c2f_blocks as split_c2f_blocks,
    )
    from paretodet.models._ultralytics_features import (
        attach_feature_projectors as attach_feature_projectors,
        cwd_loss as cwd_loss,
        detach_feature_projectors as detach_feature_projectors,
    )
    from paretodet.models._ultralytics_kd import (
        StudentSpec as StudentSpec,
        distillation_loss as distillation_loss,
        distillation_terms as distillation_terms,
        make_student as make_student,
    )
    from paretodet.models._ultralytics_onnx import (
        QUANTIZE_ARG as QUANTIZE_ARG,
        head_decode_nodes as head_decode_nodes,
        inference_module as inference_module,
        quantizable_blocks as quantizable_blocks,
    )
    from paretodet.models._ultralytics_train import (
        FinetuneRecipe as FinetuneRecipe,
        finetune as finetune,
        training_batches as training_batches,
    )
