"""INT8 post-training quantization of an exported ONNX detector with ONNX Runtime (static, QDQ).

Design: the detection head's decode (DFL softmax, anchor arithmetic, stride scaling, sigmoid, concat) always
stays FP32: its output tensor mixes box coordinates in pixels with class scores in [0, 1], and one shared
8-bit scale destroys one or the other. Only the convolutional blocks are quantized, and ``fp_layers`` keeps
the most sensitive of those blocks in FP32 as well. A family's ``calibration_trim`` leaves the calibration
images with the most extreme activations out of calibration (see :mod:`paretodet.compress._typical`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paretodet.base import heavy_work
from paretodet.compress._metadata import read_onnx_metadata, restated_for, set_onnx_metadata
from paretodet.compress._typical import typical_images
from paretodet.data import letterbox, read_image
from paretodet.errors import ConfigError, DataError, ExportError

__all__ = [
    "CALIBRATION_METHODS",
    "Int8Settings",
    "LetterboxCalibrationReader",
    "pick_calibration_images",
    "quantize_int8",
    "uses_reduced_range",
]

CALIBRATION_METHODS: tuple[str, ...] = ("minmax", "entropy", "percentile")


@dataclass(frozen=True)
class Int8Settings:
    """INT8 knobs.

    Attributes:
        calibration: minmax, entropy or percentile (activation range estimation).
        calib_images: number of training images used to calibrate.
        per_channel: per-output-channel weight scales (else one scale per tensor).
        fp32_blocks: blocks (see :func:`quantizable_blocks`) kept in FP32 on top of the head's decode.
    """

    calibration: str = "minmax"
    calib_images: int = 64
    per_channel: bool = False
    fp32_blocks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.calibration not in CALIBRATION_METHODS:
            raise ConfigError(f"unknown calibration '{self.calibration}': use one of {', '.join(CALIBRATION_METHODS)}")
        if self.calib_images < 1:
            raise ConfigError(f"quant.calib_images must be >= 1, got {self.calib_images}")


def _calibration_chunking(imgsz: int, images: int, *, method: str = "minmax") -> dict[str, int]:
    """ORT options that bound calibration memory by feeding the calibrator a few images at a time.

    ORT's histogram calibrators (entropy, percentile) keep every tensor of every image they are fed until
    they reduce them to histograms: at 640 px, 128 images of YOLOv5n took a 24 GB machine out of memory
    (measured). ``CalibMaxIntermediateOutputs`` does not help: the histogram calibrators ignore it and
    ORT 1.32's MinMax drops the images it flushes. ``CalibStridedMinMax`` (despite its name, for every
    method) calls the calibrator once per chunk, which merges ranges and histograms across chunks; the
    chunk size must divide the image count.

    The histogram calibrators get one image per chunk: they stack a chunk's values of a tensor into one
    array (``np.asarray``), which fails when the tensor's shape differs between images (a Faster R-CNN box
    head's Gemm runs on as many proposals as the image has: "inhomogeneous shape"). Merging histograms across
    chunks keeps their bin width, so a histogram built image by image is the same one.
    """
    if method != "minmax":
        return {"CalibStridedMinMax": 1}
    chunk = max(1, min(32, (320 * 320 * 8) // (imgsz * imgsz)))
    return {"CalibStridedMinMax": max(d for d in range(1, chunk + 1) if images % d == 0)}


def _quantized_op_types(onnx_model: Any, *, fp32_nodes: Collection[str]) -> list[str]:
    """The op types, among those ONNX Runtime's static quantizer knows, of the nodes outside the family's
    ``fp32_nodes`` (the nodes of the quantizable blocks).

    ORT calibrates the tensors of every node whose op type it quantizes, excluded or not. Naming only these
    types keeps calibration to the tensors that can get scales: a torchvision detector quantizes convolutions
    only, while by default its NMS outputs (a different number of boxes per image) were calibrated too, which
    the histogram methods cannot stack ("inhomogeneous shape"). Blocks kept FP32 (``fp32_blocks``) and
    ``only_blocks`` do not narrow it, so one ranges file serves every such variant of a model.
    """
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    known = set(QDQRegistry) | set(QLinearOpsRegistry)
    return sorted({n.op_type for n in onnx_model.graph.node if n.op_type in known and n.name not in fp32_nodes})


class LetterboxCalibrationReader:
    """Feeds calibration images through the evaluation letterbox (ORT ``CalibrationDataReader`` protocol)."""

    def __init__(self, images: Sequence[Path], *, imgsz: int, input_name: str = "images") -> None:
        self.images = list(images)
        self.imgsz = imgsz
        self.input_name = input_name
        self._iter: Iterator[Path] = iter(self.images)

    def get_next(self) -> dict[str, np.ndarray] | None:
        """The next calibration input, or None when done."""
        path = next(self._iter, None)
        if path is None:
            return None
        return {self.input_name: letterbox(read_image(path), self.imgsz)[0]}

    def rewind(self) -> None:
        """Start again from the first image."""
        self._iter = iter(self.images)

    def __len__(self) -> int:
        return len(self.images)

    def set_range(self, start_index: int, end_index: int) -> None:
        """Feed only images ``start_index:end_index`` (ORT's strided calibration calls this per chunk)."""
        self._iter = iter(self.images[start_index:end_index])


def pick_calibration_images(images: Sequence[Path], count: int) -> list[Path]:
    """``count`` images spread evenly over ``images`` (deterministic); all of them when fewer exist."""
    if not images:
        raise DataError("no calibration images: the train split is empty (INT8 calibrates on train images)")
    if count >= len(images):
        return list(images)
    idx = np.linspace(0, len(images) - 1, count).round().astype(int)
    return [images[i] for i in idx]


@contextlib.contextmanager
def quiet_quantizer() -> Iterator[None]:
    """Quantizers print progress (ONNX Runtime's to stdout, NNCF's bars to stderr), log advice and warn: keep
    library output clean while one runs."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def uses_reduced_range() -> bool:
    """7-bit weights on x86 CPUs without VNNI (ONNX Runtime's advice against int16 saturation)."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    return not any(flag in flags for flag in ("avx512_vnni", "avx_vnni", "amx_int8"))


def _quantization_error(exc: Exception, calibration: str) -> ExportError:
    """The one-line error for a failure inside ONNX Runtime's quantizer."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "too many bins for data range" in first.lower():  # numpy, on activations within a subnormal of zero
        return ExportError(
            f"INT8 {calibration} calibration cannot histogram this model's activations (some stay "
            "within a subnormal float of zero: an untrained or heavily pruned model): use "
            "quant.calibration=minmax"
        )
    return ExportError(f"INT8 quantization failed: {first}")


@heavy_work()  # not while another process on this host times latency
def quantize_int8(
    fp32_onnx: Path,
    dest: Path,
    *,
    calibration_images: Sequence[Path],
    imgsz: int,
    settings: Int8Settings,
    calibration_cache: Path | None = None,
    family: str,
    only_blocks: Sequence[str] | None = None,
) -> None:
    """Write a QDQ INT8 model of ``fp32_onnx`` to ``dest``.

    ``calibration_cache`` (a JSON file) stores the activation ranges so later calls with the same
    calibration skip it. ``only_blocks`` quantizes just those blocks (sensitivity analysis). The FP32 file's
    Ultralytics metadata (class names, imgsz, stride, task) is carried over, its export arguments restated
    for INT8. ``family`` (the artifact's detector family) names the blocks and the nodes that stay FP32.

    Example:
        >>> quantize_int8(Path("m.onnx"), Path("q.onnx"), calibration_images=imgs, imgsz=320,
        ...               settings=Int8Settings(calibration="percentile"), family="ultralytics")  # doctest: +SKIP
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from paretodet.models import get_family

    detector_family = get_family(family)
    model = onnx.load(str(fp32_onnx))
    blocks = detector_family.quantizable_blocks(model)
    unknown = [b for b in (*settings.fp32_blocks, *(only_blocks or ())) if b not in blocks]
    if unknown:
        raise ConfigError(f"unknown block(s) {unknown}: the model's blocks are {', '.join(blocks)}")
    exclude = set(detector_family.fp32_nodes(model))
    op_types = _quantized_op_types(model, fp32_nodes=exclude)
    for block in settings.fp32_blocks:
        exclude.update(blocks[block])
    nodes_to_quantize = [n for b in only_blocks for n in blocks[b]] if only_blocks is not None else None
    method = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }[settings.calibration]
    cache_hit = calibration_cache is not None and calibration_cache.is_file()
    if not cache_hit:  # the family may leave the images with extreme activations out
        calibration_images = typical_images(fp32_onnx, calibration_images, imgsz=imgsz, family=detector_family)
    reader = LetterboxCalibrationReader(calibration_images, imgsz=imgsz, input_name=model.graph.input[0].name)
    extra = _calibration_chunking(imgsz, len(calibration_images), method=settings.calibration)
    try:
        with quiet_quantizer():
            quantize_static(
                str(fp32_onnx),
                str(dest),
                None if cache_hit else reader,
                quant_format=QuantFormat.QDQ,
                per_channel=settings.per_channel,
                reduce_range=uses_reduced_range(),
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=op_types,
                nodes_to_quantize=nodes_to_quantize,
                nodes_to_exclude=sorted(exclude),
                calibrate_method=method,
                extra_options=extra,
                calibration_cache_path=str(calibration_cache) if calibration_cache is not None else None,
            )
    except (ConfigError, DataError):
        raise
    except Exception as exc:
        raise _quantization_error(exc, settings.calibration) from exc
    metadata = read_onnx_metadata(model)
    if "names" in metadata:  # ORT 1.32 copies metadata_props; restated (args: INT8) without relying on that
        quantized = onnx.load(str(dest))
        set_onnx_metadata(quantized, restated_for(metadata, "int8"))
        onnx.save(quantized, str(dest))
