"""Detector families behind one seam (Ultralytics, YOLOv5, torchvision), each with its own training, KD and
graph rewrites, and the packaged demo teacher.

Each family is a subpackage (``ultralytics``, ``yolov5``, ``torchvision``) with its loading, training, KD,
export and graph rewrites; what families share (the seam, the registry, the demo teachers, a teacher's
detections) sits here. The rest of paretodet reaches a family through :class:`DetectorFamily` (``get_family``)
or the public names below, each imported on first use (the families import torch and Ultralytics).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

# the public names: the imports under TYPE_CHECKING below (type checkers read them; each is imported on first use)
__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.models._base import (
        ALL_TECHNIQUES as ALL_TECHNIQUES,
        Detector as Detector,
        DetectorFamily as DetectorFamily,
        EpochCallback as EpochCallback,
        KDSettings as KDSettings,
        StudentSpec as StudentSpec,
        TrainRecipe as TrainRecipe,
    )
    from paretodet.models._device import check_device as check_device
    from paretodet.models._families import (
        family_for as family_for,
        get_family as get_family,
        list_families as list_families,
        load_detector as load_detector,
        register_family as register_family,
        techniques_for as techniques_for,
    )
    from paretodet.models._teacher import (
        DEMO_DATA_SPEC as DEMO_DATA_SPEC,
        TeacherRecipe as TeacherRecipe,
        demo_teacher_path as demo_teacher_path,
        plateau_reached as plateau_reached,
        train_demo_teacher as train_demo_teacher,
    )
    from paretodet.models._teacher_detections import (
        TeacherDetections as TeacherDetections,
        check_same_classes as check_same_classes,
    )
    from paretodet.models.torchvision import (
        DetectionKD as DetectionKD,
        build_torchvision as build_torchvision,
        is_ssd_style as is_ssd_style,
        softened_targets as softened_targets,
    )
    from paretodet.models.ultralytics import (
        QUANTIZE_ARG as QUANTIZE_ARG,
        C2fSplit as C2fSplit,
        FinetuneRecipe as FinetuneRecipe,
        attach_feature_projectors as attach_feature_projectors,
        conv_like as conv_like,
        cwd_loss as cwd_loss,
        detach_feature_projectors as detach_feature_projectors,
        distillation_loss as distillation_loss,
        distillation_terms as distillation_terms,
        finetune as finetune,
        head_decode_nodes as head_decode_nodes,
        inference_module as inference_module,
        make_student as make_student,
        quantizable_blocks as quantizable_blocks,
        split_c2f_blocks as split_c2f_blocks,
        training_batches as training_batches,
    )
    from paretodet.models.yolov5 import (
        YoloV5Detect as YoloV5Detect,
        YoloV5DistillationLoss as YoloV5DistillationLoss,
        YoloV5Gains as YoloV5Gains,
        YoloV5Loss as YoloV5Loss,
        YoloV5Model as YoloV5Model,
        assign_targets as assign_targets,
    )
