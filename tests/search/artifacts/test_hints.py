"""An artifact runs with the precision hint it was built with when it is measured again (`evaluate`, `compare`);
`--precision-hint` sets one for a third-party IR or overrides it; the figures say which ran and where it came from;
a hint the runtime or this host does not offer is refused in one line (issue 35, defect 6)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from paretodet.cli import main
from paretodet.data import SynthSpec, synthesize
from paretodet.models import demo_teacher_path
from tests.test_cli import assert_one_line_error, run_cli

pytest.importorskip("openvino", reason="the [openvino] extra is not installed")


def _built_hint() -> str:
    """A hint other than the default f32 where this host offers one (bf16 or f16), else f32 itself: the IR is
    built with it set explicitly, so it is recorded either way."""
    from paretodet.runtimes import runtime_spec

    return next((h for h in runtime_spec("openvino").offered_hints() if h != "f32"), "f32")


BUILT = _built_hint()
OFFERS_F32_ONLY = "precision_hint=bf16 is not offered by runtime=openvino on this host (it offers f32)"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 val images of the shapes, which the demo teacher finds (mAP50-95 well above 0 at 96 px)."""
    return synthesize(tmp_path_factory.mktemp("hint_data"), SynthSpec(images=8, seed=3))


@pytest.fixture(scope="module")
def built(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`paretodet apply --set runtime=openvino --set precision_hint=BUILT --out ov`: the folder."""
    out = tmp_path_factory.mktemp("hinted") / "ov"
    sets = ["imgsz=96", "runtime=openvino", f"precision_hint={BUILT}"]
    args = ["apply", str(demo_teacher_path()), "--data", str(data), "--out", str(out), "--threads", "1"]
    with pytest.raises(SystemExit) as exc:  # (a module fixture: no capsys)
        main([*args, *(x for s in sets for x in ("--set", s))])
    assert not exc.value.code
    return out


@pytest.fixture(scope="module")
def third_party(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same IR without its sidecar, as another tool would hand it over."""
    folder = tmp_path_factory.mktemp("third_party")
    for name in ("model.xml", "model.bin"):
        shutil.copy2(built / name, folder / name)
    return folder / "model.xml"


def _evaluate(model: Path, data: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    args = ["evaluate", str(model), "--data", str(data), "--threads", "1", "--json", *extra]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    return json.loads(out)


def test_evaluate_runs_an_ir_with_the_hint_it_was_built_with(
    built: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = json.loads((built / "metrics.json").read_text())
    assert recorded["runtime_hint"] == BUILT and "precision_hint: " + BUILT in (built / "config.yaml").read_text()
    metrics = _evaluate(built / "model.xml", data, capsys)
    assert metrics["runtime_hint"] == BUILT and metrics["hint_source"] == "artifact"
    assert recorded["map50_95"] > 0.05  # a model that finds the shapes: the same mAP means something
    assert metrics["map50_95"] == pytest.approx(recorded["map50_95"], abs=1e-6)
    assert metrics["map50"] == pytest.approx(recorded["map50"], abs=1e-6)


def test_precision_hint_overrides_or_sets_the_hint_and_is_recorded(
    built: Path, third_party: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = json.loads((built / "metrics.json").read_text())
    overridden = _evaluate(built / "model.xml", data, capsys, "--precision-hint", "f32")
    assert overridden["runtime_hint"] == "f32" and overridden["hint_source"] == "option"
    bare = _evaluate(third_party, data, capsys)  # records no hint: the runtime's default
    assert bare["runtime_hint"] == "f32" and bare["hint_source"] == "default"
    chosen = _evaluate(third_party, data, capsys, "--precision-hint", BUILT)  # the build's hint, asked for
    assert chosen["runtime_hint"] == BUILT and chosen["hint_source"] == "option"
    assert chosen["map50_95"] == pytest.approx(recorded["map50_95"], abs=1e-6)


def test_compare_runs_each_item_with_its_hint_or_the_asked_one(
    built: Path, third_party: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = json.loads((built / "metrics.json").read_text())
    args = ["compare", str(built / "model.xml"), str(third_party), "--data", str(data), "--threads", "1"]
    code, out, err = run_cli([*args, "--rounds", "6", "--json"], capsys)
    assert code == 0, err
    ours, bare = json.loads(out)["items"]
    assert (ours["runtime_hint"], ours["hint_source"]) == (BUILT, "artifact")
    assert (bare["runtime_hint"], bare["hint_source"]) == ("f32", "default")
    assert ours["map50_95"] == pytest.approx(recorded["map50_95"], abs=1e-6)
    code, out, err = run_cli([*args, "--rounds", "6", "--csv", "--precision-hint", "f32"], capsys)
    assert code == 0, err
    header, *rows = out.strip().splitlines()
    columns = header.split(",")
    picked = [dict(zip(columns, row.split(","))) for row in rows]
    assert [(r["runtime_hint"], r["hint_source"]) for r in picked] == [("f32", "option")] * 2


def test_hints_the_runtime_or_host_does_not_offer_are_refused_in_one_line(
    built: Path, third_party: Path, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["--data", str(data), "--threads", "1"]
    code, _, err = run_cli(["evaluate", str(built / "model.xml"), *base, "--precision-hint", "f64"], capsys)
    assert_one_line_error(code, err, "runtime=openvino takes precision hint f32 | bf16 | f16, not f64")
    onnx = next((built / "cache" / "export").glob("*/model.onnx"))  # ONNX Runtime's file: it takes no hint
    code, _, err = run_cli(["evaluate", str(onnx), *base, "--precision-hint", "f32"], capsys)
    assert_one_line_error(code, err, "runtime=onnxruntime takes no precision hint")
    code, _, err = run_cli(["compare", str(onnx), str(onnx), *base, "--precision-hint", "f32"], capsys)
    assert_one_line_error(code, err, "no compared item runs on a runtime that takes a precision hint")
    # a host whose CPU offers OpenVINO f32 only
    monkeypatch.setattr("paretodet.runtimes._capabilities.cpu_precision_hints", lambda: ("f32",))
    code, _, err = run_cli(["evaluate", str(third_party), *base, "--precision-hint", "bf16"], capsys)
    assert_one_line_error(
        code, err, "precision_hint=bf16 is not offered by runtime=openvino on this host (it offers f32)"
    )
    if BUILT != "f32":
        code, _, err = run_cli(["evaluate", str(built / "model.xml"), *base], capsys)
        assert_one_line_error(code, err, f"model.xml was built for precision_hint={BUILT}, which runtime=openvino")
