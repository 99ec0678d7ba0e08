from __future__ import annotations

import math
from pathlib import Path

import pytest

from paretodet.compress import export_artifact
from paretodet.data import load_data_yaml
from paretodet.errors import ConfigError
from paretodet.models import load_detector
from paretodet.objectives import EvalSettings, LatencySettings, Metrics, evaluate
from tests.conftest import REQUIRED_METRIC_KEYS

FAST = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))


@pytest.mark.parametrize(
    ("runtime", "precision", "suffix"),
    [("onnxruntime", "fp32", ".onnx"), ("onnxruntime", "fp16", ".onnx"), ("torch", "fp32", ".pt")],
)
def test_evaluate_measures_the_artifact(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, runtime: str, precision: str, suffix: str
) -> None:
    art = export_artifact(
        load_detector(tiny_model), tmp_path / f"m{suffix}", runtime=runtime, imgsz=64, precision=precision
    )
    m = evaluate(art, load_data_yaml(tiny_data), settings=FAST)
    assert m.size_bytes == art.path.stat().st_size
    assert m.runtime == runtime and m.imgsz == 64 and m.threads == 1 and m.eval_images == 8
    assert 0.0 <= m.map50_95 <= m.map50 <= 1.0
    assert m.latency_ms > 0 and m.fps == pytest.approx(1000 / m.latency_ms)
    assert m.latency_p90_ms >= m.latency_ms and m.e2e_latency_ms > 0 and math.isfinite(m.latency_cv)
    data = m.to_dict()
    assert set(REQUIRED_METRIC_KEYS) <= set(data)
    assert Metrics.from_dict(data) == m


def test_class_mismatch_is_clear(tiny_model: Path, tmp_path: Path) -> None:
    from paretodet.data import write_data_yaml

    (tmp_path / "images" / "val").mkdir(parents=True)
    other = write_data_yaml(tmp_path, names=["a", "b"], train=False)
    art = export_artifact(
        load_detector(tiny_model), tmp_path / "m.onnx", runtime="onnxruntime", imgsz=64, precision="fp32"
    )
    with pytest.raises(ConfigError, match="6 classes"):
        evaluate(art, load_data_yaml(other), settings=FAST)
