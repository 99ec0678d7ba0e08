"""Pascal VOC layout: ``VOCdevkit/VOC20xx/{JPEGImages, Annotations, ImageSets/Main}``.

A split is an ``ImageSets/Main/<split>.txt`` list of image ids; image ``<id>`` is ``JPEGImages/<id>.jpg`` (any
image suffix is accepted) and its objects are in ``Annotations/<id>.xml``.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paretodet.data._info import (
    IMAGE_SUFFIXES,
    DatasetInfo,
    ImageTruth,
    dataset_root,
    image_size,
    parse_names,
    split_path,
)
from paretodet.errors import DataError

__all__ = [
    "VOC_CLASSES",
    "read_voc_truth",
    "voc_annotation_path",
    "voc_from_folder",
    "voc_from_yaml",
    "voc_images",
    "write_voc_xml",
]

VOC_CLASSES: tuple[str, ...] = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip
_YEAR = re.compile(r"VOC\d{4}")
_SLACK = 1.0  # pixels a box may stick out of its image before it is an error


def voc_from_yaml(raw: dict[str, Any], yaml_path: Path) -> DatasetInfo:
    """The VOC dataset a ``format: voc`` data YAML describes (see ``load_data_yaml`` for the schema)."""
    root = dataset_root(raw.get("path"), yaml_path)
    names = VOC_CLASSES if raw.get("names") is None else parse_names(raw.get("names"), yaml_path)
    if not names:
        raise DataError(f"data YAML {yaml_path}: 'names' is empty: list the classes, or drop it for the VOC classes")
    if not raw.get("val"):
        raise DataError(f"data YAML {yaml_path} has no 'val' split: add 'val: VOC2007/ImageSets/Main/val.txt'")
    val = _checked_list(split_path(root, raw["val"], yaml_path, "val"), f"data YAML {yaml_path}", "val")
    train = None
    if raw.get("train"):
        train = _checked_list(split_path(root, raw["train"], yaml_path, "train"), f"data YAML {yaml_path}", "train")
    return _info(yaml_path.resolve(), root, train, val, names)


def voc_from_folder(folder: Path) -> DatasetInfo | None:
    """The VOC dataset of a ``VOCdevkit/VOC20xx`` folder, or of a folder (or its ``VOCdevkit``) holding exactly
    one ``VOC20xx``; ``None`` when ``folder`` is not VOC.

    Splits: ``test.txt`` is val (train = ``trainval.txt``) where the year has a test list, else ``val.txt``
    (train = ``train.txt``). Classes are the 20 VOC classes; other classes need a data YAML with ``names``.
    """
    year = _find_year(folder)
    if year is None:
        return None
    main = year / "ImageSets" / "Main"
    train_lists: tuple[Path, ...]
    if (main / "test.txt").is_file():
        val, train_lists = main / "test.txt", (main / "trainval.txt", main / "train.txt")
    elif (main / "val.txt").is_file():
        val, train_lists = main / "val.txt", (main / "train.txt",)
    else:
        raise DataError(f"VOC folder {year} has no ImageSets/Main/test.txt or val.txt: add one, or pass a data YAML")
    train = next((p for p in train_lists if p.is_file()), None)
    where = f"VOC folder {year}"
    val = _checked_list(val, where, "val")
    train = _checked_list(train, where, "train") if train is not None else None
    return _info(folder.resolve(), year.parent.resolve(), train, val, VOC_CLASSES)


def _find_year(folder: Path) -> Path | None:
    """The ``VOC20xx`` folder that ``folder`` is or holds (directly or in ``VOCdevkit/``)."""
    if _YEAR.fullmatch(folder.name) and (folder / "ImageSets" / "Main").is_dir():
        return folder
    years: list[Path] = []
    for devkit in (folder, folder / "VOCdevkit"):
        if devkit.is_dir():
            years += [p for p in devkit.iterdir() if _YEAR.fullmatch(p.name) and (p / "ImageSets" / "Main").is_dir()]
    if len(years) > 1:
        listed = ", ".join(sorted(str(p) for p in years))
        raise DataError(f"{folder} holds several VOC years ({listed}): pass one of them with --data")
    return years[0] if years else None


def _info(yaml_path: Path, root: Path, train: Path | None, val: Path, names: tuple[str, ...]) -> DatasetInfo:
    return DatasetInfo(
        yaml_path=yaml_path,
        root=root,
        train=train,
        val=val,
        names=names,
        format="voc",
        train_annotations=_year(train) / "Annotations" if train is not None else None,
        val_annotations=_year(val) / "Annotations",
    )


def _year(list_file: Path) -> Path:
    """``VOC20xx`` of ``VOC20xx/ImageSets/Main/<split>.txt``."""
    return list_file.parent.parent.parent


def _checked_list(path: Path, where: str, key: str) -> Path:
    """``path`` when it is an ImageSets list inside a VOC year folder, else DataError."""
    if not path.is_file():
        example = f"VOC2007/ImageSets/Main/{key}.txt"
        raise DataError(f"{where}: VOC '{key}' must be a list file such as {example}, not {path}")
    for sub in ("JPEGImages", "Annotations"):
        if not (_year(path) / sub).is_dir():
            raise DataError(
                f"{where}: {_year(path) / sub} is missing: VOC lists sit in VOC20xx/ImageSets/Main/ "
                f"beside VOC20xx/JPEGImages/ and VOC20xx/Annotations/ (check '{key}')"
            )
    return path


def voc_images(list_file: Path) -> list[Path]:
    """The images an ImageSets list names (sorted); DataError for an id without an image."""
    try:
        text = list_file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{list_file} is not UTF-8 text (byte {exc.start}): write one image id a line") from None
    except OSError as exc:
        raise DataError(f"cannot read {list_file} ({exc.strerror}): check the file") from None
    ids = dict.fromkeys(line.split()[0] for line in text.splitlines() if line.strip())
    if not ids:
        raise DataError(f"{list_file} lists no images: write one image id a line")
    folder = _year(list_file) / "JPEGImages"
    try:
        present = {entry.name for entry in os.scandir(folder)}
    except OSError as exc:
        raise DataError(f"cannot list {folder} for {list_file} ({exc.strerror}): check the VOC folder") from None
    suffixes = [s for suffix in IMAGE_SUFFIXES for s in (suffix, suffix.upper())]
    images = []
    for image_id in ids:
        name = next((f"{image_id}{s}" for s in suffixes if f"{image_id}{s}" in present), None)
        if name is None:
            raise DataError(
                f"{list_file}: image '{image_id}' is not in {folder}: add {image_id}.jpg or remove the id from the list"
            )
        images.append(folder / name)
    return sorted(images)


def voc_annotation_path(image: Path) -> Path:
    """``VOC20xx/Annotations/<id>.xml`` of ``VOC20xx/JPEGImages/<id>.jpg``."""
    return image.parent.parent / "Annotations" / f"{image.stem}.xml"


def read_voc_truth(image: Path, names: Sequence[str]) -> ImageTruth:
    """The objects of a VOC image from its XML; class names map to ids through ``names``.

    Raises DataError naming the XML for a malformed file, an unknown class, a box with ``xmax < xmin`` or one
    outside the image (1 px slack).
    """
    xml = voc_annotation_path(image)
    if not xml.is_file():
        raise DataError(f"{xml} not found: add the annotation of {image.name}, or remove '{image.stem}' from the list")
    try:
        root = ET.parse(xml).getroot()
    except ET.ParseError as exc:
        raise DataError(f"{xml} is malformed XML ({exc}): fix or regenerate it") from None
    except OSError as exc:
        raise DataError(f"cannot read {xml} ({exc.strerror}): check the file") from None
    height, width = _size(root, xml, image)
    class_ids = {name: i for i, name in enumerate(names)}
    boxes, classes, difficult = [], [], []
    for k, obj in enumerate(root.findall("object"), start=1):
        name = (obj.findtext("name") or "").strip()
        if name not in class_ids:
            raise DataError(
                f"{xml}: object {k} has unknown class '{name}' (not one of the {len(names)} names): "
                "add it to 'names' in a data YAML or fix the file"
            )
        corners = [_number(obj.findtext(f"bndbox/{key}"), xml, k, key) for key in ("xmin", "ymin", "xmax", "ymax")]
        xmin, ymin, xmax, ymax = corners
        # VOC counts pixels from 1 and xmax/ymax are the last pixels inside the box: xmin-1, ymin-1 give 0-based
        # edges with x1 exclusive (detectron2's VOC reader does the same); the box is then xmax-xmin+1 wide, as
        # the VOC devkit measures it, so IoUs match the devkit's.
        x0, y0, x1, y1 = xmin - 1, ymin - 1, xmax, ymax
        if x1 <= x0 or y1 <= y0:
            raise DataError(f"{xml}: object {k} ('{name}') has xmax < xmin or ymax < ymin: fix its bndbox")
        if x0 < -_SLACK or y0 < -_SLACK or x1 > width + _SLACK or y1 > height + _SLACK:
            raise DataError(
                f"{xml}: object {k} ('{name}') box {xmin:g},{ymin:g},{xmax:g},{ymax:g} lies outside the "
                f"{width}x{height} image: fix the box or <size>"
            )
        boxes.append([max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1)])
        classes.append(class_ids[name])
        difficult.append(_number(obj.findtext("difficult") or "0", xml, k, "difficult") != 0)
    return ImageTruth(image, height, width, np.array(boxes).reshape(-1, 4), np.array(classes), np.array(difficult))


def _size(root: ET.Element, xml: Path, image: Path) -> tuple[int, int]:
    """``(height, width)`` from ``<size>``, or from the image header when the XML leaves it out (or gives 0)."""
    text_w, text_h = root.findtext("size/width"), root.findtext("size/height")
    if text_w is None or text_h is None:
        return image_size(image)
    width, height = (_number(text, xml, 0, key) for text, key in ((text_w, "width"), (text_h, "height")))
    if width <= 0 or height <= 0:
        return image_size(image)
    return int(height), int(width)


def _number(text: str | None, xml: Path, k: int, key: str) -> float:
    """A number from the XML, else DataError naming the object and the tag."""
    what = f"object {k}" if k else "<size>"
    if text is None:
        raise DataError(f"{xml}: {what} has no <{key}>: add it (objects need <bndbox> with xmin ymin xmax ymax)")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{xml}: {what} <{key}> is not a number ({text.strip()[:20]!r}): fix the file") from None
    if not np.isfinite(value):
        raise DataError(f"{xml}: {what} <{key}> is not a finite number: fix the file")
    return value


VocObject = tuple[str, float, float, float, float, bool]


def write_voc_xml(path: Path, *, filename: str, height: int, width: int, objects: Sequence[VocObject]) -> None:
    """Write a VOC annotation: ``objects`` are ``(name, x0, y0, x1, y1, difficult)`` in 0-based pixels with
    ``x1`` exclusive (written as VOC's 1-based ``xmin = x0 + 1``, ``xmax = x1``)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = path.parent.parent.name
    ET.SubElement(root, "filename").text = filename
    size = ET.SubElement(root, "size")
    for key, value in (("width", width), ("height", height), ("depth", 3)):
        ET.SubElement(size, key).text = str(value)
    for name, x0, y0, x1, y1, difficult in objects:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = name
        ET.SubElement(obj, "difficult").text = str(int(difficult))
        box = ET.SubElement(obj, "bndbox")
        for key, coord in (("xmin", x0 + 1), ("ymin", y0 + 1), ("xmax", x1), ("ymax", y1)):
            ET.SubElement(box, key).text = f"{coord:g}"
    ET.indent(root)
    path.write_text(ET.tostring(root, encoding="unicode") + "\n")
