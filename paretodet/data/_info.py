"""What every dataset format shares: the resolved dataset (``DatasetInfo``), one image's ground truth
(``ImageTruth``) and the data-YAML helpers that resolve roots, splits and class names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paretodet.base import read_yaml_file
from paretodet.errors import DataError

__all__ = ["FORMATS", "IMAGE_SUFFIXES", "DatasetInfo", "ImageTruth"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
FORMATS = ("yolo", "voc", "coco")


@dataclass(frozen=True)
class DatasetInfo:
    """A resolved dataset: a data YAML, or a VOC / COCO folder.

    Attributes:
        yaml_path: the data YAML itself (the dataset folder when it was detected from one).
        root: the dataset root, resolved as Ultralytics resolves it (see ``load_data_yaml``).
        train / val: where each split's images are listed; ``train`` may be ``None``. yolo: an image folder or a
            ``.txt`` list of images; voc: an ``ImageSets/Main/<split>.txt`` list of image ids; coco: the image folder.
        names: class names, index = class id.
        format: ``"yolo"``, ``"voc"`` or ``"coco"``.
        train_annotations / val_annotations: voc: the ``Annotations`` folder of the split; coco: its JSON file;
            ``None`` for yolo (labels sit next to the images).
        category_ids: coco: the JSON category id of each class (index = class id); empty for yolo and voc.
    """

    yaml_path: Path
    root: Path
    train: Path | None
    val: Path
    names: tuple[str, ...]
    format: str = "yolo"
    train_annotations: Path | None = None
    val_annotations: Path | None = None
    category_ids: tuple[int, ...] = ()

    @property
    def nc(self) -> int:
        """Number of classes."""
        return len(self.names)

    def split(self, split: str) -> tuple[Path, Path | None]:
        """``(images, annotations)`` of ``"train"`` or ``"val"``; DataError when the dataset has no such split."""
        if split == "val":
            return self.val, self.val_annotations
        if split != "train":
            raise ValueError(f"unknown split {split!r}: use 'train' or 'val'")
        if self.train is None:
            raise DataError(f"{self.yaml_path} has no train split: add 'train:' to the data YAML")
        return self.train, self.train_annotations


@dataclass(frozen=True, eq=False)
class ImageTruth:
    """The ground truth of one image, whatever the dataset format (arrays are read-only copies).

    Attributes:
        path: the image file.
        height / width: image size in pixels.
        boxes: ``(n, 4)`` float64 ``x0 y0 x1 y1`` in pixels (0-based, ``x1`` exclusive).
        classes: ``(n,)`` int64 class ids.
        difficult: ``(n,)`` bool; difficult objects (VOC ``difficult``, COCO ``iscrowd``) are neither hits nor
            misses when scoring, and are left out of training labels.
        crowd: ``(n,)`` bool, the COCO ``iscrowd`` subset of ``difficult`` (scored as crowd regions by
            pycocotools); all False unless given.

    Example:
        >>> t = ImageTruth(Path("a.jpg"), 10, 20, np.array([[0, 0, 5, 5]]), np.array([1]), np.array([False]))
        >>> t.boxes.shape, t.crowd.tolist()
        ((1, 4), [False])
    """

    path: Path
    height: int
    width: int
    boxes: np.ndarray
    classes: np.ndarray
    difficult: np.ndarray
    crowd: np.ndarray | None = None

    def __post_init__(self) -> None:
        boxes = np.array(self.boxes, dtype=np.float64).reshape(-1, 4)
        classes = np.array(self.classes, dtype=np.int64).reshape(-1)
        difficult = np.array(self.difficult, dtype=bool).reshape(-1)
        crowd = np.zeros(len(boxes), bool) if self.crowd is None else np.array(self.crowd, dtype=bool).reshape(-1)
        if not len(boxes) == len(classes) == len(difficult) == len(crowd):
            raise ValueError("boxes, classes, difficult and crowd must have one row per object")
        for name, value in (("boxes", boxes), ("classes", classes), ("difficult", difficult), ("crowd", crowd)):
            value.flags.writeable = False
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self.classes)


# ---------------------------------------------------------------- data YAML helpers shared by every format


def read_yaml(yaml_path: Path) -> Any:
    """The parsed data YAML; DataError when it is not UTF-8 text, not YAML, or nested too deeply to read."""
    return read_yaml_file(yaml_path, what="data YAML", error=DataError)


def exists(path: Path, yaml_path: Path, key: str) -> bool:
    """``path.exists()``, with a DataError where the OS cannot even look the path up (too long, a NUL byte)."""
    try:
        return path.exists()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DataError(f"data YAML {yaml_path}: '{key}' is not a usable path ({reason}): fix '{key}'") from None


def dataset_root(value: Any, yaml_path: Path) -> Path:
    """The dataset root of a data YAML whose ``path:`` is ``value``, as Ultralytics resolves it.

    Raises DataError where the YAML's folder and the working directory would give different folders.
    """
    folder = yaml_path.parent.resolve()
    if not value:  # Ultralytics: `data.get("path") or <the YAML's folder>`
        return folder
    given = Path(str(value))
    if given.is_absolute():
        return given
    if str(value).startswith("~"):
        raise DataError(f"data YAML {yaml_path}: Ultralytics does not expand '~' in 'path: {value}': write it out")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise DataError(f"data YAML {yaml_path}: 'path' must be a folder name, got {short(value)}")
    exists(given, yaml_path, "path")
    ours = (folder / given).resolve()
    if given.exists():  # relative to the working directory, as Ultralytics checks it
        theirs = given.resolve()
    else:
        from ultralytics.utils import SETTINGS

        theirs = (Path(SETTINGS["datasets_dir"]) / given).resolve()
    if ours.exists() and ours != theirs:
        raise DataError(
            f"data YAML {yaml_path}: 'path: {value}' is {ours} next to the YAML but {theirs} for Ultralytics "
            f"(working directory {Path.cwd()}): "
            "remove 'path:' so both tools read the YAML's folder, or make it absolute"
        )
    if not theirs.exists():
        raise DataError(
            f"data YAML {yaml_path}: dataset root 'path: {value}' not found ({theirs}): "
            "remove 'path:' to use the YAML's folder, or make it absolute"
        )
    return theirs


def parse_names(value: Any, yaml_path: Path) -> tuple[str, ...]:
    """Class names from a list or an id->name mapping (ids 0..N-1)."""
    if isinstance(value, dict):
        try:
            keys = sorted(int(k) for k in value)
        except (TypeError, ValueError, OverflowError):
            raise DataError(f"data YAML {yaml_path}: 'names' keys must be class ids 0..N-1") from None
        if keys != list(range(len(keys))):
            raise DataError(f"data YAML {yaml_path}: 'names' ids must be 0..N-1 without gaps")
        return tuple(str(value[k] if k in value else value[str(k)]) for k in keys)
    if isinstance(value, list) and value:
        return tuple(str(v) for v in value)
    raise DataError(f"data YAML {yaml_path} has no class 'names': add a list or an id->name mapping")


def split_path(root: Path, value: Any, yaml_path: Path, split: str) -> Path:
    """A split folder (or list file) under ``root``, as Ultralytics resolves it (no ``~`` expansion)."""
    if isinstance(value, list):
        if len(value) != 1:
            raise DataError(f"data YAML {yaml_path}: '{split}' lists several folders; use one folder")
        value = value[0]
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise DataError(f"data YAML {yaml_path}: '{split}' must be a folder name, got {short(value)}")
    path = root / str(value)
    if not exists(path, yaml_path, split) and str(value).startswith("../"):  # Ultralytics' fallback for '../'
        path = root / str(value)[3:]
    if not exists(path, yaml_path, split):
        raise DataError(f"data YAML {yaml_path}: {split} split {path} does not exist (check 'path' and '{split}')")
    return path


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for an error line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def image_size(image: Path) -> tuple[int, int]:
    """``(height, width)`` of an image as OpenCV decodes it (EXIF rotation applied), from its header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image) as img:
            width, height = img.size
            orientation = img.getexif().get(0x0112, 1)  # 5-8: stored rotated by 90 degrees
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DataError(f"cannot read image {image} ({type(exc).__name__}): replace or remove the file") from None
    return (width, height) if orientation in (5, 6, 7, 8) else (height, width)
