from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from paretodet.errors import StudyError
from paretodet.reports import Budget, export_selection, select_best, selection_readme
from paretodet.spaces import Candidate

META = {"model": "/models/best.pt", "data": "/data/data.yaml"}


def _trials(artifact: Path) -> pd.DataFrame:
    common = {"state": "COMPLETE", "runtime": "onnxruntime", "host": "box", "cpu": "Xeon", "threads": 2}
    return pd.DataFrame(
        [
            {
                **common,
                "number": 3,
                "imgsz": 256,
                "quant.precision": "int8",
                "quant.calibration": "percentile",
                "quant.fp_layers": 2,
                "prune.method": "none",
                "prune.ratio": 0.5,  # inactive: the trial does not prune
                "map50_95": 0.61234,
                "map50": 0.8,
                "latency_ms": 7.0,
                "fps": 142.857,
                "size_bytes": 3_210_000,
                "compressed_bytes": -1,  # a record made before it was measured
                "runtime_version": "1.32.0",
                "artifact": str(artifact),
            },
            {
                **common,
                "number": 4,
                "imgsz": 640,
                "quant.precision": "fp32",
                "map50_95": 0.7,
                "latency_ms": 30.0,
                "fps": 33.3,
                "size_bytes": 12e6,
                "artifact": str(artifact),
            },
        ]
    )


def test_readme_names_trial_metrics_config_and_rebuild_command(tmp_path: Path) -> None:
    sel = select_best(_trials(tmp_path / "m.onnx"), [Budget.parse("size_mb<=4")])
    text = selection_readme(sel, meta=META)
    assert text.startswith("# paretodet export: trial 3\n")
    assert "`size_mb<=4`" in text and "(1 feasible trial)" in text
    assert "| mAP50-95 | 0.6123 |" in text and "| latency | 7.00 ms |" in text
    assert "| artifact size | 3.21 MB (3,210,000 bytes) |" in text
    assert "compressed size" not in text  # not measured: left out, not shown as -1
    assert text.count("artifact size") == 1 and "| threads |" not in text  # size_mb is size_bytes in MB
    assert "timed on box (Xeon, 2 threads, ONNX Runtime 1.32.0)" in text
    command = next(line for line in text.splitlines() if line.startswith("paretodet apply"))
    assert command == (
        "paretodet apply /models/best.pt --data /data/data.yaml --out trial_3 "
        "--set imgsz=256 --set quant.precision=int8 --set quant.calibration=percentile --set quant.fp_layers=2"
    )  # only knobs that act and differ from their defaults: not prune.ratio (inactive), runtime (default)
    full = text.split("## Full config\n\n```yaml\n")[1].split("```")[0]
    assert yaml.safe_load(full) == sel.candidate() == {**Candidate().to_dict(), **yaml.safe_load(full)}
    assert set(yaml.safe_load(full)) == set(Candidate().to_dict())  # every knob, defaults included


def test_readme_without_manifest_or_budgets(tmp_path: Path) -> None:
    text = selection_readme(select_best(_trials(tmp_path / "m.onnx"), []), model_file="model.onnx")
    assert "trial 4" in text and "with no budget" in text
    assert "paretodet apply MODEL --data DATA --out trial_4 --set imgsz=640" in text


def test_export_writes_model_config_metrics_and_readme(tmp_path: Path) -> None:
    artifact = tmp_path / "cache" / "model.onnx"
    artifact.parent.mkdir()
    artifact.write_bytes(b"onnx bytes")
    sel = select_best(_trials(artifact), [Budget.parse("size_mb<=4")])
    paths = export_selection(sel, tmp_path / "ship", meta=META)
    assert set(paths) == {"artifact", "config", "metrics", "readme"}
    assert Path(paths["artifact"]).read_bytes() == b"onnx bytes" and Path(paths["artifact"]).name == "model.onnx"
    assert yaml.safe_load(Path(paths["config"]).read_text()) == sel.candidate()
    assert json.loads(Path(paths["metrics"]).read_text())["size_bytes"] == 3_210_000
    readme = Path(paths["readme"]).read_text()
    assert readme == selection_readme(sel, meta=META, model_file="model.onnx")
    assert 'YOLO("model.onnx")' in readme


def test_export_refuses_a_missing_artifact_or_no_selection(tmp_path: Path) -> None:
    trials = _trials(tmp_path / "gone.onnx")
    with pytest.raises(StudyError, match="is gone"):
        export_selection(select_best(trials, []), tmp_path / "ship", meta=META)
    with pytest.raises(StudyError, match="nothing to export"):
        export_selection(select_best(trials, [Budget.parse("size_mb<=0.001")]), tmp_path / "ship")


def test_an_openvino_ir_ships_with_its_weights_and_names_its_runtime(tmp_path: Path) -> None:
    xml = tmp_path / "cache" / "model.xml"
    xml.parent.mkdir()
    xml.write_bytes(b"<net/>")
    xml.with_suffix(".bin").write_bytes(b"weights")
    trials = _trials(xml).assign(runtime="openvino", **{"quant.engine": "nncf", "precision_hint": "bf16"})
    trials = trials.assign(runtime_hint="bf16", provider="CPU")
    sel = select_best(trials.drop(columns=["quant.calibration"]), [Budget.parse("size_mb<=4")])
    paths = export_selection(sel, tmp_path / "ship", meta=META)
    assert Path(paths["artifact"]).name == "model.xml" and Path(paths["weights"]).read_bytes() == b"weights"
    readme = Path(paths["readme"]).read_text()
    assert "256 px · OpenVINO bf16 · INT8 NNCF, 2 FP32 blocks" in readme
    assert "(Xeon, 2 threads, OpenVINO 1.32.0, on CPU, hint bf16)" in readme
    assert "import openvino as ov" in readme and 'compile_model("model.xml"' in readme
    assert "--set runtime=openvino --set precision_hint=bf16" in readme and "--set quant.engine=nncf" in readme


def test_an_exported_artifact_records_the_hint_its_trial_ran_with(tmp_path: Path) -> None:
    """The shipped copy gets a sidecar with the trial's precision hint (which `evaluate` and `compare` run it
    with again), built from the cached file's own sidecar."""
    from paretodet.runtimes import Artifact, artifact_from_file

    xml = tmp_path / "cache" / "convert" / "k" / "model.xml"
    xml.parent.mkdir(parents=True)
    xml.write_bytes(b"<net/>")
    xml.with_suffix(".bin").write_bytes(b"weights")
    cached = Artifact(
        path=xml, runtime="openvino", imgsz=256, precision="int8", names=("a",), params=10, gflops=0.1,
        precision_hint="f32", family="ultralytics",
    )  # fmt: skip
    cached.write_sidecar()  # the cache entry's sidecar: written when the IR was converted
    trials = _trials(xml).assign(runtime="openvino", precision_hint="bf16")
    sel = select_best(trials, [Budget.parse("size_mb<=4")])
    paths = export_selection(sel, tmp_path / "ship", meta=META)
    assert Path(paths["sidecar"]) == tmp_path / "ship" / "model.xml.json"
    shipped = artifact_from_file(tmp_path / "ship" / "model.xml")  # what `evaluate ship/model.xml` runs
    assert shipped.precision_hint == "bf16" and shipped.path == tmp_path / "ship" / "model.xml"
    assert shipped == dataclasses.replace(cached, path=shipped.path, precision_hint="bf16")
