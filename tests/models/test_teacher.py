from __future__ import annotations

import csv

import pytest

from paretodet.data import SHAPE_CLASSES, load_data_yaml, synthesize
from paretodet.models import DEMO_DATA_SPEC, demo_teacher_path, load_detector, plateau_reached


def test_plateau_rule() -> None:
    rising = [i / 100 for i in range(30)]
    assert not plateau_reached(rising, window=10, min_gain=0.005)
    flat = rising + [0.29 + 0.0003 * i for i in range(11)]
    assert plateau_reached(flat, window=10, min_gain=0.005)
    assert not plateau_reached([0.1] * 5, window=10, min_gain=0.005)  # too short to judge
    noisy = [*rising, 0.2, 0.25, 0.28, 0.27, 0.26, 0.25, 0.24, 0.28, 0.27, 0.26, 0.25]  # best stays 0.29
    assert plateau_reached(noisy, window=10, min_gain=0.005)


def test_packaged_teacher_loads_with_curve() -> None:
    det = load_detector(demo_teacher_path())
    assert det.names == SHAPE_CLASSES
    rows = list(csv.DictReader((demo_teacher_path().parent / "demo_teacher_curve.csv").open()))
    curves = {
        phase: [float(r["val_map50_95"]) for r in rows if r["phase"] == phase]
        for phase in ("scratch", "polish", "polish_large")
    }
    assert len(curves["scratch"]) >= 30 and len(curves["polish"]) >= 10 and len(curves["polish_large"]) >= 10
    for curve in curves.values():
        assert plateau_reached(curve, window=10, min_gain=0.005)  # every phase trained to a plateau


@pytest.mark.slow
def test_packaged_teacher_reaches_its_recorded_map(tmp_path) -> None:
    import json

    from paretodet.compress import export_artifact
    from paretodet.objectives import EvalSettings, evaluate

    meta = json.loads((demo_teacher_path().parent / "demo_teacher.json").read_text())
    info = load_data_yaml(synthesize(tmp_path, DEMO_DATA_SPEC, splits=("val",)))
    art = export_artifact(
        load_detector(demo_teacher_path()),
        tmp_path / "t.onnx",
        runtime="onnxruntime",
        imgsz=meta["recipe"]["large_imgsz"],
        precision="fp32",
    )
    metrics = evaluate(art, info, settings=EvalSettings(threads=2))
    # our COCO evaluator vs the value Ultralytics' trainer logged for the best epoch of the last phase
    assert metrics.map50_95 == pytest.approx(meta["best_map50_95"]["polish_large"], abs=0.02)
