"""A YOLO-layout mirror of a VOC or COCO dataset, so that Ultralytics' trainer reads any format."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import uuid
from pathlib import Path

import yaml

from paretodet.data._dataset import dataset_digest, read_truth, split_images
from paretodet.data._info import DatasetInfo, ImageTruth
from paretodet.data._layout import load_data_yaml, write_resolved_yaml
from paretodet.errors import DataError

__all__ = ["ultralytics_data_yaml", "yolo_label_text", "yolo_view"]

MARKER = ".paretodet-view"  # holds the digest of the dataset the view mirrors; written last


def yolo_view(info: DatasetInfo, dest: Path | str, *, mirror: bool = False) -> DatasetInfo:
    """A YOLO-layout mirror of ``info`` under ``dest`` (``info`` itself for a yolo dataset, unless ``mirror``).

    Layout: ``images/{train,val}/`` (symlinks to the images; copies where links fail), ``labels/{train,val}/``
    (YOLO txt from ``read_truth``, difficult and crowd objects left out), ``data.yaml`` (absolute paths) and a
    marker with the source's ``dataset_digest``. A complete view of the same content is reused; a stale one is
    replaced. The view is built beside ``dest`` and renamed into place, so concurrent workers never see half of it.

    Example:
        >>> view = yolo_view(load_dataset("VOCdevkit/VOC2007"), Path("work/data/voc2007-yolo"))  # doctest: +SKIP
        >>> write_resolved_yaml(view, Path("work/train/data.yaml"))  # doctest: +SKIP
    """
    if info.format == "yolo" and not mirror:
        return info
    dest = Path(dest).expanduser().absolute()
    digest = dataset_digest(info)
    if not _complete(dest, digest):
        if dest.exists() and not _is_view(dest):
            raise DataError(f"{dest} exists and is not a paretodet yolo view: pick another folder for the view")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        tmp.chmod(0o755)  # mkdtemp makes it private; the view is as readable as any dataset folder
        try:
            _write(info, tmp, dest=dest, digest=digest)
            _install(tmp, dest, digest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return load_data_yaml(dest / "data.yaml")


def _complete(dest: Path, digest: str) -> bool:
    marker = dest / MARKER
    return marker.is_file() and marker.read_text().strip() == digest and (dest / "data.yaml").is_file()


def _is_view(dest: Path) -> bool:
    """True for a folder that is empty or holds a (possibly stale) view, which may be replaced."""
    return dest.is_dir() and ((dest / MARKER).is_file() or not any(dest.iterdir()))


def _write(info: DatasetInfo, tmp: Path, *, dest: Path, digest: str) -> None:
    """Write the view into ``tmp``; its data.yaml names the paths it will have at ``dest``."""
    data: dict[str, object] = {"path": str(dest)}
    for split in ("train", "val"):
        if split == "train" and info.train is None:
            continue
        folder = info.split(split)[0] if info.format == "coco" else None
        labels_seen: set[Path] = set()
        for image in split_images(info, split):
            rel = image.relative_to(folder) if folder is not None else Path(image.name)
            label = tmp / "labels" / split / rel.with_suffix(".txt")
            if label in labels_seen:
                raise DataError(f"{image}: another image of the {split} split has the same name stem: rename one")
            labels_seen.add(label)
            link = tmp / "images" / split / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            label.parent.mkdir(parents=True, exist_ok=True)
            _link(image, link)
            label.write_text(yolo_label_text(read_truth(info, image)))
        data[split] = str(dest / "images" / split)
    data["names"] = dict(enumerate(info.names))
    (tmp / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (tmp / MARKER).write_text(digest + "\n")


def yolo_label_text(truth: ImageTruth) -> str:
    """YOLO label lines (``class cx cy w h``, normalised) of the objects that are not difficult."""
    lines = []
    for (x0, y0, x1, y1), cls, difficult in zip(truth.boxes, truth.classes, truth.difficult):
        x0, x1 = max(0.0, x0), min(float(truth.width), x1)
        y0, y1 = max(0.0, y0), min(float(truth.height), y1)
        if difficult or x1 <= x0 or y1 <= y0:
            continue
        w, h = truth.width, truth.height
        lines.append(f"{cls} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}\n")
    return "".join(lines)


def _link(image: Path, link: Path) -> None:
    try:
        os.symlink(image.absolute(), link)
    except OSError:  # no symlinks here (some file systems, Windows without the privilege)
        shutil.copy2(image, link)


def _install(tmp: Path, dest: Path, digest: str) -> None:
    """Rename ``tmp`` to ``dest``, first moving a stale view aside; a view another worker just finished wins."""
    if dest.exists():
        if _complete(dest, digest):
            return
        old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(dest, old)
        except FileNotFoundError:
            pass
        else:
            shutil.rmtree(old, ignore_errors=True)
    try:
        os.rename(tmp, dest)
    except OSError:
        if not _complete(dest, digest):
            raise DataError(f"could not put the yolo view in place at {dest}: another process has it; retry") from None


def ultralytics_data_yaml(info: DatasetInfo, workdir: Path) -> Path:
    """``workdir/data.yaml``: the dataset as Ultralytics' trainer reads it (absolute paths; VOC and COCO data,
    and YOLO data whose label folders are read-only, through a YOLO-layout mirror under
    ``workdir/data-view/<digest>``, reused when complete), so Ultralytics' ``labels/*.cache`` files are
    written beside labels paretodet may write, never into a read-only dataset."""
    mirror = info.format == "yolo" and not _labels_writable(info)
    if info.format != "yolo" or mirror:
        info = yolo_view(info, workdir / "data-view" / dataset_digest(info), mirror=mirror)
    return write_resolved_yaml(info, workdir / "data.yaml")


def _labels_writable(info: DatasetInfo) -> bool:
    """Whether the train labels' folder may be written (by its permission bits: a superuser is not an exception,
    a dataset marked read-only stays untouched)."""
    images = split_images(info, "train")[:1]
    if not images:
        return True
    labels = Path(str(images[0]).replace(f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}")).parent
    try:
        mode = labels.stat().st_mode
    except OSError:
        return True
    return bool(mode & stat.S_IWUSR) and os.access(labels, os.W_OK)
