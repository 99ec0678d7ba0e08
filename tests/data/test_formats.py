"""The VOC and COCO readers next to the YOLO one: round trips, folder detection, digests, the YOLO view."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from paretodet.data import (
    SHAPE_CLASSES,
    VOC_CLASSES,
    SynthSpec,
    dataset_digest,
    label_path_for,
    list_images,
    load_data_yaml,
    load_dataset,
    read_labels,
    read_truth,
    split_images,
    synthesize,
    write_resolved_yaml,
    yolo_view,
)
from paretodet.errors import DataError

SPEC = SynthSpec(images=3, seed=5, min_side=48, max_side=72, max_objects=4)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same synthetic images in each layout: format -> data YAML."""
    root = tmp_path_factory.mktemp("layouts")
    return {fmt: synthesize(root / fmt, SPEC, format=fmt) for fmt in ("yolo", "voc", "coco")}


def test_synth_writes_each_layout(layouts: dict[str, Path]) -> None:
    voc = layouts["voc"].parent / "VOCdevkit" / "VOC2007"
    assert (voc / "ImageSets" / "Main" / "val.txt").read_text().split() == [f"val_{i:05d}" for i in range(8)]
    assert len(list((voc / "Annotations").glob("*.xml"))) == 3 + 8
    coco = layouts["coco"].parent
    gt = json.loads((coco / "annotations" / "instances_train.json").read_text())
    assert [c["id"] for c in gt["categories"]] == [1, 2, 3, 4, 5, 6] and len(gt["images"]) == 3
    assert yaml.safe_load(layouts["voc"].read_text())["format"] == "voc"
    assert yaml.safe_load(layouts["coco"].read_text())["val"] == {
        "images": "images/val",
        "annotations": "annotations/instances_val.json",
    }


@pytest.mark.parametrize("split", ["train", "val"])
def test_every_layout_reads_the_same_boxes(layouts: dict[str, Path], split: str) -> None:
    infos = {fmt: load_data_yaml(path) for fmt, path in layouts.items()}
    assert {fmt: info.format for fmt, info in infos.items()} == {"yolo": "yolo", "voc": "voc", "coco": "coco"}
    assert all(info.names == SHAPE_CLASSES for info in infos.values())
    images = {fmt: split_images(info, split) for fmt, info in infos.items()}
    assert len({tuple(p.name for p in paths) for paths in images.values()}) == 1  # same names, same order
    assert sum(len(read_truth(infos["yolo"], p)) for p in images["yolo"]) > 0
    for i, yolo_image in enumerate(images["yolo"]):
        ref = read_truth(infos["yolo"], yolo_image)
        for fmt in ("voc", "coco"):
            got = read_truth(infos[fmt], images[fmt][i])
            assert (got.height, got.width) == (ref.height, ref.width)
            assert got.classes.tolist() == ref.classes.tolist() and not got.difficult.any()
            assert np.abs(got.boxes - ref.boxes).max(initial=0) <= 1.0
        voc, coco = (read_truth(infos[f], images[f][i]) for f in ("voc", "coco"))
        assert np.array_equal(voc.boxes, coco.boxes)  # both exact integer pixels


def test_truth_arrays_are_typed_and_read_only(layouts: dict[str, Path]) -> None:
    info = load_data_yaml(layouts["voc"])
    truth = read_truth(info, split_images(info)[0])
    assert truth.boxes.dtype == np.float64 and truth.classes.dtype == np.int64 and truth.difficult.dtype == bool
    with pytest.raises(ValueError):
        truth.boxes[0, 0] = 1.0


def test_yolo_split_images_is_list_images(layouts: dict[str, Path]) -> None:
    info = load_data_yaml(layouts["yolo"])
    assert split_images(info) == list_images(info.val)
    assert info.train is not None and split_images(info, "train") == list_images(info.train)


def test_val_only_layouts_have_no_train(tmp_path: Path) -> None:
    for fmt in ("voc", "coco"):
        info = load_data_yaml(synthesize(tmp_path / fmt, SPEC, splits=("val",), format=fmt))
        assert info.train is None and len(split_images(info)) == 8
        with pytest.raises(DataError, match="no train split"):
            split_images(info, "train")


def test_voc_yaml_defaults_to_the_voc_classes(layouts: dict[str, Path], tmp_path: Path) -> None:
    raw = yaml.safe_load(layouts["voc"].read_text())
    del raw["names"]
    other = layouts["voc"].parent / "no_names.yaml"
    other.write_text(yaml.safe_dump(raw))
    info = load_data_yaml(other)
    assert info.names == VOC_CLASSES and info.nc == 20
    with pytest.raises(DataError, match="unknown class"):
        for image in split_images(info):
            read_truth(info, image)


