from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from paretodet.data import SHAPE_CLASSES, SynthSpec, load_data_yaml, read_labels, synthesize


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = synthesize(tmp_path / "a", SynthSpec(images=6, seed=7)).parent
    b = synthesize(tmp_path / "b", SynthSpec(images=6, seed=7)).parent
    c = synthesize(tmp_path / "c", SynthSpec(images=6, seed=8)).parent
    assert _digest(a / "images") == _digest(b / "images")
    assert _digest(a / "labels") == _digest(b / "labels")
    assert _digest(a / "images") != _digest(c / "images")


def test_val_only_equals_full_val(tmp_path: Path) -> None:
    full = synthesize(tmp_path / "full", SynthSpec(images=8, seed=2)).parent
    val = synthesize(tmp_path / "val", SynthSpec(images=8, seed=2), splits=("val",)).parent
    assert _digest(full / "images" / "val") == _digest(val / "images" / "val")
    assert not (val / "images" / "train").exists()
    assert load_data_yaml(val / "data.yaml").train is None


def test_layout_labels_and_coco_json_agree(tmp_path: Path) -> None:
    info = load_data_yaml(synthesize(tmp_path, SynthSpec(images=40, seed=0)))
    assert info.names == SHAPE_CLASSES and len(SHAPE_CLASSES) >= 4
    assert info.train is not None and len(list(info.train.glob("*.png"))) == 40
    rows = [r for f in sorted((tmp_path / "labels" / "train").glob("*.txt")) for r in read_labels(f, nc=info.nc)]
    classes = {r[0] for r in rows}
    assert classes == set(range(len(SHAPE_CLASSES)))  # every class appears
    areas = np.array([r[3] * r[4] for r in rows])
    assert areas.min() < 0.002 and areas.max() > 0.05  # tiny and large objects
    gt = json.loads((tmp_path / "annotations" / "instances_val.json").read_text())
    val_rows = sum(len(read_labels(f, nc=info.nc)) for f in (tmp_path / "labels" / "val").glob("*.txt"))
    assert len(gt["annotations"]) == val_rows
    assert len(gt["images"]) == 10 and [c["name"] for c in gt["categories"]] == list(SHAPE_CLASSES)


def test_objects_overlap_sometimes(tmp_path: Path) -> None:
    synthesize(tmp_path, SynthSpec(images=30, seed=1), splits=("train",))
    overlaps = 0
    for f in (tmp_path / "labels" / "train").glob("*.txt"):
        boxes = [(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2) for _, cx, cy, w, h in read_labels(f, nc=6)]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                if min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]):
                    overlaps += 1
    assert overlaps > 0
