"""The trial pipeline: Candidate -> Artifact (cached per stage) -> Metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from paretodet.compress import Artifact, export_artifact
from paretodet.data import DatasetInfo, load_data_yaml
from paretodet.errors import ConfigError
from paretodet.models import Detector, load_detector
from paretodet.objectives import EvalSettings, Metrics, evaluate
from paretodet.spaces import Candidate

__all__ = ["EXPORT_KNOBS", "BuildResult", "build", "build_and_measure", "load_model_and_data", "write_outputs"]

EXPORT_KNOBS: tuple[str, ...] = ("imgsz", "runtime", "quant.precision")


@dataclass(frozen=True)
class BuildResult:
    """An artifact and which stages came from the cache."""

    artifact: Artifact
    cache_hits: tuple[str, ...]


def build(candidate: Candidate, detector: Detector, *, workdir: Path) -> BuildResult:
    """Build ``candidate``'s artifact under ``workdir/cache``, reusing a stage whose inputs are unchanged.

    Example:
        >>> result = build(Candidate(imgsz=256), load_detector("best.pt"), workdir=Path("work"))  # doctest: +SKIP
    """
    key = candidate.stage_hash(EXPORT_KNOBS, salt=detector.digest)
    suffix = ".onnx" if candidate.runtime == "onnxruntime" else ".pt"
    dest = workdir / "cache" / "export" / key / f"model{suffix}"
    sidecar = dest.with_name(dest.name + ".json")
    if dest.is_file() and sidecar.is_file():
        return BuildResult(artifact=Artifact.read_sidecar(dest), cache_hits=("export",))
    artifact = export_artifact(
        detector, dest, runtime=candidate.runtime, imgsz=candidate.imgsz, precision=candidate.quant.precision
    )
    return BuildResult(artifact=artifact, cache_hits=())


def build_and_measure(
    candidate: Candidate,
    detector: Detector,
    data: DatasetInfo,
    *,
    workdir: Path,
    settings: EvalSettings,
    on_image: Callable[[int, int], None] | None = None,
) -> tuple[BuildResult, Metrics]:
    """Build a candidate and measure its artifact: the code path of both ``apply`` and search trials."""
    result = build(candidate, detector, workdir=workdir)
    metrics = evaluate(result.artifact, data, settings=settings, on_image=on_image)
    return result, metrics


def load_model_and_data(model: str | Path, data: Path) -> tuple[Detector, DatasetInfo]:
    """Load the detector and data YAML, failing early when their classes do not match."""
    info = load_data_yaml(data)
    detector = load_detector(model)
    if detector.nc != info.nc:
        raise ConfigError(f"model has {detector.nc} classes but {data} has {info.nc}: use data for this model")
    return detector, info


def write_outputs(out: Path, candidate: Candidate, artifact_path: Path, metrics: Metrics) -> dict[str, Path]:
    """Write ``config.yaml`` and ``metrics.json`` into ``out`` and return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    config = out / "config.yaml"
    config.write_text(yaml.safe_dump(candidate.to_dict(), sort_keys=False))
    metrics_path = out / "metrics.json"
    metrics_path.write_text(json.dumps({**metrics.to_dict(), "artifact": str(artifact_path)}, indent=2))
    return {"config": config, "metrics": metrics_path}
