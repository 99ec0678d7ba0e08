"""COCO-JSON layout: an image folder per split and its ``instances_*.json`` (``images``, ``annotations``,
``categories``). Class id = position of the category id among the sorted category ids."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from paretodet.data._info import DatasetInfo, ImageTruth, dataset_root, image_size, parse_names, short, split_path
from paretodet.errors import DataError

__all__ = ["CocoIndex", "coco_from_folder", "coco_from_yaml", "coco_images", "coco_index", "read_coco_truth"]

_SLACK = 1.0  # pixels a box may stick out of its image before it is an error


@dataclass(frozen=True)
class CocoImage:
    """One ``images`` entry and its annotations ``(x, y, w, h, category_id, iscrowd, annotation id)``."""

    id: Any
    file_name: str
    height: int
    width: int
    anns: list[tuple[float, float, float, float, int, bool, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CocoIndex:
    """A parsed, checked COCO JSON: category ids (sorted) and names, images by normalised ``file_name``."""

    path: Path
    category_ids: tuple[int, ...]
    names: tuple[str, ...]
    images: dict[str, CocoImage]


def coco_index(path: Path) -> CocoIndex:
    """The parsed COCO JSON at ``path``, read once while the file is unchanged (cached by path, size, mtime)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataError(f"cannot read COCO JSON {path} ({exc.strerror}): check the path") from None
    return _load_index(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _load_index(path_str: str, _mtime_ns: int, _size: int) -> CocoIndex:
    path = Path(path_str)
    try:
        raw = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start}): write the COCO JSON as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON (line {exc.lineno}): fix or regenerate it") from None
    except RecursionError:
        raise DataError(f"{path} is nested too deeply to be a COCO JSON: regenerate it") from None
    except OSError as exc:
        raise DataError(f"cannot read COCO JSON {path} ({exc.strerror}): check the file") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path} is not a COCO JSON: it must be an object with 'images', 'annotations', 'categories'")
    for key in ("images", "annotations", "categories"):
        if not isinstance(raw.get(key), list):
            raise DataError(f"{path} has no '{key}' list: a COCO JSON needs 'images', 'annotations' and 'categories'")
    categories: dict[int, str] = {}
    for cat in raw["categories"]:
        cid = cat.get("id") if isinstance(cat, dict) else None
        if not _is_int(cid) or cid in categories:
            raise DataError(f"{path}: category {short(cat)} needs a unique integer 'id' and a 'name': fix it")
        categories[cid] = str(cat.get("name", cid))
    if not categories:
        raise DataError(f"{path} has an empty 'categories' list: list the classes with their ids")
    images: dict[str, CocoImage] = {}
    by_id: dict[Any, CocoImage] = {}
    for entry in raw["images"]:
        image = _image_entry(entry, path)
        key = os.path.normpath(image.file_name)
        if image.id in by_id or key in images:
            raise DataError(f"{path}: image id {image.id!r} / file '{image.file_name}' appears twice: keep one entry")
        images[key] = by_id[image.id] = image
    for ann in raw["annotations"]:
        _add_annotation(ann, path, by_id, categories)
    ids = tuple(sorted(categories))
    return CocoIndex(path=path, category_ids=ids, names=tuple(categories[i] for i in ids), images=images)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _image_entry(entry: Any, path: Path) -> CocoImage:
    if not isinstance(entry, dict) or not isinstance(entry.get("file_name"), str) or not entry["file_name"]:
        raise DataError(f"{path}: image entry {short(entry)} needs an 'id' and a 'file_name': fix it")
    image_id = entry.get("id")
    if not isinstance(image_id, int | str) or isinstance(image_id, bool):
        raise DataError(f"{path}: image '{entry['file_name']}' needs an integer 'id': fix it")
    height, width = entry.get("height"), entry.get("width")
    if _is_int(height) and _is_int(width) and height > 0 and width > 0:
        return CocoImage(id=image_id, file_name=entry["file_name"], height=height, width=width)
    return CocoImage(id=image_id, file_name=entry["file_name"], height=0, width=0)  # size from the image header


