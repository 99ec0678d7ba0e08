"""The same model measured on the same images in the YOLO, VOC and COCO layouts; training reads any layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretodet.data import SynthSpec, synthesize
from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.search import apply_candidate
from paretodet.spaces import Candidate

SETTINGS = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("layouts")
    spec = SynthSpec(images=8, seed=3)
    return {fmt: synthesize(root / fmt, spec, format=fmt) for fmt in ("yolo", "voc", "coco")}


def test_map_is_the_same_in_every_layout(tiny_model: Path, layouts: dict[str, Path], tmp_path: Path) -> None:
    candidate = Candidate.from_dict({"imgsz": 64})
    metrics = {
        fmt: apply_candidate(str(tiny_model), yaml, candidate, tmp_path / fmt, settings=SETTINGS)[1]
        for fmt, yaml in layouts.items()
    }
    assert metrics["voc"].map50_95 == pytest.approx(metrics["yolo"].map50_95, abs=0.02)  # VOC's 1-based pixels
    assert metrics["coco"].map50_95 == pytest.approx(metrics["yolo"].map50_95, abs=1e-6)
    assert metrics["voc"].voc_map50 is not None and metrics["voc"].voc_map50_07 is not None
    assert metrics["yolo"].voc_map50 is None  # VOC's protocol only for VOC datasets


def test_recovery_fine_tunes_on_a_voc_dataset(tiny_model: Path, layouts: dict[str, Path], tmp_path: Path) -> None:
    candidate = Candidate.from_dict({"imgsz": 64, "prune.method": "l1", "prune.ratio": 0.3, "prune.finetune_epochs": 1})
    artifact, metrics = apply_candidate(str(tiny_model), layouts["voc"], candidate, tmp_path, settings=SETTINGS)
    assert artifact.is_file() and metrics.eval_images == SynthSpec(images=8).val_images
    views = list((tmp_path / "cache" / "recover").glob("*/data-view/*"))
    assert views, "the trainer read a YOLO-layout mirror of the VOC data"
