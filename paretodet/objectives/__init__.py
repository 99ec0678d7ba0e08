"""Objectives measured on the artifact itself: accuracy (COCO mAP), speed (latency/FPS), size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

# the public names: the imports under TYPE_CHECKING below (type checkers read them; each is imported on first use)
__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
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
        ShapeFigures as ShapeFigures,
        evaluate as evaluate,
        measure_shape as measure_shape,
    )
    from paretodet.objectives._image_evals import (
        ImageEvals as ImageEvals,
        image_evals as image_evals,
    )
    from paretodet.objectives._in_training import (
        score_detector as score_detector,
    )
    from paretodet.objectives._intervals import (
        INTERVAL_METHODS as INTERVAL_METHODS,
        DeltaInterval as DeltaInterval,
        Interval as Interval,
        MapInterval as MapInterval,
        bootstrap_map as bootstrap_map,
        map_from_evals as map_from_evals,
        paired_delta as paired_delta,
        separable as separable,
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
    from paretodet.objectives._rounds import (
        InterleavedTiming as InterleavedTiming,
        RatioInterval as RatioInterval,
        RoundSettings as RoundSettings,
        median_interval as median_interval,
        time_interleaved as time_interleaved,
    )
    from paretodet.objectives._scored import (
        ScoredImages as ScoredImages,
        evals_path as evals_path,
        image_accuracy as image_accuracy,
        paired_change as paired_change,
        paired_change_files as paired_change_files,
        score_predictions as score_predictions,
    )
    from paretodet.objectives._truth import (
        VocResult as VocResult,
        coco_ground_truth as coco_ground_truth,
        score_coco as score_coco,
        voc_map as voc_map,
    )
