from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from paretodet.data import (
    SynthSpec,
    label_path_for,
    list_images,
    load_data_yaml,
    read_labels,
    synthesize,
    write_data_yaml,
)
from paretodet.errors import DataError


def _dataset(root: Path) -> Path:
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        (root / "images" / split / "a.png").write_bytes(b"")
    return write_data_yaml(root, names=["cat", "dog"])


def test_relative_path_resolves_against_yaml_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    yaml_path = _dataset(tmp_path / "ds")
    monkeypatch.chdir(tmp_path)  # a cwd elsewhere must not matter
    info = load_data_yaml(yaml_path)
    assert info.root == (tmp_path / "ds").resolve()
    assert info.val == info.root / "images" / "val"
    assert info.names == ("cat", "dog")


def test_written_yaml_has_no_path_key(tmp_path: Path) -> None:
    raw = yaml.safe_load(_dataset(tmp_path / "ds").read_text())
    assert "path" not in raw and raw["train"] == "images/train" and raw["val"] == "images/val"


def test_synth_yaml_same_folders_from_any_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    yaml_path = synthesize(tmp_path / "shapes", SynthSpec(images=1, seed=0, min_side=32, max_side=32, max_objects=1))
    seen = []
    for cwd in (tmp_path, tmp_path / "shapes", tmp_path / "elsewhere"):
        cwd.mkdir(exist_ok=True)
        (cwd / "images" / "val").mkdir(parents=True, exist_ok=True)  # a decoy layout in the working directory
        monkeypatch.chdir(cwd)
        info = load_data_yaml(yaml_path)
        seen.append((info.train, info.val))
    root = (tmp_path / "shapes").resolve()
    assert seen == [(root / "images" / "train", root / "images" / "val")] * 3


def test_ultralytics_val_reads_the_yaml_folder_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model: Path
) -> None:
    from ultralytics import YOLO

    spec = SynthSpec(images=1, seed=0, min_side=64, max_side=64, max_objects=2)
    yaml_path = synthesize(tmp_path / "shapes", spec)
    decoy = tmp_path / "elsewhere"
    (decoy / "images" / "val").mkdir(parents=True)  # what 'path: .' would have meant from here
    monkeypatch.chdir(decoy)
    model = YOLO(str(tiny_model))
    seen: list[tuple[int, str]] = []
    model.add_callback("on_val_end", lambda v: seen.append((v.seen, str(v.data["val"]))))
    model.val(
        data=str(yaml_path),
        imgsz=64,
        batch=8,
        device="cpu",
        workers=0,
        plots=False,
        verbose=False,
        project=str(tmp_path / "runs"),
    )
    info = load_data_yaml(yaml_path)
    assert seen == [(len(list_images(info.val)), str(info.val.resolve()))]
    assert seen[0][0] == spec.val_images


@pytest.mark.parametrize("value", [".", "ds"])
def test_ambiguous_relative_path_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    _dataset(tmp_path / "ds")
    yaml_path = tmp_path / "ds" / "data.yaml"
    yaml_path.write_text(f"path: {value}\nval: images/val\nnames: [a]\n")
    if value == "ds":  # 'ds' next to the YAML is ds/ds: give it the layout, and the working directory its own ds
        _dataset(tmp_path / "ds" / "ds")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as err:
        load_data_yaml(yaml_path)
    message = str(err.value)
    assert "\n" not in message and str(yaml_path) in message
    assert str((tmp_path / "ds" / value).resolve()) in message and str((tmp_path / value).resolve()) in message
    assert "remove 'path:' so both tools read the YAML's folder, or make it absolute" in message


def test_relative_path_where_both_readings_coincide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    yaml_path = _dataset(tmp_path / "ds")
    yaml_path.write_text("path: .\nval: images/val\nnames: [a]\n")
    monkeypatch.chdir(tmp_path / "ds")  # the working directory is the YAML's folder
    assert load_data_yaml(yaml_path).val == (tmp_path / "ds").resolve() / "images" / "val"


def test_relative_path_only_in_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _dataset(tmp_path / "ds")
    yaml_path = tmp_path / "cfg" / "other.yaml"  # no 'ds' next to it: only Ultralytics' reading exists
    yaml_path.parent.mkdir()
    yaml_path.write_text("path: ds\nval: images/val\nnames: [a]\n")
    monkeypatch.chdir(tmp_path)
    assert load_data_yaml(yaml_path).root == (tmp_path / "ds").resolve()