def test_coco_names_from_the_json_or_the_yaml(layouts: dict[str, Path]) -> None:
    info = load_data_yaml(layouts["coco"])
    assert info.names == SHAPE_CLASSES and info.category_ids == (1, 2, 3, 4, 5, 6)
    raw = yaml.safe_load(layouts["coco"].read_text())
    renamed = layouts["coco"].parent / "renamed.yaml"
    renamed.write_text(yaml.safe_dump({**raw, "names": [n.upper() for n in SHAPE_CLASSES]}))
    assert load_data_yaml(renamed).names == tuple(n.upper() for n in SHAPE_CLASSES)
    renamed.write_text(yaml.safe_dump({**raw, "names": ["a", "b"]}))
    with pytest.raises(DataError, match=r"'names' has 2 classes but .* has 6 categories"):
        load_data_yaml(renamed)


# ---------------------------------------------------------------- folders


def test_load_dataset_reads_folders(layouts: dict[str, Path], tmp_path: Path) -> None:
    voc_root = layouts["voc"].parent
    year = voc_root / "VOCdevkit" / "VOC2007"
    for folder in (year, voc_root / "VOCdevkit"):
        info = load_dataset(folder)
        assert info.format == "voc" and info.names == VOC_CLASSES and info.yaml_path == folder.resolve()
        assert info.val.name == "val.txt" and info.train is not None and info.train.name == "train.txt"
    assert load_dataset(voc_root).names == SHAPE_CLASSES  # the folder's data.yaml wins
    assert load_dataset(str(layouts["coco"])).format == "coco"  # a YAML path still works
    # a COCO folder without a YAML: images/<key> found from instances_<key>.json
    coco = tmp_path / "coco"
    coco.mkdir()
    for sub in ("images", "annotations"):
        os.symlink(layouts["coco"].parent / sub, coco / sub)
    info = load_dataset(coco)
    assert info.format == "coco" and info.names == SHAPE_CLASSES
    assert info.val == coco / "images" / "val" and info.val_annotations == coco / "annotations" / "instances_val.json"
    ref = load_data_yaml(layouts["coco"])
    assert [p.name for p in split_images(info)] == [p.name for p in split_images(ref)]
    for ours, theirs in zip(split_images(info), split_images(ref)):
        assert np.array_equal(read_truth(info, ours).boxes, read_truth(ref, theirs).boxes)


def test_voc_folder_prefers_the_test_list(layouts: dict[str, Path], tmp_path: Path) -> None:
    year = tmp_path / "VOCdevkit" / "VOC2012"
    main = year / "ImageSets" / "Main"
    main.mkdir(parents=True)
    for sub in ("JPEGImages", "Annotations"):
        os.symlink(layouts["voc"].parent / "VOCdevkit" / "VOC2007" / sub, year / sub)
    (main / "trainval.txt").write_text("train_00000\ntrain_00001\n")
    (main / "test.txt").write_text("val_00003\n")
    info = load_dataset(tmp_path)  # a folder holding VOCdevkit/
    assert info.val == main / "test.txt" and info.train == main / "trainval.txt"
    assert [p.stem for p in split_images(info)] == ["val_00003"]
    (tmp_path / "VOCdevkit" / "VOC2007" / "ImageSets" / "Main").mkdir(parents=True)
    with pytest.raises(DataError, match="several VOC years"):
        load_dataset(tmp_path / "VOCdevkit")