def _add_annotation(ann: Any, path: Path, by_id: dict[Any, CocoImage], categories: dict[int, str]) -> None:
    if not isinstance(ann, dict):
        raise DataError(f"{path}: annotation {short(ann)} is not an object: fix it")
    ann_id = ann.get("id")
    image_id, category_id = ann.get("image_id"), ann.get("category_id")
    if isinstance(image_id, bool) or not isinstance(image_id, int | str) or image_id not in by_id:
        raise DataError(
            f"{path}: annotation {ann_id!r} points to unknown image id {short(image_id)}: fix or remove the annotation"
        )
    if not _is_int(category_id) or category_id not in categories:
        raise DataError(
            f"{path}: annotation {ann_id!r} points to unknown category id {short(category_id)}: "
            "fix it or add the category"
        )
    bbox = ann.get("bbox")
    if not (
        isinstance(bbox, list)
        and len(bbox) == 4
        and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in bbox)
        and bbox[2] >= 0
        and bbox[3] >= 0
    ):
        raise DataError(f"{path}: annotation {ann_id!r} needs 'bbox': [x, y, width, height] (width, height >= 0)")
    x, y, w, h = (float(v) for v in bbox)
    by_id[image_id].anns.append((x, y, w, h, category_id, bool(ann.get("iscrowd", 0)), ann_id))


def coco_from_yaml(raw: dict[str, Any], yaml_path: Path) -> DatasetInfo:
    """The COCO dataset a ``format: coco`` data YAML describes (see ``load_data_yaml`` for the schema)."""
    root = dataset_root(raw.get("path"), yaml_path)
    if not raw.get("val"):
        raise DataError(
            f"data YAML {yaml_path} has no 'val' split: add "
            "'val: {images: images/val2017, annotations: annotations/instances_val2017.json}'"
        )
    val, val_json = _yaml_split(root, raw["val"], yaml_path, "val")
    train, train_json = _yaml_split(root, raw["train"], yaml_path, "train") if raw.get("train") else (None, None)
    index = coco_index(val_json)
    names = index.names if raw.get("names") is None else parse_names(raw.get("names"), yaml_path)
    if len(names) != len(index.category_ids):
        raise DataError(
            f"data YAML {yaml_path}: 'names' has {len(names)} classes but {val_json} has "
            f"{len(index.category_ids)} categories: list one name per category, or drop 'names'"
        )
    return _info(yaml_path.resolve(), root, (train, train_json), (val, val_json), names, index)


def _yaml_split(root: Path, value: Any, yaml_path: Path, split: str) -> tuple[Path, Path]:
    """``(image folder, JSON)`` of a ``{images: ..., annotations: ...}`` split entry."""
    if not isinstance(value, dict) or not value.get("images") or not value.get("annotations"):
        raise DataError(
            f"data YAML {yaml_path}: COCO '{split}' must be a mapping "
            f"'{{images: images/{split}2017, annotations: annotations/instances_{split}2017.json}}'"
        )
    images = split_path(root, value["images"], yaml_path, f"{split}.images")
    annotations = split_path(root, value["annotations"], yaml_path, f"{split}.annotations")
    if not images.is_dir():
        raise DataError(f"data YAML {yaml_path}: {split}.images {images} is not a folder: name the image folder")
    if not annotations.is_file():
        raise DataError(f"data YAML {yaml_path}: {split}.annotations {annotations} is not a file: name the JSON")
    return images, annotations


def coco_from_folder(folder: Path) -> DatasetInfo | None:
    """The COCO dataset of a folder with ``annotations/instances_<split>*.json``; ``None`` when there is none.

    ``instances_val2017.json`` is val (``instances_train2017.json`` train; a single JSON of another name is val);
    its images are in ``images/val2017`` or ``val2017``. Names come from the JSON's categories.
    """
    ann_dir = folder / "annotations"
    jsons = sorted(ann_dir.glob("instances_*.json")) if ann_dir.is_dir() else []
    if not jsons:
        return None
    chosen: dict[str, Path] = {}
    for split in ("train", "val"):
        found = [p for p in jsons if p.stem.removeprefix("instances_").startswith(split)]
        if len(found) > 1:
            listed = ", ".join(p.name for p in found)
            raise DataError(f"{ann_dir} holds several {split} JSONs ({listed}): pass a data YAML naming one")
        if found:
            chosen[split] = found[0]
    if "val" not in chosen:
        if len(jsons) > 1 or "train" in chosen:
            raise DataError(f"{ann_dir} has no instances_val*.json: add one, or pass a data YAML naming the val JSON")
        chosen["val"] = jsons[0]
    val = (_image_folder(folder, chosen["val"]), chosen["val"])
    train = (_image_folder(folder, chosen["train"]), chosen["train"]) if "train" in chosen else (None, None)
    index = coco_index(val[1])
    return _info(folder.resolve(), folder.resolve(), train, val, index.names, index)


