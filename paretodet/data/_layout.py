"""Read and write the Ultralytics dataset layout (data YAML, image folders, YOLO label files); a data YAML may
also declare a Pascal VOC or COCO-JSON dataset (``format:``)."""

from __future__ import annotations

from pathlib import Path

import yaml

from paretodet.data._coco import coco_from_yaml
from paretodet.data._info import (
    FORMATS,
    IMAGE_SUFFIXES,
    DatasetInfo,
    dataset_root,
    parse_names,
    read_yaml,
    short,
    split_path,
)
from paretodet.data._voc import voc_from_yaml
from paretodet.errors import DataError

__all__ = [
    "DatasetInfo",
    "IMAGE_SUFFIXES",
    "label_path_for",
    "list_images",
    "load_data_yaml",
    "read_labels",
    "write_data_yaml",
    "write_resolved_yaml",
]


def write_data_yaml(root: Path, *, names: list[str], train: bool = True) -> Path:
    """Write ``root/data.yaml`` for an ``images/{train,val}`` layout and return its path.

    The YAML has no ``path:`` key, so Ultralytics and paretodet both read train/val from the YAML's own folder
    whatever the working directory (``path: .`` would mean the working directory to Ultralytics).
    """
    data: dict[str, object] = {}
    if train:
        data["train"] = "images/train"
    data.update({"val": "images/val", "names": dict(enumerate(names))})
    path = root / "data.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_resolved_yaml(info: DatasetInfo, dest: Path) -> Path:
    """Write a copy of a data YAML whose paths are absolute (Ultralytics resolves ``path: .`` against the cwd).

    Only for the yolo layout: Ultralytics reads VOC and COCO datasets through their ``yolo_view`` mirror.
    """
    if info.format != "yolo":
        raise DataError(f"{info.yaml_path} is a {info.format} dataset: write the YAML of its yolo_view() mirror")
    # Ultralytics insists on a 'train' key even to validate: a val-only dataset points it at val
    train = info.train if info.train is not None else info.val
    data = {"path": str(info.root), "train": str(train), "val": str(info.val), "names": dict(enumerate(info.names))}
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def load_data_yaml(path: Path | str) -> DatasetInfo:
    """Parse and resolve a data YAML that exists on disk (Ultralytics', or a VOC / COCO one), to the images
    Ultralytics would read.

    The dataset root follows Ultralytics' ``check_det_dataset``: no ``path:`` -> the YAML's own folder; an
    absolute ``path:`` -> itself; a relative one -> the working directory's folder of that name if it exists,
    else that name under Ultralytics' ``datasets_dir``. train/val resolve against the root. A relative
    ``path:`` that also names an existing folder next to the YAML, other than the one Ultralytics picks, is
    ambiguous (``path: .`` read from another working directory) and raises DataError, as does every other
    problem, naming it and the fix.

    ``format:`` (absent = ``yolo``) picks the schema; ``path:`` works as above in all three::

        # yolo: image folders (or .txt lists of images); labels/ beside images/
        train: images/train
        val: images/val
        names: [cat, dog]                     # or {0: cat, 1: dog}

        # voc: ImageSets lists of ids; images in the sibling JPEGImages/, objects in Annotations/<id>.xml
        format: voc
        train: VOCdevkit/VOC2007/ImageSets/Main/trainval.txt
        val: VOCdevkit/VOC2007/ImageSets/Main/test.txt
        names: [...]                          # optional: the 20 VOC classes in their usual order

        # coco: an image folder and a JSON per split
        format: coco
        train: {images: images/train2017, annotations: annotations/instances_train2017.json}
        val: {images: images/val2017, annotations: annotations/instances_val2017.json}
        names: [...]                          # optional: the JSON's categories, sorted by id

    Example:
        >>> info = load_data_yaml("demo/data/data.yaml")  # doctest: +SKIP
    """
    yaml_path = Path(path).expanduser()
    if not yaml_path.is_file():
        if yaml_path.name == str(path) and yaml_path.suffix in (".yaml", ".yml") and not yaml_path.exists():
            return _fetch_ultralytics_dataset(str(path))
        raise DataError(f"data YAML not found: {yaml_path} (pass an existing file with --data)")
    raw = read_yaml(yaml_path)
    if not isinstance(raw, dict):
        raise DataError(f"data YAML {yaml_path} must be a mapping with 'val' and 'names' keys")
    fmt = raw.get("format") or "yolo"
    if fmt not in FORMATS:
        raise DataError(f"data YAML {yaml_path}: unknown 'format: {short(fmt)}': use one of {', '.join(FORMATS)}")
    if fmt == "voc":
        return voc_from_yaml(raw, yaml_path)
    if fmt == "coco":
        return coco_from_yaml(raw, yaml_path)
    if not raw.get("val"):
        raise DataError(f"data YAML {yaml_path} has no 'val' split: add 'val: images/val' (or your folder)")
    names = parse_names(raw.get("names"), yaml_path)
    root = dataset_root(raw.get("path"), yaml_path)
    val = split_path(root, raw["val"], yaml_path, "val")
    train = split_path(root, raw["train"], yaml_path, "train") if raw.get("train") else None
    return DatasetInfo(yaml_path=yaml_path.resolve(), root=root, train=train, val=val, names=names)