def test_folder_of_no_known_format(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    with pytest.raises(DataError, match=r"neither a VOC folder .* nor a COCO one"):
        load_dataset(tmp_path)


# ---------------------------------------------------------------- digests


@pytest.mark.parametrize("fmt", ["voc", "coco"])
def test_digest_covers_annotation_files(tmp_path: Path, fmt: str) -> None:
    info = load_data_yaml(synthesize(tmp_path, SPEC, splits=("val",), format=fmt))
    before = dataset_digest(info)
    assert dataset_digest(info) == before
    if fmt == "voc":
        xml = tmp_path / "VOCdevkit" / "VOC2007" / "Annotations" / "val_00000.xml"
        xml.write_text(xml.read_text().replace("<difficult>0</difficult>", "<difficult>1</difficult>", 1))
    else:
        path = tmp_path / "annotations" / "instances_val.json"
        gt = json.loads(path.read_text())
        gt["annotations"][0]["iscrowd"] = 1
        path.write_text(json.dumps(gt))
    assert dataset_digest(info) != before


def test_yolo_digest_ignores_the_new_fields(layouts: dict[str, Path]) -> None:
    info = load_data_yaml(layouts["yolo"])
    assert info.format == "yolo" and info.val_annotations is None and info.category_ids == ()
    assert len(dataset_digest(info)) == 16


# ---------------------------------------------------------------- the YOLO view


@pytest.mark.parametrize("fmt", ["voc", "coco"])
def test_yolo_view_is_a_yolo_dataset(layouts: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    info = load_data_yaml(layouts[fmt])
    view = yolo_view(info, tmp_path / "view")
    assert view.format == "yolo" and view.names == info.names
    again = load_data_yaml(tmp_path / "view" / "data.yaml")
    assert (again.train, again.val) == (view.train, view.val)
    assert yaml.safe_load((tmp_path / "view" / "data.yaml").read_text())["path"] == str(tmp_path / "view")
    yolo_images = split_images(load_data_yaml(layouts["yolo"]))
    view_images = list_images(view.val)
    assert [p.name for p in view_images] == [p.name for p in yolo_images] and view_images[0].is_symlink()
    for ours, reference in zip(view_images, yolo_images):
        rows = read_labels(label_path_for(ours), nc=view.nc)
        ref = read_labels(label_path_for(reference), nc=view.nc)
        assert [r[0] for r in rows] == [r[0] for r in ref]
        assert np.allclose([r[1:] for r in rows], [r[1:] for r in ref], atol=1e-5)
    assert write_resolved_yaml(view, tmp_path / "resolved.yaml").is_file()  # what the trainers are given


def test_yolo_view_is_reused_and_refreshed(tmp_path: Path) -> None:
    info = load_data_yaml(synthesize(tmp_path / "voc", SPEC, splits=("val",), format="voc"))
    dest = tmp_path / "view"
    first = yolo_view(info, dest)
    label = label_path_for(list_images(first.val)[0])
    stamp = label.stat().st_mtime_ns
    assert yolo_view(info, dest) == first and label.stat().st_mtime_ns == stamp  # complete: not rewritten
    xml = tmp_path / "voc" / "VOCdevkit" / "VOC2007" / "Annotations" / f"{label.stem}.xml"
    objects = xml.read_text().count("<object>")
    assert objects > 0 and len(read_labels(label, nc=info.nc)) == objects
    xml.write_text(xml.read_text().replace("<difficult>0</difficult>", "<difficult>1</difficult>", 1))
    yolo_view(info, dest)  # stale: rebuilt, and the difficult object is left out of the labels
    assert len(read_labels(label, nc=info.nc)) == objects - 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["view", "voc"]  # no temporary folders left


def test_yolo_view_of_yolo_is_itself_and_refuses_a_foreign_folder(layouts: dict[str, Path], tmp_path: Path) -> None:
    info = load_data_yaml(layouts["yolo"])
    assert yolo_view(info, tmp_path / "unused") is info and not (tmp_path / "unused").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="is not a paretodet yolo view"):
        yolo_view(load_data_yaml(layouts["voc"]), tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_resolved_yaml_of_voc_points_to_the_view(layouts: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a voc dataset: write the YAML of its yolo_view"):
        write_resolved_yaml(load_data_yaml(layouts["voc"]), tmp_path / "x.yaml")


# ---------------------------------------------------------------- real COCO annotations (../shared)

COCO128 = Path(__file__).resolve().parents[3] / "shared" / "data" / "coco128"


@pytest.mark.skipif(not COCO128.is_dir(), reason="../shared/data/coco128 is absent")
def test_real_coco_json_matches_the_yolo_labels(tmp_path: Path) -> None:
    data = tmp_path / "coco128.yaml"
    data.write_text(
        yaml.safe_dump(
            {
                "format": "coco",
                "path": str(COCO128),
                "val": {"images": "images/train2017", "annotations": "annotations/instances_train2017_coco128.json"},
            }
        )
    )
    coco = load_data_yaml(data)
    yolo = load_data_yaml(COCO128 / "data.yaml")
    assert coco.names == yolo.names and coco.category_ids[:3] == (1, 2, 3) and coco.nc == 80
    images = split_images(coco)
    assert [p.name for p in images] == [p.name for p in split_images(yolo, "train")]
    crowds = 0
    for image in images:
        ours, theirs = read_truth(coco, image), read_truth(yolo, image)
        assert (ours.height, ours.width) == (theirs.height, theirs.width)  # JSON size == image header size
        plain = ~ours.difficult
        crowds += int(ours.crowd.sum()) if ours.crowd is not None else 0
        assert ours.classes[plain].tolist() == theirs.classes.tolist()  # YOLO labels leave crowds out
        assert np.abs(ours.boxes[plain] - theirs.boxes).max(initial=0) < 0.01
    assert crowds == 10
