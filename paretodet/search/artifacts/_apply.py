"""Apply one candidate: build its artifact, measure it, and write artifact + config.yaml + metrics.json."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paretodet.base import read_yaml_file
from paretodet.errors import ConfigError
from paretodet.models import check_device
from paretodet.objectives import EvalSettings, Metrics
from paretodet.search.pipeline import build_and_measure, load_model_and_data, write_outputs
from paretodet.spaces import Candidate

__all__ = ["apply_candidate", "load_candidate_file"]


def load_candidate_file(path: Path) -> dict[str, Any]:
    """Read a candidate YAML (dotted keys, or nested sections such as ``quant: {precision: fp16}``)."""
    if not path.is_file():
        raise ConfigError(f"candidate config not found: {path} (pass an existing YAML with --config)")
    raw = read_yaml_file(path, what="candidate config", error=ConfigError) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"candidate config {path} must be a mapping of knob: value")
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[str(key)] = value
    return flat


def apply_candidate(
    model: str,
    data: Path,
    candidate: Candidate,
    out: Path,
    *,
    settings: EvalSettings | None = None,
    on_image: Callable[[int, int], None] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
    trust_model: bool = False,
    weights: Path | None = None,
    device: str = "cpu",
    on_cache_repair: Callable[[str], None] | None = None,
) -> tuple[Path, Metrics]:
    """Build and measure one candidate; the artifact is copied to ``out/model.<ext>``, with its sidecar
    ``model.<ext>.json`` (what it is and the precision hint it runs with, see ``search.artifacts._hints``).
    ``trust_model`` loads a checkpoint with full unpickling (it may run code); ``weights`` is a builder name's
    state dict; training runs on ``device``; ``on_cache_repair`` hears of each damaged cache entry found and
    rebuilt (one line). A model whose class names are not the data's is refused in one line, unless
    ``settings.ignore_class_names`` (see ``load_model_and_data``).

    Example:
        >>> path, metrics = apply_candidate("best.pt", Path("d.yaml"), Candidate(imgsz=256), Path("o"))
    """
    out = out.resolve()
    check_device(device)
    settings = settings or EvalSettings()
    detector, info = load_model_and_data(
        model, data, trust_model=trust_model, weights=weights, ignore_class_names=settings.ignore_class_names
    )
    result, metrics = build_and_measure(
        candidate,
        detector,
        info,
        workdir=out,
        settings=settings,
        on_image=on_image,
        on_epoch=on_epoch,
        device=device,
    )
    if on_cache_repair is not None:
        for repair in result.cache_repairs:
            on_cache_repair(repair)
    final = out / f"model{result.artifact.path.suffix}"
    for file in result.artifact.files():  # an OpenVINO IR is two files: model.xml + model.bin
        shutil.copy2(file, final.with_suffix(file.suffix))
    # its sidecar beside it (model.xml.json): family, runtime and the precision hint it was built and measured
    # with, which `evaluate` and `compare` run it with again
    dataclasses.replace(result.artifact, path=final).write_sidecar()
    write_outputs(out, candidate, final, metrics)
    return final, metrics
