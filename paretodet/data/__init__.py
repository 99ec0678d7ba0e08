"""Datasets: Ultralytics (YOLO), Pascal VOC and COCO-JSON readers behind one API, and the synthetic demo set."""

from __future__ import annotations

from paretodet.data._classes import CLASS_NAME_CHECKS, ClassCheck, check_class_names, names_unknown
from paretodet.data._dataset import dataset_digest, load_dataset, read_truth, split_images
from paretodet.data._info import FORMATS, IMAGE_SUFFIXES, DatasetInfo, ImageTruth
from paretodet.data._layout import (
    label_path_for,
    list_images,
    load_data_yaml,
    read_labels,
    write_data_yaml,
    write_resolved_yaml,
)
from paretodet.data._letterbox import Letterbox, letterbox, read_image, unletterbox_boxes
from paretodet.data._subset import val_subset
from paretodet.data._synth import SHAPE_CLASSES, SynthSpec, synthesize
from paretodet.data._voc import VOC_CLASSES
from paretodet.data._yolo_view import ultralytics_data_yaml, yolo_label_text, yolo_view

__all__ = [
    "CLASS_NAME_CHECKS",
    "FORMATS",
    "IMAGE_SUFFIXES",
    "SHAPE_CLASSES",
    "VOC_CLASSES",
    "ClassCheck",
    "DatasetInfo",
    "ImageTruth",
    "Letterbox",
    "SynthSpec",
    "check_class_names",
    "dataset_digest",
    "label_path_for",
    "letterbox",
    "list_images",
    "load_data_yaml",
    "load_dataset",
    "names_unknown",
    "read_image",
    "read_labels",
    "read_truth",
    "split_images",
    "synthesize",
    "ultralytics_data_yaml",
    "unletterbox_boxes",
    "val_subset",
    "write_data_yaml",
    "write_resolved_yaml",
    "yolo_label_text",
    "yolo_view",
]
