"""OpenVINO artifacts built by the pipeline: IR files, INT8 by both engines, the hint recorded and timed."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretodet.data import load_data_yaml
from paretodet.models import load_detector
from paretodet.objectives import EvalSettings, LatencySettings, evaluate
from paretodet.search import build
from paretodet.spaces import Candidate

pytest.importorskip("openvino", reason="the [openvino] extra is not installed")
pytest.importorskip("nncf", reason="the [openvino] extra is not installed")

FAST = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))


def test_openvino_fp32_matches_onnxruntime_and_records_its_hint(
    tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    ort = build(Candidate.from_dict({"imgsz": 64}), det, data, workdir=tmp_path)
    ov = build(Candidate.from_dict({"imgsz": 64, "runtime": "openvino"}), det, data, workdir=tmp_path)
    assert ov.cache_hits == ("export",)  # the IR is converted from the same ONNX export
    art = ov.artifact
    assert art.runtime == "openvino" and art.path.suffix == ".xml" and art.path.with_suffix(".bin").is_file()
    assert art.precision_hint == "f32" and art.size_bytes() == sum(f.stat().st_size for f in art.files())
    m_ort, m_ov = evaluate(ort.artifact, data, settings=FAST), evaluate(art, data, settings=FAST)
    assert m_ov.runtime == "openvino" and m_ov.runtime_hint == "f32" and m_ov.provider == "CPU"
    assert m_ov.runtime_version and m_ort.provider == "CPUExecutionProvider" and m_ort.runtime_hint == ""
    assert abs(m_ov.map50_95 - m_ort.map50_95) < 0.01  # same network, same FP32 arithmetic up to kernels
    again = build(Candidate.from_dict({"imgsz": 64, "runtime": "openvino"}), det, data, workdir=tmp_path)
    assert again.cache_hits == ("export", "convert") and again.artifact == art


def test_openvino_int8_by_both_engines(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    fp32 = build(Candidate.from_dict({"imgsz": 64, "runtime": "openvino"}), det, data, workdir=tmp_path).artifact
    qdq = build(
        Candidate.from_dict({"imgsz": 64, "runtime": "openvino", "quant.precision": "int8"}),
        det,
        data,
        workdir=tmp_path,
    )
    assert qdq.cache_hits == ("export",) and qdq.artifact.precision == "int8" and qdq.artifact.path.suffix == ".xml"
    # the QDQ file itself is ONNX Runtime's INT8 artifact: the same int8 stage serves both runtimes
    ort = build(Candidate.from_dict({"imgsz": 64, "quant.precision": "int8"}), det, data, workdir=tmp_path)
    assert ort.cache_hits == ("export", "int8")
    nncf = build(
        Candidate.from_dict({"imgsz": 64, "runtime": "openvino", "quant.precision": "int8", "quant.engine": "nncf"}),
        det,
        data,
        workdir=tmp_path,
    ).artifact
    assert nncf.runtime == "openvino" and nncf.path.parent.parent.name == "int8"  # NNCF writes the IR itself
    for art in (qdq.artifact, nncf):
        weights = art.path.with_suffix(".bin").stat().st_size  # the .xml (graph text) is the same order for both
        assert weights < 0.35 * fp32.path.with_suffix(".bin").stat().st_size  # 8-bit weights
        metrics = evaluate(art, data, settings=FAST)
        assert metrics.latency_ms > 0 and metrics.map50_95 >= 0 and metrics.runtime_hint == "f32"


def test_unoffered_hint_is_one_line(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    from paretodet.errors import ConfigError
    from paretodet.runtimes import runtime_spec

    offered = runtime_spec("openvino").offered_hints()
    missing = [h for h in ("bf16", "f16") if h not in offered]
    if not missing:
        pytest.skip("this CPU offers every precision hint")
    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    cand = Candidate.from_dict({"imgsz": 64, "runtime": "openvino", "precision_hint": missing[0]})
    with pytest.raises(ConfigError, match=f"precision_hint={missing[0]} is not offered by runtime=openvino"):
        build(cand, det, data, workdir=tmp_path)


def test_an_offered_hint_is_what_the_runtime_runs(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    from paretodet.runtimes import runtime_spec

    if "bf16" not in runtime_spec("openvino").offered_hints():
        pytest.skip("this CPU has no bf16 units")
    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    for engine in ("qdq", "nncf"):  # converted from ONNX Runtime's file, or written by NNCF itself
        cand = Candidate.from_dict(
            {
                "imgsz": 64,
                "runtime": "openvino",
                "precision_hint": "bf16",
                "quant.precision": "int8",
                "quant.engine": engine,
            }
        )
        art = build(cand, det, data, workdir=tmp_path).artifact
        assert art.precision_hint == "bf16" and evaluate(art, data, settings=FAST).runtime_hint == "bf16"
