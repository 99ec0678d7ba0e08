"""INT8 engines: what turns an FP32 ONNX file into an INT8 artifact, one registry entry each.

``qdq`` is ONNX Runtime's static QDQ quantizer (its ONNX file runs on ONNX Runtime and converts to an OpenVINO
IR); ``nncf`` is NNCF's post-training quantization of an OpenVINO model (optionally with accuracy control).
A runtime's entry (:mod:`paretodet.runtimes._registry`) names the engines it takes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paretodet.compress._export import atomic_path
from paretodet.compress._quantize import Int8Settings, quantize_int8
from paretodet.compress._typical import typical_images
from paretodet.errors import ConfigError

__all__ = ["Int8Engine", "Int8Request", "int8_engine", "int8_engine_names"]


@dataclass(frozen=True)
class Int8Request:
    """One INT8 build.

    Attributes:
        calibration_images: training images that calibrate activation ranges.
        imgsz: the square input size.
        settings: the INT8 knobs (calibration, per-channel, blocks kept FP32).
        family: the detector family whose blocks and FP32 nodes the file has.
        calibration_cache: a ranges file that later builds with the same calibration reuse (engines that
            keep one).
        max_drop: accuracy control's largest score drop (engines that offer it; 0 = off).
        validation: ``validation(run) -> score`` for accuracy control (``run``: batch -> raw outputs).
        validation_items: what accuracy control iterates (one item per validation image).
    """

    calibration_images: Sequence[Path]
    imgsz: int
    settings: Int8Settings
    family: str
    calibration_cache: Path | None = None
    max_drop: float = 0.0
    validation: Callable[[Callable[[Any], list[Any]]], float] | None = None
    validation_items: Sequence[Any] = field(default_factory=tuple)


@dataclass(frozen=True)
class Int8Engine:
    """An INT8 engine: ``quantize(source, dest, request)`` writes ``dest`` (suffix ``suffix``), a file of runtime
    ``writes``, from ``source``, the FP32 file of runtime ``reads``; ``keeps_ranges``: it reads and writes
    ``request.calibration_cache``."""

    name: str
    label: str
    writes: str
    suffix: str
    quantize: Callable[[Path, Path, Int8Request], None]
    reads: str = "onnxruntime"
    keeps_ranges: bool = False


def _qdq(source: Path, dest: Path, request: Int8Request) -> None:
    with atomic_path(dest) as tmp:
        quantize_int8(
            source,
            tmp,
            calibration_images=request.calibration_images,
            imgsz=request.imgsz,
            settings=request.settings,
            calibration_cache=request.calibration_cache,
            family=request.family,
        )


def _nncf(source: Path, dest: Path, request: Int8Request) -> None:
    import onnx

    from paretodet.compress._openvino import nncf_quantize
    from paretodet.models import get_family

    family = get_family(request.family)
    model = onnx.load(str(source), load_external_data=False)
    blocks = family.quantizable_blocks(model)
    unknown = [b for b in request.settings.fp32_blocks if b not in blocks]
    if unknown:
        raise ConfigError(f"unknown block(s) {unknown}: the model's blocks are {', '.join(blocks)}")
    keep = [*family.fp32_nodes(model), *(n for b in request.settings.fp32_blocks for n in blocks[b])]
    nncf_quantize(
        source,
        dest,
        calibration_images=typical_images(source, request.calibration_images, imgsz=request.imgsz, family=family),
        imgsz=request.imgsz,
        fp32_nodes=keep,
        max_drop=request.max_drop,
        validation=request.validation,
        validation_items=request.validation_items,
    )


_ENGINES: dict[str, Int8Engine] = {
    "qdq": Int8Engine(
        "qdq", "ONNX Runtime QDQ", writes="onnxruntime", suffix=".onnx", quantize=_qdq, keeps_ranges=True
    ),
    "nncf": Int8Engine("nncf", "NNCF", writes="openvino", suffix=".xml", quantize=_nncf),
}


@functools.cache
def int8_engine_names() -> tuple[str, ...]:
    """The ``quant.engine`` knob's choices."""
    return tuple(_ENGINES)


def int8_engine(name: str) -> Int8Engine:
    """The engine ``name``; ConfigError naming the known ones when it is unknown."""
    if name not in _ENGINES:
        raise ConfigError(f"unknown INT8 engine '{name}': use one of {' | '.join(_ENGINES)}")
    return _ENGINES[name]
