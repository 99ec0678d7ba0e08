"""Any artifact in: Ultralytics' own ONNX and OpenVINO exports, and paretodet's artifacts, read from disk and
measured on the same footing; files paretodet cannot read are refused in one line."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from paretodet.cli import main
from paretodet.data import SHAPE_CLASSES, SynthSpec, load_dataset, synthesize
from paretodet.errors import ConfigError, ModelError
from paretodet.models import demo_teacher_path
from paretodet.objectives import EvalSettings, LatencySettings, evaluate
from paretodet.runtimes import Artifact, artifact_from_file
from paretodet.search import evaluate_artifact_file

IMGSZ = 96  # the demo teacher still finds the shapes at 96 px (mAP50-95 ~0.27 on 8 images)
FAST = EvalSettings(threads=1, latency=LatencySettings(warmup=1, runs=30))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 val images of the shapes (a copy of its own: Ultralytics writes label caches beside the data)."""
    return synthesize(tmp_path_factory.mktemp("open_file_data"), SynthSpec(images=8, seed=3))


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo teacher exported by Ultralytics (ONNX, OpenVINO FP32 folder) and by paretodet (FP32 ONNX)."""
    from ultralytics import YOLO

    from paretodet.compress import export_artifact
    from paretodet.models import load_detector

    work = tmp_path_factory.mktemp("exports")
    teacher = shutil.copy(demo_teacher_path(), work / "teacher.pt")
    # simplify=False: onnxslim is not installed, and Ultralytics would try to pip-install it (offline)
    onnx_file = YOLO(teacher).export(format="onnx", imgsz=IMGSZ, simplify=False, verbose=False)
    ir_folder = YOLO(teacher).export(format="openvino", imgsz=IMGSZ, verbose=False)
    ours = export_artifact(
        load_detector(demo_teacher_path()),
        work / "ours" / "model.onnx",
        runtime="onnxruntime",
        imgsz=IMGSZ,
        precision="fp32",
    )
    return {"onnx": Path(onnx_file), "openvino": Path(ir_folder), "ours": ours.path}


@pytest.fixture(scope="module")
def reference_map(exports: dict[str, Path], data: Path) -> float:
    """mAP50-95 of paretodet's own FP32 artifact of the same weights."""
    return evaluate(Artifact.read_sidecar(exports["ours"]), load_dataset(data), settings=FAST).map50_95


def test_ultralytics_onnx_export_reads_and_scores_like_paretodets_own(
    exports: dict[str, Path], data: Path, reference_map: float
) -> None:
    art = artifact_from_file(exports["onnx"])
    ours = Artifact.read_sidecar(exports["ours"])
    assert (art.runtime, art.family, art.imgsz, art.precision) == ("onnxruntime", "ultralytics", IMGSZ, "fp32")
    assert art.names == SHAPE_CLASSES
    assert art.params == pytest.approx(ours.params, rel=0.01) and art.gflops == pytest.approx(ours.gflops, rel=0.01)
    metrics = evaluate(art, load_dataset(data), settings=FAST, keep_evals=False)
    assert reference_map > 0.1
    assert metrics.map50_95 == pytest.approx(reference_map, abs=0.005)


def test_ultralytics_openvino_folder_reads_and_scores_like_paretodets_own(
    exports: dict[str, Path], data: Path, reference_map: float
) -> None:
    art = artifact_from_file(exports["openvino"])
    assert art.path.suffix == ".xml" and art.path.parent == exports["openvino"]
    assert (art.runtime, art.family, art.imgsz, art.precision) == ("openvino", "ultralytics", IMGSZ, "fp32")
    assert art.names == SHAPE_CLASSES and art.gflops > 0
    assert artifact_from_file(art.path) == art  # the .xml itself reads the folder's metadata.yaml
    metrics = evaluate(art, load_dataset(data), settings=FAST, keep_evals=False)
    assert metrics.map50_95 == pytest.approx(reference_map, abs=0.005)


