"""One reader for every dataset format: load a YAML or a folder, list a split's images, read an image's truth."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from paretodet.base import file_digest
from paretodet.data._coco import coco_from_folder, coco_images, read_coco_truth
from paretodet.data._info import DatasetInfo, ImageTruth, image_size
from paretodet.data._layout import label_path_for, list_images, load_data_yaml, read_labels
from paretodet.data._voc import read_voc_truth, voc_annotation_path, voc_from_folder, voc_images
from paretodet.errors import DataError

__all__ = ["dataset_digest", "load_dataset", "read_truth", "split_images"]

FOLDER_YAML = "data.yaml"


def load_dataset(path: Path | str) -> DatasetInfo:
    """Load a dataset from a data YAML (see ``load_data_yaml``) or a folder.

    A folder is read as: its ``data.yaml`` when it has one; else VOC when it is (or holds, directly or in
    ``VOCdevkit/``) one ``VOC20xx`` folder; else COCO when it has ``annotations/instances_*.json``.

    Example:
        >>> info = load_dataset("VOCdevkit/VOC2007")  # doctest: +SKIP
        >>> info.format, info.nc  # doctest: +SKIP
        ('voc', 20)
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return load_data_yaml(path)
    if (folder / FOLDER_YAML).is_file():
        return load_data_yaml(folder / FOLDER_YAML)
    folder = folder.resolve()
    info = voc_from_folder(folder) or coco_from_folder(folder)
    if info is None:
        raise DataError(
            f"{folder} is neither a VOC folder (VOCdevkit/VOC20xx) nor a COCO one (annotations/instances_*.json) "
            f"and has no {FOLDER_YAML}: pass a data YAML with --data"
        )
    return info


def split_images(info: DatasetInfo, split: str = "val") -> list[Path]:
    """The images of ``split`` (``"train"`` or ``"val"``), sorted; DataError for a missing image or split.

    Example:
        >>> images = split_images(load_dataset("data.yaml"), "val")  # doctest: +SKIP
    """
    images, annotations = info.split(split)
    if info.format == "voc":
        return voc_images(images)
    if info.format == "coco":
        assert annotations is not None
        return coco_images(images, annotations)
    return list_images(images)


def read_truth(info: DatasetInfo, image: Path) -> ImageTruth:
    """The ground truth of one image of ``info`` (an image that ``split_images`` lists).

    yolo: its label file (normalised ``cx cy w h`` -> pixels; the size from the image header); voc: its XML
    (``difficult`` kept); coco: its JSON entry (``iscrowd`` objects are difficult). Bad input raises DataError
    naming the file.

    Example:
        >>> truth = read_truth(info, split_images(info)[0])  # doctest: +SKIP
        >>> truth.boxes.shape  # doctest: +SKIP
        (3, 4)
    """
    if info.format == "voc":
        return read_voc_truth(image, info.names)
    if info.format == "coco":
        return read_coco_truth(info, image)
    rows = read_labels(label_path_for(image), nc=info.nc)
    height, width = image_size(image)
    table = np.array([r[1:] for r in rows], dtype=np.float64).reshape(-1, 4)
    cx, cy, w, h = table.T
    boxes = np.stack([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height], 1)
    classes = np.array([r[0] for r in rows], dtype=np.int64)
    return ImageTruth(image, height, width, boxes, classes, np.zeros(len(rows), bool))


def dataset_digest(info: DatasetInfo) -> str:
    """Short hash of a dataset's content (class names, image names and sizes, label / annotation bytes): cache
    keys of the stages that read data (calibration, sensitivity, fine-tuning) include it."""
    h = hashlib.sha256(json.dumps(list(info.names)).encode())
    if info.format != "yolo":  # (the yolo digest stays what it always was)
        h.update(f"{info.format}:{list(info.category_ids)};".encode())
    for split, images, ann_file in (
        ("train", info.train, info.train_annotations),
        ("val", info.val, info.val_annotations),
    ):
        if images is None:
            continue
        if info.format == "coco" and ann_file is not None:
            h.update(file_digest(ann_file, length=64).encode())
        for image in split_images(info, split):
            h.update(f"{image.name}:{image.stat().st_size};".encode())
            label = voc_annotation_path(image) if info.format == "voc" else label_path_for(image)
            if info.format != "coco" and label.is_file():
                h.update(label.read_bytes())
    return h.hexdigest()[:16]
