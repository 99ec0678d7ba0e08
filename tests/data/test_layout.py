from __future__ import annotations

from pathlib import Path

import pytest

from paretodet.data import label_path_for, list_images, load_data_yaml, read_labels, write_data_yaml
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


def test_names_as_list_and_mapping(tmp_path: Path) -> None:
    _dataset(tmp_path)
    (tmp_path / "list.yaml").write_text("path: .\nval: images/val\nnames: [a, b, c]\n")
    assert load_data_yaml(tmp_path / "list.yaml").names == ("a", "b", "c")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("path: .\nval: [unclosed\n", "malformed"),
        ("path: .\nnames: [a]\n", "no 'val' split"),
        ("path: .\nval: images/nowhere\nnames: [a]\n", "does not exist"),
        ("path: .\nval: images/val\n", "no class 'names'"),
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
