"""Bad VOC / COCO input: one DataError line that names the file and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from paretodet.data import DatasetInfo, SynthSpec, load_data_yaml, load_dataset, read_truth, split_images, synthesize
from paretodet.errors import DataError

SPEC = SynthSpec(images=1, seed=2, min_side=40, max_side=40, max_objects=3)
OBJECT = "<object><name>{name}</name><difficult>0</difficult><bndbox>{box}</bndbox></object>"


def _box(xmin: Any, ymin: Any, xmax: Any, ymax: Any) -> str:
    return f"<xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax>"


def _xml(*objects: str) -> str:
    size = "<size><width>40</width><height>40</height><depth>3</depth></size>"
    return f"<annotation><filename>val_00000.png</filename>{size}{''.join(objects)}</annotation>"


def _read_all(info: DatasetInfo) -> None:
    for image in split_images(info):
        read_truth(info, image)


def _one_line(err: pytest.ExceptionInfo[DataError], *needles: str) -> str:
    message = str(err.value)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, message
    return message


@pytest.fixture()
def voc(tmp_path: Path) -> DatasetInfo:
    return load_data_yaml(synthesize(tmp_path, SPEC, splits=("val",), format="voc"))


@pytest.fixture()
def coco(tmp_path: Path) -> DatasetInfo:
    return load_data_yaml(synthesize(tmp_path, SPEC, splits=("val",), format="coco"))


def _xml_path(info: DatasetInfo) -> Path:
    assert info.val_annotations is not None
    return info.val_annotations / "val_00000.xml"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("<annotation><object>", "is malformed XML"),
        (_xml(OBJECT.format(name="circle", box=_box(-1, 1, 10, 10))), "lies outside the 40x40 image"),
        (_xml(OBJECT.format(name="circle", box=_box(5, 5, 43, 10))), "lies outside the 40x40 image"),
        (_xml(OBJECT.format(name="circle", box=_box(9, 5, 8, 10))), "xmax < xmin"),
        (_xml(OBJECT.format(name="circle", box=_box(5, 9, 10, 7))), "ymax < ymin"),
        (_xml(OBJECT.format(name="unicorn", box=_box(1, 1, 10, 10))), "unknown class 'unicorn'"),
        (_xml(OBJECT.format(name="circle", box=_box("a", 1, 10, 10))), "<xmin> is not a number"),
        (_xml(OBJECT.format(name="circle", box=_box("nan", 1, 10, 10))), "<xmin> is not a finite number"),
        (_xml("<object><name>circle</name></object>"), "has no <xmin>"),
    ],
)
def test_bad_voc_xml(voc: DatasetInfo, content: str, needle: str) -> None:
    _xml_path(voc).write_text(content)
    with pytest.raises(DataError) as err:
        _read_all(voc)
    _one_line(err, str(_xml_path(voc)), needle)


def test_voc_box_within_one_pixel_is_clipped(voc: DatasetInfo) -> None:
    _xml_path(voc).write_text(_xml(OBJECT.format(name="circle", box=_box(1, 0.5, 41, 40)), ""))
    truth = read_truth(voc, split_images(voc)[0])
    assert truth.boxes.tolist() == [[0.0, 0.0, 40.0, 40.0]]  # xmin 1 -> 0; a 1-pixel box (xmin == xmax) is fine
    _xml_path(voc).write_text(_xml(OBJECT.format(name="circle", box=_box(7, 7, 7, 7))))
    assert read_truth(voc, split_images(voc)[0]).boxes.tolist() == [[6.0, 6.0, 7.0, 7.0]]


def test_voc_missing_image_xml_and_list(voc: DatasetInfo) -> None:
    voc.val.write_text("val_00000\nval_99999\n")
    with pytest.raises(DataError) as err:
        split_images(voc)
    _one_line(err, str(voc.val), "image 'val_99999' is not in", "remove the id from the list")
    voc.val.write_text("val_00000\n")
    _xml_path(voc).unlink()
    with pytest.raises(DataError) as err:
        _read_all(voc)
    _one_line(err, str(_xml_path(voc)), "not found")
    voc.val.write_text("\n")
    with pytest.raises(DataError) as err:
        split_images(voc)
    _one_line(err, str(voc.val), "lists no images")


def test_voc_yaml_split_must_be_a_list_in_a_voc_folder(tmp_path: Path, voc: DatasetInfo) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: voc\nval: VOCdevkit/VOC2007\n")
    with pytest.raises(DataError) as err:
        load_data_yaml(bad)
    _one_line(err, str(bad), "must be a list file such as VOC2007/ImageSets/Main/val.txt")
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "val.txt").write_text("val_00000\n")
    bad.write_text("format: voc\nval: lists/val.txt\n")
    with pytest.raises(DataError) as err:
        load_data_yaml(bad)
    _one_line(err, str(bad), "JPEGImages is missing")


def _edit_json(info: DatasetInfo, edit: Any) -> Path:
    assert info.val_annotations is not None
    gt = json.loads(info.val_annotations.read_text())
    edit(gt)
    info.val_annotations.write_text(json.dumps(gt))
    return info.val_annotations


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda gt: gt.pop("images"), "has no 'images' list"),
        (lambda gt: gt.pop("annotations"), "has no 'annotations' list"),
        (lambda gt: gt.pop("categories"), "has no 'categories' list"),
        (lambda gt: gt["annotations"][0].update(image_id=77), "points to unknown image id 77"),
        (lambda gt: gt["annotations"][0].update(category_id=0), "points to unknown category id 0"),
        (lambda gt: gt["annotations"][0].update(bbox=[1, 2, 3]), "needs 'bbox': [x, y, width, height]"),
        (lambda gt: gt["annotations"][0].update(bbox=[1, 2, -3, 4]), "needs 'bbox'"),
        (lambda gt: gt["annotations"][0].update(bbox=[30, 2, 15, 4]), "lies outside the 40x40 image"),
        (lambda gt: gt["images"][0].update(file_name="gone.png"), "image 'gone.png' not found"),
        (lambda gt: gt["images"].append(dict(gt["images"][0])), "appears twice"),
        (lambda gt: gt["categories"].append({"id": 1, "name": "again"}), "needs a unique integer 'id'"),
    ],
)
def test_bad_coco_json(coco: DatasetInfo, edit: Any, needle: str) -> None:
    path = _edit_json(coco, edit)
    with pytest.raises(DataError) as err:
        _read_all(load_data_yaml(coco.yaml_path))
    _one_line(err, str(path), needle)


@pytest.mark.parametrize(
    ("text", "needle"), [("{not json", "is not valid JSON (line 1)"), ("[1, 2]", "is not a COCO JSON"), ("", "JSON")]
)
def test_coco_json_that_is_not_coco(coco: DatasetInfo, text: str, needle: str) -> None:
    assert coco.val_annotations is not None
    coco.val_annotations.write_text(text)
    with pytest.raises(DataError) as err:
        load_data_yaml(coco.yaml_path)
    _one_line(err, str(coco.val_annotations), needle)


def test_coco_image_not_in_the_json(coco: DatasetInfo) -> None:
    stranger = coco.val / "stranger.png"
    stranger.write_bytes(split_images(coco)[0].read_bytes())
    with pytest.raises(DataError) as err:
        read_truth(coco, stranger)
    _one_line(err, str(stranger), str(coco.val_annotations), "add it to the JSON's 'images'")


def test_coco_json_read_once_until_it_changes(coco: DatasetInfo) -> None:
    from paretodet.data._coco import coco_index

    assert coco.val_annotations is not None
    assert coco_index(coco.val_annotations) is coco_index(coco.val_annotations)
    first = coco_index(coco.val_annotations)
    _edit_json(coco, lambda gt: gt["annotations"].clear())
    assert coco_index(coco.val_annotations) is not first
    assert len(read_truth(coco, split_images(coco)[0])) == 0


@pytest.mark.parametrize("fmt", ["voc", "coco"])
@pytest.mark.parametrize("key", ["val", "train", "names", "path"])
@pytest.mark.parametrize("value", [None, 0, True, 3.5, "", "nowhere", [], ["a", "b"], {}, {"images": 1}, "~/x"])
def test_hostile_yaml_values_are_data_errors(tmp_path: Path, fmt: str, key: str, value: Any) -> None:
    yaml_path = synthesize(tmp_path, SPEC, splits=("val",), format=fmt)
    raw = yaml.safe_load(yaml_path.read_text())
    raw[key] = value
    yaml_path.write_text(yaml.safe_dump(raw))
    try:
        info = load_data_yaml(yaml_path)
    except DataError as exc:
        assert "\n" not in str(exc) and str(yaml_path) in str(exc)
        return
    try:  # accepted: then reading fails, if at all, with one DataError line naming a file
        _read_all(info)
    except DataError as exc:
        assert "\n" not in str(exc) and str(tmp_path) in str(exc)


def test_unknown_format(tmp_path: Path) -> None:
    bad = tmp_path / "data.yaml"
    bad.write_text("format: kitti\nval: images\nnames: [a]\n")
    with pytest.raises(DataError) as err:
        load_data_yaml(bad)
    _one_line(err, str(bad), "unknown 'format: 'kitti'': use one of yolo, voc, coco")
    with pytest.raises(DataError):
        load_dataset(tmp_path)  # the folder's data.yaml is the same YAML