def test_paretodet_artifacts_read_their_sidecar_or_their_metadata(exports: dict[str, Path], tmp_path: Path) -> None:
    ours = Artifact.read_sidecar(exports["ours"])
    assert artifact_from_file(exports["ours"]) == ours
    bare = shutil.copy(exports["ours"], tmp_path / "shipped.onnx")  # an exported selection: no sidecar
    read = artifact_from_file(Path(bare))
    assert dataclasses.replace(read, path=ours.path) == dataclasses.replace(ours, params=read.params)


def test_evaluate_artifact_file_checks_imgsz_and_runtime(exports: dict[str, Path], data: Path) -> None:
    with pytest.raises(ConfigError, match=f"takes {IMGSZ} px inputs, not --imgsz 320: drop --imgsz or pass {IMGSZ}"):
        evaluate_artifact_file(exports["onnx"], data, imgsz=320)
    with pytest.raises(ConfigError, match="is a onnxruntime artifact, which runtime=torch does not run"):
        evaluate_artifact_file(exports["onnx"], data, runtime="torch")
    metrics = evaluate_artifact_file(exports["openvino"], data, imgsz=IMGSZ, settings=FAST)
    assert metrics.runtime == "openvino" and metrics.imgsz == IMGSZ and metrics.runtime_hint == "f32"
    assert not list(exports["openvino"].glob("*.evals*"))  # nothing written beside the user's file


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_cli_evaluates_an_artifact_and_refuses_another_imgsz(
    exports: dict[str, Path], data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["evaluate", str(exports["onnx"]), "--data", str(data), "--threads", "1", "--json"], capsys)
    assert code == 0
    metrics = json.loads(out)
    assert metrics["runtime"] == "onnxruntime" and metrics["imgsz"] == IMGSZ and metrics["map50_95"] > 0.1
    code, _, err = _run(["evaluate", str(exports["openvino"]), "--data", str(data), "--imgsz", "320"], capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and len(lines) == 1 and lines[0].startswith("error: ") and "not --imgsz 320" in lines[0]


# --------------------------------------------------------------------------------- hand-made graphs


def _toy_onnx(
    path: Path,
    *,
    out_shape: tuple[int, ...] = (1, 3, 4096),
    in_shape: tuple[int | str, ...] = (1, 3, 64, 64),
    meta: dict[str, str] | None = None,
    qdq: bool = False,
    declared: tuple[int | str, ...] | None = None,
) -> Path:
    """A one-node ONNX graph: images -> Reshape -> output0 (optionally through QuantizeLinear/DequantizeLinear)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.array(out_shape, dtype=np.int64), "shape")]
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["output0"])]
    source = "images"
    if qdq:
        inits += [numpy_helper.from_array(np.array(0.1, np.float32), "s"), numpy_helper.from_array(np.int8(0), "z")]
        nodes = [
            helper.make_node("QuantizeLinear", ["images", "s", "z"], ["q"]),
            helper.make_node("DequantizeLinear", ["q", "s", "z"], ["dq"]),
            *nodes,
        ]
        source = "dq"
    nodes = [helper.make_node("Identity", [source], ["x"]), *nodes]
    graph = helper.make_graph(
        nodes,
        "toy",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(in_shape))],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(declared or out_shape))],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    for key, value in (meta or {}).items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.save(model, str(path))
    return path


def test_unknown_output_layouts_are_refused_in_one_line(tmp_path: Path) -> None:
    toy = _toy_onnx(tmp_path / "toy.onnx")
    with pytest.raises(
        ModelError,
        match=r"cannot tell which detector family .*\(1 output\(s\) \(1, 3, 4096\), no "
        r"class names\): pass a paretodet artifact",
    ):
        artifact_from_file(toy)
    v5 = _toy_onnx(tmp_path / "v5.onnx", out_shape=(1, 252, 11), meta={"names": str(dict(enumerate("abcdef")))})
    with pytest.raises(ModelError, match=r"original YOLOv5 export \(output \(1, 252, 11\)"):
        artifact_from_file(v5)
    e2e = _toy_onnx(tmp_path / "e2e.onnx", out_shape=(1, 300, 6), meta={"end2end": "True"})
    with pytest.raises(ModelError, match=r"end-to-end export .*: re-export it with nms=False"):
        artifact_from_file(e2e)


def test_a_bare_v8_layout_is_read_with_placeholder_names(tmp_path: Path) -> None:
    art = artifact_from_file(_toy_onnx(tmp_path / "bare.onnx", out_shape=(1, 10, 84)))  # 64 px: 8^2 + 4^2 + 2^2
    assert art.family == "ultralytics" and art.names == tuple(f"class{i}" for i in range(6)) and art.imgsz == 64
    assert art.params == 0 and art.gflops == 0.0  # no conv or matmul layers to count


def test_files_it_cannot_use_are_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model file not found: .*nope.onnx"):
        artifact_from_file(tmp_path / "nope.onnx")
    (tmp_path / "m.tflite").write_bytes(b"\0")
    with pytest.raises(ModelError, match=r"is not an ONNX \(.onnx\) or OpenVINO \(.xml\) file"):
        artifact_from_file(tmp_path / "m.tflite")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"holds no .xml file: pass a folder with one OpenVINO IR"):
        artifact_from_file(tmp_path / "empty")
    (tmp_path / "lone.xml").write_text("<net/>")
    with pytest.raises(ModelError, match=r"has no weights file lone.bin beside it"):
        artifact_from_file(tmp_path / "lone.xml")
    seg = _toy_onnx(tmp_path / "seg.onnx", out_shape=(1, 10, 84), meta={"task": "segment"})
    with pytest.raises(ModelError, match="is an Ultralytics 'segment' model: paretodet evaluates detection models"):
        artifact_from_file(seg)
    dynamic = _toy_onnx(tmp_path / "dyn.onnx", out_shape=(1, 10, 84), in_shape=(1, 3, "height", "width"))
    with pytest.raises(ModelError, match=r"has a dynamic input size .* and no imgsz metadata: export it at a fixed"):
        artifact_from_file(dynamic)
    sized = _toy_onnx(
        tmp_path / "sized.onnx", out_shape=(1, 10, 84), in_shape=(1, 3, "h", "w"), meta={"imgsz": "[64, 64]"}
    )
    assert artifact_from_file(sized).imgsz == 64
    meta = {"imgsz": "[64, 64]", "head": "Detect", "names": str(dict(enumerate("abcdef")))}
    fully_dynamic = _toy_onnx(  # Ultralytics' dynamic=True export: its metadata says what the output holds
        tmp_path / "d.onnx", out_shape=(1, 10, 84), in_shape=(1, 3, "h", "w"), declared=("b", "c", "a"), meta=meta
    )
    assert artifact_from_file(fully_dynamic).family == "ultralytics"
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(ModelError, match="is not a readable ONNX file"):
        artifact_from_file(tmp_path / "junk.onnx")


def test_int8_is_read_from_the_graph(tmp_path: Path) -> None:
    import openvino as ov
    from openvino import opset13 as ops

    assert artifact_from_file(_toy_onnx(tmp_path / "q.onnx", out_shape=(1, 10, 84), qdq=True)).precision == "int8"
    images = ops.parameter([1, 3, 64, 64], np.float32, name="images")
    low, high = ops.constant(np.float32(0)), ops.constant(np.float32(1))
    flat = ops.reshape(ops.fake_quantize(images, low, high, low, high, 256), ops.constant([1, -1]), False)
    head = ops.slice(flat, ops.constant([0]), ops.constant([840]), ops.constant([1]), ops.constant([1]))
    out = ops.reshape(head, ops.constant([1, 10, 84]), False)
    xml = tmp_path / "q.xml"
    ov.save_model(ov.Model([out], [images]), str(xml))
    art = artifact_from_file(xml)
    assert (art.runtime, art.precision, art.imgsz, art.family) == ("openvino", "int8", 64, "ultralytics")
