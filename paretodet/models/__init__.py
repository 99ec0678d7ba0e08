"""Model adapters (Ultralytics first) and the packaged demo teacher."""

from __future__ import annotations

from paretodet.models._teacher import (
    DEMO_DATA_SPEC,
    TeacherRecipe,
    demo_teacher_path,
    plateau_reached,
    train_demo_teacher,
)
from paretodet.models._ultralytics import Detector, file_digest, load_detector

__all__ = [
    "DEMO_DATA_SPEC",
    "Detector",
    "TeacherRecipe",
    "demo_teacher_path",
    "file_digest",
    "load_detector",
    "plateau_reached",
    "train_demo_teacher",
]
