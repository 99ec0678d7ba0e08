"""Objectives measured on the artifact itself: accuracy (COCO mAP), speed (latency/FPS), size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "_accuracy": (
        "AccuracyResult",
        "NmsSettings",
        "Predictions",
        "coco_map",
        "evaluate_map",
        "postprocess",
        "predict",
        "ultralytics_map",
    ),
    "_evaluate": (
        "EvalSettings",
        "evaluate",
    ),
    "_latency": (
        "LatencySettings",
        "LatencyStats",
        "measure_e2e_latency",
        "measure_latency",
        "summarize_times",
    ),
    "_metrics": (
        "BUDGET_METRICS",
        "METRIC_DIRECTIONS",
        "METRICS",
        "OBJECTIVE_METRICS",
        "Metrics",
        "MetricSpec",
        "format_metric",
    ),
    "_truth": (
        "VocResult",
        "coco_ground_truth",
        "score_coco",
        "voc_map",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers
    from paretodet.objectives._accuracy import (
        AccuracyResult as AccuracyResult,
        NmsSettings as NmsSettings,
        Predictions as Predictions,
        coco_map as coco_map,
        evaluate_map as evaluate_map,
        postprocess as postprocess,
        predict as predict,
        ultralytics_map as ultralytics_map,
    )
    from paretodet.objectives._evaluate import (
        EvalSettings as EvalSettings,
        evaluate as evaluate,
    )
    from paretodet.objectives._latency import (
        LatencySettings as LatencySettings,
        LatencyStats as LatencyStats,
        measure_e2e_latency as measure_e2e_latency,
        measure_latency as measure_latency,
        summarize_times as summarize_times,
    )
    from paretodet.objectives._metrics import (
        BUDGET_METRICS as BUDGET_METRICS,
        METRIC_DIRECTIONS as METRIC_DIRECTIONS,
        METRICS as METRICS,
        OBJECTIVE_METRICS as OBJECTIVE_METRICS,
        Metrics as Metrics,
        MetricSpec as MetricSpec,
        format_metric as format_metric,
    )
    from paretodet.objectives._truth import (
        VocResult as VocResult,
        coco_ground_truth as coco_ground_truth,
        score_coco as score_coco,
        voc_map as voc_map,
    )