def _image_folder(folder: Path, json_path: Path) -> Path:
    key = json_path.stem.removeprefix("instances_")
    for candidate in (folder / "images" / key, folder / key, folder / "images"):
        if candidate.is_dir():
            return candidate
    raise DataError(f"no image folder for {json_path}: put its images in {folder / 'images' / key}")


def _info(
    yaml_path: Path,
    root: Path,
    train: tuple[Path | None, Path | None],
    val: tuple[Path, Path],
    names: tuple[str, ...],
    index: CocoIndex,
) -> DatasetInfo:
    return DatasetInfo(
        yaml_path=yaml_path,
        root=root,
        train=train[0],
        val=val[0],
        names=names,
        format="coco",
        train_annotations=train[1],
        val_annotations=val[1],
        category_ids=index.category_ids,
    )


def coco_images(images_dir: Path, json_path: Path) -> list[Path]:
    """The images a COCO JSON lists, under ``images_dir`` (sorted); DataError for one that is missing."""
    index = coco_index(json_path)
    if not index.images:
        raise DataError(f"{json_path} lists no images: add entries to 'images'")
    for entry in index.images.values():
        if not (images_dir / entry.file_name).is_file():
            raise DataError(
                f"{json_path}: image '{entry.file_name}' not found in {images_dir}: "
                "add the file or remove it from 'images'"
            )
    return sorted(images_dir / entry.file_name for entry in index.images.values())


def read_coco_truth(info: DatasetInfo, image: Path) -> ImageTruth:
    """The annotations of ``image`` from the JSON of the split whose folder holds it (``iscrowd`` = difficult)."""
    entry, json_path = _find(info, image)
    height, width = (entry.height, entry.width) if entry.height else image_size(image)
    class_ids = {cid: i for i, cid in enumerate(info.category_ids)}
    boxes, classes, crowd = [], [], []
    for x, y, w, h, category_id, iscrowd, ann_id in entry.anns:
        if category_id not in class_ids:
            raise DataError(
                f"{json_path}: annotation {ann_id!r} has category id {category_id}, not one of the dataset's "
                f"categories (from {info.val_annotations}): give both JSONs the same categories"
            )
        if x < -_SLACK or y < -_SLACK or x + w > width + _SLACK or y + h > height + _SLACK:
            raise DataError(
                f"{json_path}: annotation {ann_id!r} box [{x:g}, {y:g}, {w:g}, {h:g}] lies outside the "
                f"{width}x{height} image '{entry.file_name}': fix the box or the image size"
            )
        x0, y0 = max(0.0, x), max(0.0, y)
        boxes.append([x0, y0, max(x0, min(float(width), x + w)), max(y0, min(float(height), y + h))])
        classes.append(class_ids[category_id])
        crowd.append(iscrowd)
    return ImageTruth(
        image, height, width, np.array(boxes).reshape(-1, 4), np.array(classes), np.array(crowd), crowd=np.array(crowd)
    )


def _find(info: DatasetInfo, image: Path) -> tuple[CocoImage, Path]:
    """The JSON entry of ``image``, looked up in the split whose image folder holds it."""
    jsons = []
    for images_dir, json_path in ((info.val, info.val_annotations), (info.train, info.train_annotations)):
        if images_dir is None or json_path is None:
            continue
        jsons.append(str(json_path))
        rel = _relative(image, images_dir)
        entry = coco_index(json_path).images.get(rel) if rel is not None else None
        if entry is not None:
            return entry, json_path
    raise DataError(f"{image} is not listed in {' or '.join(jsons)}: add it to the JSON's 'images'")


def _relative(image: Path, folder: Path) -> str | None:
    """``image`` relative to ``folder`` (normalised), or None when it is not inside."""
    for a, b in ((image, folder), (image.resolve(), folder.resolve())):
        try:
            return os.path.normpath(a.relative_to(b))
        except ValueError:
            continue
    return None
