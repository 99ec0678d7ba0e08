"""Datasets: the Ultralytics layout reader and the synthetic demo set."""

from __future__ import annotations

from paretodet.data._layout import (
    IMAGE_SUFFIXES,
    DatasetInfo,
    label_path_for,
    list_images,
    load_data_yaml,
    read_labels,
    write_data_yaml,
    write_resolved_yaml,
)
from paretodet.data._synth import SHAPE_CLASSES, SynthSpec, synthesize

__all__ = [
    "IMAGE_SUFFIXES",
    "SHAPE_CLASSES",
    "DatasetInfo",
    "SynthSpec",
    "label_path_for",
    "list_images",
    "load_data_yaml",
    "read_labels",
    "synthesize",
    "write_data_yaml",
    "write_resolved_yaml",
]
