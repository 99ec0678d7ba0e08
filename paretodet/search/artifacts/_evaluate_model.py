"""Measure what a user names: a checkpoint (built as an FP32 artifact first) or an artifact file they already
have (an ONNX file, an OpenVINO IR or Ultralytics' ``*_openvino_model/`` folder), measured as it is."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paretodet.data import load_dataset
from paretodet.errors import ConfigError, ModelError
from paretodet.objectives import EvalSettings, Metrics, evaluate
from paretodet.runtimes import ARTIFACT_SUFFIXES, Artifact, artifact_from_file, runtime_spec
from paretodet.search.artifacts._apply import apply_candidate
from paretodet.search.artifacts._hints import build_hint_source, with_hint
from paretodet.spaces import Candidate

__all__ = ["evaluate_artifact_file", "evaluate_model", "is_artifact_file"]


def is_artifact_file(model: str | Path) -> bool:
    """Whether ``model`` names an artifact file (``.onnx``, ``.xml``) or a folder (an exported IR), not a
    checkpoint, model YAML or builder name.

    Example:
        >>> is_artifact_file("best.onnx"), is_artifact_file("best.pt")
        (True, False)
    """
    path = Path(model).expanduser()
    return path.suffix.lower() in ARTIFACT_SUFFIXES or path.is_dir()


def evaluate_model(
    model: str,
    data: Path,
    *,
    imgsz: int | None = None,
    runtime: str | None = None,
    precision_hint: str | None = None,
    settings: EvalSettings | None = None,
    on_image: Callable[[int, int], None] | None = None,
    trust_model: bool = False,
    weights: Path | None = None,
) -> Metrics:
    """Measure ``model`` on ``data``'s val split: an artifact file as it is (see :func:`evaluate_artifact_file`),
    anything else as an FP32 artifact built at ``imgsz`` (default 320) for ``runtime`` (default onnxruntime),
    run with ``precision_hint`` where that runtime takes one (default: the ``precision_hint`` knob's).

    Example:
        >>> metrics = evaluate_model("yolov8n_openvino_model", Path("data.yaml"))  # doctest: +SKIP
    """
    if is_artifact_file(model):
        if weights is not None:
            raise ModelError(f"--weights is for builder names (torchvision:...); {model} holds its own weights")
        return evaluate_artifact_file(
            Path(model),
            data,
            imgsz=imgsz,
            runtime=runtime,
            precision_hint=precision_hint,
            settings=settings,
            on_image=on_image,
        )
    knobs: dict[str, Any] = {"imgsz": imgsz or 320, "runtime": runtime or "onnxruntime"}
    source = build_hint_source(knobs["runtime"], precision_hint)  # refuses a hint the runtime takes none of
    candidate = Candidate.from_dict(knobs if precision_hint is None else {**knobs, "precision_hint": precision_hint})
    with tempfile.TemporaryDirectory(prefix="paretodet-eval-") as tmp:
        _, metrics = apply_candidate(
            model,
            data,
            candidate,
            Path(tmp),
            settings=settings,
            on_image=on_image,
            trust_model=trust_model,
            weights=weights,
        )
    return dataclasses.replace(metrics, hint_source=source)


def evaluate_artifact_file(
    path: Path,
    data: Path,
    *,
    imgsz: int | None = None,
    runtime: str | None = None,
    precision_hint: str | None = None,
    settings: EvalSettings | None = None,
    on_image: Callable[[int, int], None] | None = None,
) -> Metrics:
    """Measure the artifact file ``path`` (read by :func:`~paretodet.runtimes.artifact_from_file`) on its own
    runtime, at its own input size; nothing is written beside it. ``imgsz`` may only restate that size;
    ``runtime`` may name the artifact's runtime or one that runs its file as it is (``onnxruntime-cuda`` for an
    ONNX file). Where the runtime takes a precision hint (OpenVINO), the file runs with the one it was built with
    (recorded beside it), else ``precision_hint`` (which also overrides it), else the runtime's default; the
    metrics say which ran (``runtime_hint``) and where it came from (``hint_source``, see ``search.artifacts._hints``).

    Example:
        >>> metrics = evaluate_artifact_file(Path("best.onnx"), Path("data.yaml"))  # doctest: +SKIP
    """
    artifact = artifact_from_file(path)
    if imgsz is not None and imgsz != artifact.imgsz:
        raise ConfigError(
            f"{path} takes {artifact.imgsz} px inputs, not --imgsz {imgsz}: drop --imgsz or pass {artifact.imgsz}"
        )
    artifact, source = with_hint(_on_runtime(artifact, runtime or artifact.runtime), precision_hint)
    metrics = evaluate(artifact, load_dataset(data), settings=settings, on_image=on_image, keep_evals=False)
    return dataclasses.replace(metrics, hint_source=source)


def _on_runtime(artifact: Artifact, runtime: str) -> Artifact:
    """``artifact`` run on ``runtime``: its own, or one that runs the same file unconverted (``onnxruntime-cuda``
    for an ONNX file, ``onnxruntime`` for the ONNX file of a ``tensorrt`` build); the hint it records holds on
    its own runtime only."""
    spec = runtime_spec(runtime)
    if _file_runtime(runtime) != _file_runtime(artifact.runtime):
        raise ConfigError(
            f"{artifact.path.name} is a {artifact.runtime} artifact, which runtime={runtime} does not run: "
            f"drop --runtime (it runs on {artifact.runtime})"
        )
    if artifact.precision not in spec.precisions:
        raise ConfigError(f"runtime={runtime} does not run {artifact.precision} files: drop --runtime")
    spec.require()  # the runtime's package (and GPU) here
    if runtime == artifact.runtime:
        return artifact
    return dataclasses.replace(artifact, runtime=runtime, precision_hint="")


def _file_runtime(runtime: str) -> str:
    """The runtime whose file ``runtime`` runs as it is (itself, unless it derives from one unconverted)."""
    spec = runtime_spec(runtime)
    while spec.derives_from is not None and spec.convert is None:
        spec = runtime_spec(spec.derives_from)
    return spec.name
