from __future__ import annotations

from pathlib import Path

import pytest

from paretodet.errors import ConfigError
from paretodet.spaces import PRESETS, knob_names, knob_table, load_space, parse_space, space_to_dict


def test_every_knob_is_documented() -> None:
    rows = knob_table()
    assert [row["knob"] for row in rows] == knob_names()
    assert all(row["help"] and row["allowed"] and row["stages"] for row in rows)
    by_name = {row["knob"]: row for row in rows}
    assert by_name["imgsz"]["allowed"] == "a multiple of 32 in [32, 4096]"
    assert by_name["quant.precision"]["allowed"] == "fp32 | fp16 | int8"
    assert by_name["prune.backbone_ratio"]["allowed"] == "float in [0, 0.9] or -1"
    assert by_name["prune.lr"]["allowed"] == "float in (0, 1]"
    assert by_name["prune.skip"]["allowed"] == "comma-separated module names"
    assert by_name["quant.per_channel"]["allowed"] == "bool"
    assert by_name["quant.calibration"]["when"] == "int8 by ONNX Runtime's QDQ quantizer"
    assert by_name["quant.fp_layers"]["when"] == "quant.precision is int8"
    assert by_name["runtime"]["allowed"].startswith("onnxruntime | openvino | torch")
    assert by_name["precision_hint"]["when"] == "the runtime takes a precision hint"


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_load_and_round_trip(preset: str) -> None:
    space = load_space(preset)
    names = [k.name for k in space.knobs]
    assert {"imgsz", "quant.precision", "prune.method", "distill.alpha"} <= set(names)
    assert ("distill.student_width" in names) == (preset != "quick")  # the demo's preset trains no student
    assert parse_space(space_to_dict(space), where="round trip") == space


def test_a_space_file_with_base_and_conditions(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "base: {imgsz: 256}\n"
        "knobs:\n"
        "  prune.method: {choices: [none, l2]}\n"
        "  prune.ratio: {low: 0.1, high: 0.5, step: 0.1, when: {prune.method: [l2]}}\n"
    )
    space = load_space(path)
    assert space.base.imgsz == 256 and [k.name for k in space.knobs] == ["prune.method", "prune.ratio"]
    assert space.knobs[1].when == (("prune.method", ("l2",)),)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("knobs:\n  imgsize: {choices: [160]}\n", "unknown knob 'imgsize' (did you mean 'imgsz'?)"),
        ("knob:\n  imgsz: {choices: [160]}\n", "needs a 'knobs:' mapping"),
        ("knobs:\n  imgsz: {choices: [160]}\nbsae: {}\n", "unknown key 'bsae' (did you mean 'base'?)"),
        ("knobs:\n  prune.ratio: {low: 0.5, high: 0.1}\n", "empty range"),
        ("knobs:\n  prune.ratio: {low: high, high: 0.1}\n", "'low' must be a number"),
        ("knobs:\n  imgsz: {choices: []}\n", "'choices' is empty"),
        ("knobs:\n  imgsz: {choices: [big]}\n", "is not a int"),
        ("knobs:\n  imgsz: {chioces: [160]}\n", "unknown field 'chioces' (did you mean 'choices'?)"),
        ("knobs:\n  prune.ratio: {low: 0.1, high: 0.5, when: {prune.methd: [l2]}}\n", "unknown knob 'prune.methd'"),
        ("knobs: [imgsz\n", "malformed YAML at line"),
    ],
)
def test_bad_space_files_fail_with_one_clear_message(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_space(path)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_unknown_preset_suggests_one() -> None:
    with pytest.raises(ConfigError, match="did you mean 'quick'"):
        load_space("quik")
