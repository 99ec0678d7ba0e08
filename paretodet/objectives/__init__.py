"""Objectives measured on the artifact itself: accuracy (COCO mAP), speed (latency/FPS), size."""

from __future__ import annotations

from paretodet.objectives._accuracy import (
    AccuracyResult,
    NmsSettings,
    Predictions,
    coco_ground_truth,
    coco_map,
    evaluate_map,
    postprocess,
    predict,
    ultralytics_map,
)
from paretodet.objectives._evaluate import EvalSettings, evaluate
from paretodet.objectives._latency import (
    LatencySettings,
    LatencyStats,
    measure_e2e_latency,
    measure_latency,
    summarize_times,
)
from paretodet.objectives._metrics import METRIC_DIRECTIONS, Metrics
from paretodet.objectives._runners import Runner, list_runtimes, open_runner, register_runtime

__all__ = [
    "METRIC_DIRECTIONS",
    "AccuracyResult",
    "EvalSettings",
    "LatencySettings",
    "LatencyStats",
    "Metrics",
    "NmsSettings",
    "Predictions",
    "Runner",
    "coco_ground_truth",
    "coco_map",
    "evaluate",
    "evaluate_map",
    "list_runtimes",
    "measure_e2e_latency",
    "predict",
    "ultralytics_map",
    "measure_latency",
    "open_runner",
    "postprocess",
    "register_runtime",
    "summarize_times",
]
