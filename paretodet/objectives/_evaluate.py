"""Measure an artifact: accuracy, speed and size in one call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from paretodet.base import heavy_work, timed_quietly, timing_host
from paretodet.data import DatasetInfo, ImageTruth, check_class_names, read_truth, split_images, val_subset
from paretodet.errors import ConfigError
from paretodet.objectives._accuracy import NmsSettings, predict
from paretodet.objectives._latency import LatencySettings, LatencyStats, measure_e2e_latency, measure_latency
from paretodet.objectives._metrics import Metrics
from paretodet.objectives._scored import ScoredImages, evals_path, score_predictions
from paretodet.objectives._truth import voc_map
from paretodet.runtimes import Artifact, open_runner, runtime_entry

__all__ = ["EvalSettings", "ShapeFigures", "evaluate", "measure_shape"]


@dataclass(frozen=True)
class EvalSettings:
    """How artifacts are measured.

    Attributes:
        threads: intra-op threads of the runtime (fixed and recorded).
        max_images: score only the first N val images (None = all).
        val_images: score a fixed seeded subset of N val images holding every class where it can (None = all;
            ``search --val-images``: the verified front is scored on the whole split).
        subset_seed: the seed of that subset.
        bootstrap_reps: resamples of the val images behind each mAP's 95% interval.
        nms: post-processing (conf 0.001, IoU 0.7, 300 detections).
        latency: warm-up and timed runs.
        ignore_class_names: score by class id a model whose class names differ from the data's
            (``--ignore-class-names``; recorded as ``Metrics.class_names_check``); else that is refused.
    """

    threads: int = 2
    max_images: int | None = None
    val_images: int | None = None
    subset_seed: int = 0
    bootstrap_reps: int = 1000
    nms: NmsSettings = field(default_factory=NmsSettings)
    latency: LatencySettings = field(default_factory=LatencySettings)
    ignore_class_names: bool = False

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {self.threads}")
        if self.max_images is not None and self.max_images < 1:
            raise ConfigError(f"max_images must be >= 1, got {self.max_images}")
        if self.val_images is not None and self.val_images < 1:
            raise ConfigError(f"--val-images must be >= 1, got {self.val_images}")
        if self.bootstrap_reps < 100:
            raise ConfigError(f"bootstrap resamples must be >= 100, got {self.bootstrap_reps}")

    def truths(self, data: DatasetInfo, *, whole_split: bool = False) -> list[ImageTruth]:
        """The ground truth of the val images these settings score (``whole_split``: every image)."""
        images = split_images(data)
        if self.max_images is not None:
            images = images[: self.max_images]
        truths = [read_truth(data, path) for path in images]  # a bad annotation fails before inference
        if self.val_images is None or whole_split:
            return truths
        return [truths[i] for i in val_subset(truths, self.val_images, seed=self.subset_seed)]


@dataclass(frozen=True)
class ShapeFigures:
    """What an artifact's shape alone decides, measured: its model latency (median of the timed runs, with
    the same settings and timing lock as :func:`evaluate`) and its size on disk; no mAP."""

    latency_ms: float
    fps: float
    size_bytes: int


def measure_shape(artifact: Artifact, *, settings: EvalSettings | None = None) -> ShapeFigures:
    """Time ``artifact`` and weigh its file, without scoring it (an untrained twin's figures: see
    ``paretodet.search``'s early stopping).

    Example:
        >>> measure_shape(artifact).latency_ms  # doctest: +SKIP
        4.2
    """
    settings = settings or EvalSettings()
    with heavy_work():
        runner = open_runner(artifact, threads=settings.threads)
    lat, _ = timed_quietly(lambda: measure_latency(runner, imgsz=artifact.imgsz, settings=settings.latency))
    return ShapeFigures(latency_ms=lat.median_ms, fps=1000.0 / lat.median_ms, size_bytes=artifact.size_bytes())


def evaluate(
    artifact: Artifact,
    data: DatasetInfo,
    *,
    settings: EvalSettings | None = None,
    on_image: Callable[[int, int], None] | None = None,
    keep_evals: bool = True,
) -> Metrics:
    """Measure ``artifact`` on the val split of ``data`` (or the subset ``settings`` name) with its own runtime.
    mAP carries its 95% bootstrap interval over the images; ``keep_evals`` writes the per-image matches beside
    the artifact (``Metrics.evals_file``) for paired intervals later.

    Example:
        >>> metrics = evaluate(artifact, load_data_yaml("data.yaml"))  # doctest: +SKIP
    """
    settings = settings or EvalSettings()
    classes = check_class_names(
        artifact.names,
        data.names,
        model=artifact.path.name,
        data=str(data.yaml_path),
        ignore=settings.ignore_class_names,
    )
    truths = settings.truths(data)
    images = [t.path for t in truths]
    with heavy_work():  # building a session is heavy too
        runner = open_runner(artifact, threads=settings.threads)
    predictions = predict(runner, truths, imgsz=artifact.imgsz, nms=settings.nms, on_image=on_image)
    acc = score_predictions(predictions, data.names, reps=settings.bootstrap_reps)
    evals_file = _keep_evals(acc, artifact, truths, settings) if keep_evals else ""
    voc = voc_map(predictions.truths, predictions.results, nc=data.nc) if data.format == "voc" else None

    def timing() -> tuple[LatencyStats, LatencyStats]:
        model_only = measure_latency(runner, imgsz=artifact.imgsz, settings=settings.latency)
        e2e = measure_e2e_latency(runner, images, imgsz=artifact.imgsz, settings=settings.latency, nms=settings.nms)
        return model_only, e2e

    (lat, e2e), others = timed_quietly(timing)  # one process times at once on this host, on a quiet CPU
    host = timing_host(
        runtime=artifact.runtime,
        package=runtime_entry(artifact.runtime).package,
        threads=settings.threads,
        precision_hint=getattr(runner, "precision_hint", ""),
        provider=getattr(runner, "provider", ""),
    )
    return Metrics(
        map50_95=acc.map50_95,
        map50=acc.map50,
        latency_ms=lat.median_ms,
        latency_p90_ms=lat.p90_ms,
        latency_cv=lat.cv,
        fps=1000.0 / lat.median_ms,
        e2e_latency_ms=e2e.median_ms,
        size_bytes=artifact.size_bytes(),
        compressed_bytes=_compressed_bytes(artifact),
        params=artifact.params,
        gflops=artifact.gflops,
        runtime=artifact.runtime,
        imgsz=artifact.imgsz,
        threads=settings.threads,
        eval_images=acc.images,
        host=host.host,
        cpu=host.cpu,
        cores=host.cores,
        runtime_version=host.runtime_version,
        runtime_hint=host.precision_hint,
        provider=host.provider,
        timing_others_cpu=round(others, 4),
        voc_map50_07=voc.map50_07_11pt if voc is not None else None,
        voc_map50=voc.map50_area if voc is not None else None,
        map50_95_low=acc.interval[0],
        map50_95_high=acc.interval[1],
        map50_low=acc.interval50[0],
        map50_high=acc.interval50[1],
        evals_file=evals_file,
        class_names_check=classes.status,
    )


def _keep_evals(acc: ScoredImages, artifact: Artifact, truths: list[ImageTruth], settings: EvalSettings) -> str:
    """Write the per-image matches beside the artifact (keyed by the images and NMS scored); return the path."""
    if acc.evals is None:
        return ""
    path = evals_path(artifact.path, [t.path for t in truths], settings.nms)
    acc.evals.save(path)
    return str(path)


def _compressed_bytes(artifact: Artifact) -> int:
    with heavy_work():  # compressing a file is heavy too
        return artifact.compressed_bytes()
