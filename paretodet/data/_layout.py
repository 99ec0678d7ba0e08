"""Read and write the Ultralytics dataset layout (data YAML, image folders, YOLO label files)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from paretodet._yaml import read_yaml_file
from paretodet.errors import DataError

__all__ = [
    "DatasetInfo",
    "IMAGE_SUFFIXES",
    "dataset_digest",
    "label_path_for",
    "list_images",
    "load_data_yaml",
    "read_labels",
    "write_data_yaml",
    "write_resolved_yaml",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class DatasetInfo:
    """A resolved data YAML.

    Attributes:
        yaml_path: the data YAML itself.
        root: the dataset root, resolved as Ultralytics resolves it (see ``load_data_yaml``).
        train / val: absolute image folders (or list files) of each split; ``train`` may be ``None``.
        names: class names, index = class id.
    """

    yaml_path: Path
    root: Path
    train: Path | None
    val: Path
    names: tuple[str, ...]

    @property
    def nc(self) -> int:
        """Number of classes."""
        return len(self.names)


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
    """Write a copy of a data YAML whose paths are absolute (Ultralytics resolves ``path: .`` against the cwd)."""
    # Ultralytics insists on a 'train' key even to validate: a val-only dataset points it at val
    train = info.train if info.train is not None else info.val
    data = {"path": str(info.root), "train": str(train), "val": str(info.val), "names": dict(enumerate(info.names))}
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def load_data_yaml(path: Path | str) -> DatasetInfo:
    """Parse and resolve an Ultralytics data YAML that exists on disk, to the images Ultralytics would read.

    The dataset root follows Ultralytics' ``check_det_dataset``: no ``path:`` -> the YAML's own folder; an
    absolute ``path:`` -> itself; a relative one -> the working directory's folder of that name if it exists,
    else that name under Ultralytics' ``datasets_dir``. train/val resolve against the root. A relative
    ``path:`` that also names an existing folder next to the YAML, other than the one Ultralytics picks, is
    ambiguous (``path: .`` read from another working directory) and raises DataError, as does every other
    problem, naming it and the fix.

    Example:
        >>> info = load_data_yaml("demo/data/data.yaml")  # doctest: +SKIP
    """
    yaml_path = Path(path).expanduser()
    if not yaml_path.is_file():
        if yaml_path.name == str(path) and yaml_path.suffix in (".yaml", ".yml") and not yaml_path.exists():
            return _fetch_ultralytics_dataset(str(path))
        raise DataError(f"data YAML not found: {yaml_path} (pass an existing file with --data)")
    raw = _read_yaml(yaml_path)
    if not isinstance(raw, dict):
        raise DataError(f"data YAML {yaml_path} must be a mapping with 'val' and 'names' keys")
    if not raw.get("val"):
        raise DataError(f"data YAML {yaml_path} has no 'val' split: add 'val: images/val' (or your folder)")
    names = _parse_names(raw.get("names"), yaml_path)
    root = _dataset_root(raw.get("path"), yaml_path)
    val = _split_path(root, raw["val"], yaml_path, "val")
    train = _split_path(root, raw["train"], yaml_path, "train") if raw.get("train") else None
    return DatasetInfo(yaml_path=yaml_path.resolve(), root=root, train=train, val=val, names=names)


def _read_yaml(yaml_path: Path) -> Any:
    """The parsed data YAML; DataError when it is not UTF-8 text, not YAML, or nested too deeply to read."""
    return read_yaml_file(yaml_path, what="data YAML", error=DataError)


def _exists(path: Path, yaml_path: Path, key: str) -> bool:
    """``path.exists()``, with a DataError where the OS cannot even look the path up (too long, a NUL byte)."""
    try:
        return path.exists()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DataError(f"data YAML {yaml_path}: '{key}' is not a usable path ({reason}): fix '{key}'") from None


def _dataset_root(value: Any, yaml_path: Path) -> Path:
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
        raise DataError(f"data YAML {yaml_path}: 'path' must be a folder name, got {_short(value)}")
    _exists(given, yaml_path, "path")
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


def _fetch_ultralytics_dataset(name: str) -> DatasetInfo:
    """Resolve a bare dataset name (``coco128.yaml``) through Ultralytics, which downloads it when online."""
    from ultralytics.data.utils import check_det_dataset

    try:
        resolved = check_det_dataset(name, autodownload=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"could not fetch dataset '{name}': {first} (offline? pass a local data YAML)") from None
    yaml_file = Path(str(resolved.get("yaml_file", name)))
    names = _parse_names(resolved.get("names"), yaml_file)
    train = Path(str(resolved["train"])) if resolved.get("train") else None
    return DatasetInfo(
        yaml_path=yaml_file, root=Path(str(resolved["path"])), train=train, val=Path(str(resolved["val"])), names=names
    )


def _parse_names(value: Any, yaml_path: Path) -> tuple[str, ...]:
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


def _split_path(root: Path, value: Any, yaml_path: Path, split: str) -> Path:
    """A split folder (or list file) under ``root``, as Ultralytics resolves it (no ``~`` expansion)."""
    if isinstance(value, list):
        if len(value) != 1:
            raise DataError(f"data YAML {yaml_path}: '{split}' lists several folders; use one folder")
        value = value[0]
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise DataError(f"data YAML {yaml_path}: '{split}' must be a folder name, got {_short(value)}")
    path = root / str(value)
    if not _exists(path, yaml_path, split) and str(value).startswith("../"):  # Ultralytics' fallback for '../'
        path = root / str(value)[3:]
    if not _exists(path, yaml_path, split):
        raise DataError(f"data YAML {yaml_path}: {split} split {path} does not exist (check 'path' and '{split}')")
    return path


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for an error line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


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


def dataset_digest(info: DatasetInfo) -> str:
    """Short hash of a dataset's content (class names, image names and sizes, label bytes): cache keys of the
    stages that read data (calibration, sensitivity, fine-tuning) include it."""
    h = hashlib.sha256(json.dumps(list(info.names)).encode())
    for split in (info.train, info.val):
        if split is None:
            continue
        for image in list_images(split):
            h.update(f"{image.name}:{image.stat().st_size};".encode())
            label = label_path_for(image)
            if label.is_file():
                h.update(label.read_bytes())
    return h.hexdigest()[:16]


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
