"""Detector families behind one seam (Ultralytics, YOLOv5, torchvision) and the packaged demo teacher."""

from __future__ import annotations

from paretodet.base import file_digest
from paretodet.models._base import ALL_TECHNIQUES, Detector, DetectorFamily, KDSettings, TrainRecipe
from paretodet.models._device import check_device
from paretodet.models._families import family_for, get_family, list_families, load_detector, register_family
from paretodet.models._teacher import (
    DEMO_DATA_SPEC,
    TeacherRecipe,
    demo_teacher_path,
    plateau_reached,
    train_demo_teacher,
)
from paretodet.models._tv_teacher import (
    TorchvisionTeacherRecipe,
    torchvision_teacher_path,
    train_torchvision_teacher,
)

__all__ = [
    "ALL_TECHNIQUES",
    "DEMO_DATA_SPEC",
    "Detector",
    "DetectorFamily",
    "KDSettings",
    "TeacherRecipe",
    "TorchvisionTeacherRecipe",
    "TrainRecipe",
    "check_device",
    "demo_teacher_path",
    "family_for",
    "file_digest",
    "get_family",
    "list_families",
    "load_detector",
    "plateau_reached",
    "register_family",
    "torchvision_teacher_path",
    "train_demo_teacher",
    "train_torchvision_teacher",
]
