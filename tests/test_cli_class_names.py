"""A model meets data whose classes it does not know: every command refuses in one line, unless
``--ignore-class-names`` (recorded in the output); a model without names is scored with a warning (issue 35)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from paretodet.testing import tiny_checkpoint
from tests.base.test_json import strict_loads
from tests.test_cli import assert_one_line_error, run_cli

# the NEU-DET steel defects: six classes, as many as the shapes the tiny model knows
STEEL = ("crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches")


def loads(out: str) -> dict[str, Any]:
    """The JSON object a command printed on stdout."""
    data = strict_loads(out)
    assert isinstance(data, dict)
    return data


def renamed_data(tiny_data: Path, dest: Path, names: tuple[str, ...]) -> Path:
    """A data YAML over ``tiny_data``'s images and labels whose classes are called ``names``."""
    raw = yaml.safe_load(tiny_data.read_text())
    raw.update(path=str(tiny_data.parent.resolve()), names=list(names))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(raw, sort_keys=False))
    return dest


@pytest.fixture
def steel_data(tiny_data: Path, tmp_path: Path) -> Path:
    return renamed_data(tiny_data, tmp_path / "steel" / "data.yaml", STEEL)


def onnx_artifact(model: Path, dest: Path, *, bare: bool = False) -> Path:
    """``model`` exported as an ONNX file at 64 px; ``bare``: without its sidecar and metadata (no names)."""
    import onnx

    from paretodet.compress import export_artifact
    from paretodet.models import load_detector

    export_artifact(load_detector(str(model)), dest, runtime="onnxruntime", imgsz=64, precision="fp32")
    if bare:
        dest.with_name(dest.name + ".json").unlink()
        graph = onnx.load(str(dest))
        del graph.metadata_props[:]
        onnx.save(graph, str(dest))
    return dest


def test_evaluate_refuses_data_of_other_classes_unless_told(tiny_model: Path, steel_data: Path, capsys) -> None:
    args = ["evaluate", str(tiny_model), "--data", str(steel_data), "--imgsz", "64", "--threads", "1"]
    code, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, "'circle', 'square'")
    assert "'crazing', 'inclusion'" in err and "--ignore-class-names" in err
    code, out, err = run_cli([*args, "--json", "--ignore-class-names"], capsys)
    assert code == 0, err
    assert loads(out)["class_names_check"] == "ignored"


def test_evaluate_of_a_model_without_names_warns_once(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys
) -> None:
    bare = onnx_artifact(tiny_model, tmp_path / "bare.onnx", bare=True)
    code, out, err = run_cli(["evaluate", str(bare), "--data", str(tiny_data), "--threads", "1", "--json"], capsys)
    assert code == 0, err
    assert loads(out)["class_names_check"] == "unchecked"
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert len(warnings) == 1 and "names no classes" in warnings[0], err


def test_evaluate_refuses_the_same_classes_in_another_order(tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys):
    shuffled = renamed_data(
        tiny_data, tmp_path / "d" / "data.yaml", ("square", "circle", "triangle", "star", "cross", "ring")
    )
    args = ["evaluate", str(tiny_model), "--data", str(shuffled), "--imgsz", "64", "--threads", "1"]
    code, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, "another order")
    assert "class 0 is 'circle'" in err and "'square'" in err


def test_compare_refuses_data_of_other_classes(tiny_model: Path, steel_data: Path, tmp_path: Path, capsys) -> None:
    onnx = str(onnx_artifact(tiny_model, tmp_path / "m.onnx"))
    args = ["compare", onnx, onnx, "--data", str(steel_data), "--rounds", "6", "--threads", "1"]
    code, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, "'crazing', 'inclusion'")
    code, _, err = run_cli(["compare", str(tiny_model), onnx, *args[3:]], capsys)  # a checkpoint item, too
    assert_one_line_error(code, err, "'crazing', 'inclusion'")


@pytest.mark.slow
def test_compare_told_to_ignore_class_names_records_it(
    tiny_model: Path, steel_data: Path, tmp_path: Path, capsys
) -> None:
    onnx = str(onnx_artifact(tiny_model, tmp_path / "m.onnx"))
    args = ["compare", onnx, onnx, "--data", str(steel_data), "--rounds", "6", "--threads", "1"]
    code, out, err = run_cli([*args, "--json", "--ignore-class-names"], capsys)
    assert code == 0, err
    assert [row["class_names_check"] for row in loads(out)["items"]] == ["ignored", "ignored"]
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert len(warnings) == 1 and "class names ignored" in warnings[0], err


def test_search_refuses_data_of_other_classes(tiny_model: Path, steel_data: Path, tmp_path: Path, capsys) -> None:
    args = ["search", "--model", str(tiny_model), "--data", str(steel_data), "--workdir", str(tmp_path / "w")]
    fast = ["--trials", "1", "--no-probes", "--no-verify", "--space", "quick", "--threads", "1", "--set", "imgsz=64"]
    code, _, err = run_cli([*args, *fast], capsys)
    assert_one_line_error(code, err, "'crazing', 'inclusion'")  # before any trial: no trial line on stderr


def test_apply_refuses_data_of_other_classes_unless_told(
    tiny_model: Path, steel_data: Path, tmp_path: Path, capsys
) -> None:
    out_dir = tmp_path / "o"
    args = ["apply", str(tiny_model), "--data", str(steel_data), "--out", str(out_dir), "--set", "imgsz=64"]
    code, _, err = run_cli([*args, "--threads", "1"], capsys)
    assert_one_line_error(code, err, "'crazing', 'inclusion'")
    assert not (out_dir / "metrics.json").exists()
    code, _, err = run_cli([*args, "--threads", "1", "--ignore-class-names"], capsys)
    assert code == 0, err
    assert json.loads((out_dir / "metrics.json").read_text())["class_names_check"] == "ignored"


def test_apply_refuses_a_teacher_of_other_classes(tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys) -> None:
    teacher = tiny_checkpoint(tmp_path / "steel_teacher.pt", names=STEEL)
    sets = [
        f"distill.teacher={teacher}",
        "distill.alpha=0.5",
        "prune.method=l1",
        "prune.ratio=0.1",
        "prune.finetune_epochs=1",
        "imgsz=64",
    ]
    args = ["apply", str(tiny_model), "--data", str(tiny_data), "--out", str(tmp_path / "o"), "--threads", "1"]
    code, _, err = run_cli([*args, *(x for s in sets for x in ("--set", s))], capsys)
    assert_one_line_error(code, err, "teacher")
    assert "'crazing', 'inclusion'" in err and "'circle', 'square'" in err