def test_relative_path_missing_everywhere_uses_ultralytics_datasets_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ultralytics.utils

    datasets = tmp_path / "datasets"
    _dataset(datasets / "mine")
    # a plain dict: setting a key of Ultralytics' SETTINGS would rewrite the user's settings file
    monkeypatch.setattr(ultralytics.utils, "SETTINGS", {**ultralytics.utils.SETTINGS, "datasets_dir": str(datasets)})
    yaml_path = tmp_path / "cfg" / "mine.yaml"
    yaml_path.parent.mkdir()
    yaml_path.write_text("path: mine\nval: images/val\nnames: [a]\n")
    monkeypatch.chdir(tmp_path / "cfg")
    assert load_data_yaml(yaml_path).val == datasets.resolve() / "mine" / "images" / "val"
    yaml_path.write_text("path: nowhere\nval: images/val\nnames: [a]\n")
    with pytest.raises(DataError, match="dataset root 'path: nowhere' not found"):
        load_data_yaml(yaml_path)


def test_absolute_and_missing_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _dataset(tmp_path / "ds")
    monkeypatch.chdir(tmp_path)
    absolute = tmp_path / "abs.yaml"
    absolute.write_text(f"path: {tmp_path / 'ds'}\ntrain: images/train\nval: images/val\nnames: [a]\n")
    missing = tmp_path / "ds" / "plain.yaml"
    missing.write_text("train: images/train\nval: images/val\nnames: [a]\n")
    for yaml_path in (absolute, missing):
        info = load_data_yaml(yaml_path)
        assert info.root.resolve() == (tmp_path / "ds").resolve()
        assert info.train == info.root / "images" / "train" and info.val == info.root / "images" / "val"


def test_names_as_list_and_mapping(tmp_path: Path) -> None:
    _dataset(tmp_path)
    (tmp_path / "list.yaml").write_text("val: images/val\nnames: [a, b, c]\n")
    assert load_data_yaml(tmp_path / "list.yaml").names == ("a", "b", "c")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("val: [unclosed\n", "malformed"),
        ("names: [a]\n", "no 'val' split"),
        ("val: images/nowhere\nnames: [a]\n", "does not exist"),
        ("val: images/val\n", "no class 'names'"),
        ("- just\n- a list\n", "must be a mapping"),
    ],
)
def test_bad_yaml_clear_error(tmp_path: Path, content: str, message: str) -> None:
    _dataset(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    with pytest.raises(DataError, match=message):
        load_data_yaml(bad)


def test_missing_yaml(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_data_yaml(tmp_path / "nope.yaml")


def test_bad_label_line_names_file_and_line(tmp_path: Path) -> None:
    label = tmp_path / "x.txt"
    label.write_text("0 0.5 0.5 0.1 0.1\n1 0.5 oops 0.1 0.1\n")
    with pytest.raises(DataError, match=r"x\.txt:2: a value is not a number"):
        read_labels(label, nc=2)
    label.write_text("5 0.5 0.5 0.1 0.1\n")
    with pytest.raises(DataError, match=r"x\.txt:1: class id 5 outside 0..1"):
        read_labels(label, nc=2)
    label.write_text("0 0.5 0.5 1.7 0.1\n")
    with pytest.raises(DataError, match="outside 0-1"):
        read_labels(label, nc=2)


def test_label_path_and_images(tmp_path: Path) -> None:
    _dataset(tmp_path)
    images = list_images(tmp_path / "images" / "val")
    assert label_path_for(images[0]) == tmp_path / "labels" / "val" / "a.txt"
    assert read_labels(label_path_for(images[0]), nc=2) == []  # no label file = background image
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        list_images(tmp_path / "empty")


def test_a_read_only_yolo_dataset_trains_through_a_mirror(tmp_path: Path) -> None:
    """Ultralytics writes labels/*.cache beside the labels: never into a dataset marked read-only."""
    import os
    import stat

    from paretodet.data import SynthSpec, load_dataset, synthesize, ultralytics_data_yaml

    data = load_dataset(synthesize(tmp_path / "d", SynthSpec(images=2, seed=1)))
    assert ultralytics_data_yaml(data, tmp_path / "w1").read_text().count(str(tmp_path / "d")) >= 1  # writable
    labels = [p for p in (tmp_path / "d").rglob("labels") if p.is_dir()]
    folders = [labels[0], *[p for p in labels[0].iterdir() if p.is_dir()]]
    for folder in folders:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        text = ultralytics_data_yaml(data, tmp_path / "w2").read_text()
    finally:
        for folder in folders:
            os.chmod(folder, 0o755)
    assert str(tmp_path / "w2" / "data-view") in text and str(tmp_path / "d") not in text