def _fetch_ultralytics_dataset(name: str) -> DatasetInfo:
    """Resolve a bare dataset name (``coco128.yaml``) through Ultralytics, which downloads it when online."""
    from ultralytics.data.utils import check_det_dataset

    try:
        resolved = check_det_dataset(name, autodownload=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"could not fetch dataset '{name}': {first} (offline? pass a local data YAML)") from None
    yaml_file = Path(str(resolved.get("yaml_file", name)))
    names = parse_names(resolved.get("names"), yaml_file)
    train = Path(str(resolved["train"])) if resolved.get("train") else None
    return DatasetInfo(
        yaml_path=yaml_file, root=Path(str(resolved["path"])), train=train, val=Path(str(resolved["val"])), names=names
    )


def list_images(split: Path) -> list[Path]:
    """Image files of a split folder (sorted), or those listed in a ``.txt`` list file."""
    if split.is_file() and split.suffix == ".txt":
        lines = [ln.strip() for ln in split.read_text().splitlines() if ln.strip()]
        images = [(split.parent / ln).resolve() if not Path(ln).is_absolute() else Path(ln) for ln in lines]
    else:
        images = sorted(p for p in split.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise DataError(f"no images found in {split}: put {', '.join(IMAGE_SUFFIXES[:3])} files there")
    return images


def label_path_for(image: Path) -> Path:
    """The YOLO label file of an image: the last ``/images/`` in its path becomes ``/labels/``."""
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def read_labels(label_file: Path, *, nc: int) -> list[tuple[int, float, float, float, float]]:
    """Parse one YOLO label file into ``(cls, cx, cy, w, h)`` rows (normalised); missing file = no objects.

    Raises DataError naming the file and line of the first bad line.
    """
    if not label_file.exists():
        return []
    try:
        text = label_file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{label_file} is not UTF-8 text (byte {exc.start}): write labels as 'class cx cy w h' lines"
        ) from None
    rows: list[tuple[int, float, float, float, float]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        problem = _bad_label_line(fields, nc)
        if problem:
            raise DataError(f"{label_file}:{lineno}: {problem} (expected 'class cx cy w h', normalised to 0-1)")
        cx, cy, w, h = (float(v) for v in fields[1:5])
        rows.append((int(fields[0]), cx, cy, w, h))
    return rows


def _bad_label_line(fields: list[str], nc: int) -> str | None:
    """Why a label line is invalid, or None. Segment lines (more than 5 values) are not accepted."""
    if len(fields) != 5:
        return f"{len(fields)} values instead of 5"
    try:
        cls = int(fields[0])
        values = [float(v) for v in fields[1:]]
    except ValueError:
        return "a value is not a number"
    if not 0 <= cls < nc:
        return f"class id {cls} outside 0..{nc - 1}"
    if any(not (0.0 <= v <= 1.0 + 1e-6) for v in values):
        return "a coordinate is outside 0-1"
    return None
