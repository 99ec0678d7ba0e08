"""Datasets: the Ultralytics layout reader and the synthetic demo set."""

from __future__ import annotations

from paretodet.data._layout import (
    IMAGE_SUFFIXES,
    DatasetInfo,
    dataset_digest,
    label_path_for,
    list_images,
    load_data_yaml,
    read_labels,
    write_data_yaml,
    write_resolved_yaml,
)
from paretodet.data._letterbox import Letterbox, letterbox, read_image, unletterbox_boxes
from paretodet.data._synth import SHAPE_CLASSES, SynthSpec, synthesize

__all__ = [
    "IMAGE_SUFFIXES",
    "SHAPE_CLASSES",
    "DatasetInfo",
    "Letterbox",
    "SynthSpec",
    "dataset_digest",
    "label_path_for",
    "letterbox",
    "list_images",
    "load_data_yaml",
    "read_image",
    "read_labels",
    "synthesize",
    "unletterbox_boxes",
    "write_data_yaml",
    "write_resolved_yaml",
]
