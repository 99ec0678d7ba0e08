"""Shared fixtures: a tiny synthetic dataset and a tiny untrained YOLO checkpoint (session-scoped)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretodet.data import SHAPE_CLASSES, SynthSpec, synthesize
from paretodet.testing import tiny_checkpoint

# the keys `evaluate --json` and metrics.json must carry (issue 2)
REQUIRED_METRIC_KEYS = (
    "map50_95",
    "map50",
    "latency_ms",
    "latency_p90_ms",
    "latency_cv",
    "fps",
    "e2e_latency_ms",
    "size_bytes",
    "params",
    "gflops",
    "runtime",
    "imgsz",
    "threads",
)
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data YAML of 8 train + 8 val synthetic images."""
    return synthesize(tmp_path_factory.mktemp("tiny_data"), SynthSpec(images=8, seed=3))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny YOLOv8 checkpoint for the shapes classes."""
    return tiny_checkpoint(tmp_path_factory.mktemp("tiny_model") / "tiny.pt", names=SHAPE_CLASSES)
