"""Speed: batch-1 latency of an artifact on its runtime, model-only and end-to-end."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paretodet.data import letterbox, read_image
from paretodet.errors import ConfigError
from paretodet.objectives._accuracy import NmsSettings, postprocess
from paretodet.runtimes import Runner

__all__ = [
    "LatencySettings",
    "LatencyStats",
    "measure_e2e_latency",
    "measure_latency",
    "summarize_times",
    "timed_calls",
]


@dataclass(frozen=True)
class LatencySettings:
    """How latency is measured: ``warmup`` untimed calls, then ``runs`` timed calls (median reported)."""

    warmup: int = 25
    runs: int = 50

    def __post_init__(self) -> None:
        if self.runs < 30:
            raise ConfigError(f"latency runs must be >= 30 for a stable median, got {self.runs}")
        if self.warmup < 1:
            raise ConfigError(f"latency warmup must be >= 1, got {self.warmup}")


@dataclass(frozen=True)
class LatencyStats:
    """Summary of timed runs (milliseconds)."""

    median_ms: float
    p90_ms: float
    mean_ms: float
    cv: float
    runs: int


def summarize_times(times_ms: Sequence[float]) -> LatencyStats:
    """Median, p90, mean and coefficient of variation (std / mean) of timings.

    Example:
        >>> summarize_times([10.0, 10.0, 12.0, 8.0]).median_ms
        10.0
    """
    arr = np.asarray(times_ms, dtype=np.float64)
    mean = float(arr.mean())
    return LatencyStats(
        median_ms=float(np.median(arr)),
        p90_ms=float(np.percentile(arr, 90)),
        mean_ms=mean,
        cv=float(arr.std() / mean) if mean > 0 else float("nan"),
        runs=len(arr),
    )


def measure_latency(
    runner: Runner, *, imgsz: int, settings: LatencySettings, sample: np.ndarray | None = None
) -> LatencyStats:
    """Model-only latency: the runner called on one fixed letterboxed input."""
    batch = sample if sample is not None else np.full((1, 3, imgsz, imgsz), 114 / 255, dtype=np.float32)
    for _ in range(settings.warmup):
        runner(batch)
    return summarize_times(timed_calls(runner, batch, settings.runs))


def timed_calls(runner: Runner, batch: np.ndarray, count: int) -> list[float]:
    """Milliseconds of each of ``count`` calls of ``runner`` on ``batch``."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        runner(batch)
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure_e2e_latency(
    runner: Runner, images: Sequence[Path], *, imgsz: int, settings: LatencySettings, nms: NmsSettings
) -> LatencyStats:
    """End-to-end latency: letterbox a decoded image + inference + NMS, cycling through ``images``.

    Images are decoded before timing (decoding depends on the file format, not on the model).
    """
    decoded = [read_image(p) for p in images[: min(len(images), 16)]]
    for i in range(settings.warmup):
        postprocess(runner(letterbox(decoded[i % len(decoded)], imgsz)[0]), nms, family=runner.family)
    times = []
    for i in range(settings.runs):
        start = time.perf_counter()
        postprocess(runner(letterbox(decoded[i % len(decoded)], imgsz)[0]), nms, family=runner.family)
        times.append((time.perf_counter() - start) * 1000)
    return summarize_times(times)
