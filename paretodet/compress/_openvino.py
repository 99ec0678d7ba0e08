"""OpenVINO artifacts: ONNX -> IR (``.xml`` + ``.bin``), NNCF INT8, and the CPU's precision hints.

An IR keeps the ONNX file's precision: an FP16 ONNX becomes an IR with FP16 weights, a QDQ ONNX an INT8 IR.
NNCF quantizes the FP32 model itself (``nncf.quantize``), calibrated through the evaluation letterbox, with the
detector family's decode nodes and the FP32 blocks of the sensitivity table as its ignored scope; with a
``max_drop`` it runs NNCF's accuracy control, which keeps layers in FP32 until a validation score (mAP50-95 on
held-out training images) drops by at most that much.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paretodet.base import heavy_work
from paretodet.compress._quantize import quiet_quantizer
from paretodet.data import letterbox, read_image
from paretodet.errors import ExportError, first_line

__all__ = ["nncf_quantize", "onnx_to_ir", "save_ir"]


def save_ir(model: Any, dest: Path) -> None:
    """Write OpenVINO model ``model`` as ``dest`` (``.xml``) + its ``.bin``, weights as they are (no FP16
    compression); both appear at once for readers: the ``.bin`` is moved in first, the ``.xml`` last."""
    import openvino as ov

    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".ir-", dir=dest.parent))
    try:
        ov.save_model(model, str(scratch / "model.xml"), compress_to_fp16=False)
        for suffix in (".bin", ".xml"):
            with (scratch / f"model{suffix}").open("rb") as fh:
                os.fsync(fh.fileno())  # on disk before it is timed
            os.replace(scratch / f"model{suffix}", dest.with_suffix(suffix))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@heavy_work()  # not while another process on this host times latency
def onnx_to_ir(source: Path, dest: Path) -> None:
    """Convert ONNX file ``source`` (FP32, FP16 or QDQ INT8) to an OpenVINO IR at ``dest``."""
    save_ir(_read_onnx(source), dest)


def _read_onnx(source: Path) -> Any:
    """``source`` as an OpenVINO model after OpenVINO's conversion passes (``convert_model``, not ``read_model``):
    constant shapes folded and SiLU's ``x * sigmoid(x)`` fused into one Swish op, so NNCF quantizes the graph
    OpenVINO runs (on the unfused graph it put 2.8x as many FakeQuantize ops, and ran slower)."""
    import openvino as ov

    try:
        return ov.convert_model(str(source))
    except Exception as exc:
        raise ExportError(f"OpenVINO cannot read {source}: {first_line(exc)}") from None


def ignored_scope_patterns(node_names: Sequence[str]) -> list[str]:
    """Regexes matching the OpenVINO operations made from these ONNX nodes: OpenVINO keeps an ONNX node's name
    and names the parts it splits a node into ``<name>/...`` (a Conv becomes ``<name>/WithoutBiases`` + an Add
    named ``<name>``)."""
    return [f"{re.escape(name)}(/.*)?" for name in node_names]


@heavy_work()  # not while another process on this host times latency
def nncf_quantize(
    source: Path,
    dest: Path,
    *,
    calibration_images: Sequence[Path],
    imgsz: int,
    fp32_nodes: Sequence[str],
    max_drop: float = 0.0,
    validation: Callable[[Callable[[np.ndarray], list[np.ndarray]]], float] | None = None,
    validation_items: Sequence[Any] = (),
) -> None:
    """Write an INT8 IR of FP32 ONNX ``source`` at ``dest``, quantized by NNCF.

    ``fp32_nodes`` (ONNX node names) stay FP32. With ``max_drop`` > 0, ``validation(run)`` scores a model
    (``run`` maps a batch to its raw outputs; higher is better) and NNCF's accuracy control reverts layers to
    FP32 until the score drops by at most ``max_drop``; ``validation_items`` is what it iterates.

    Example:
        >>> nncf_quantize(Path("m.onnx"), Path("q.xml"), calibration_images=imgs, imgsz=640,
        ...               fp32_nodes=[])  # doctest: +SKIP
    """
    import nncf

    model = _read_onnx(source)
    dataset = nncf.Dataset(list(calibration_images), lambda path: letterbox(read_image(path), imgsz)[0])
    scope = nncf.IgnoredScope(patterns=ignored_scope_patterns(fp32_nodes), validate=False)
    common = {
        "subset_size": len(calibration_images),
        "ignored_scope": scope,
        # NNCF's full bias correction, not its fast one: on the demo YOLOv8n at 640 px the fast one lost 3.5 pt
        # of mAP50-95, the full one 0.7 pt (BENCHMARKS.md); the preset stays NNCF's (symmetric activations)
        "fast_bias_correction": False,
    }
    try:
        with quiet_quantizer():
            if max_drop > 0:
                if validation is None or not validation_items:
                    raise ExportError("NNCF accuracy control needs validation images: none were given")
                score = validation

                def validate(compiled: Any, items: Any) -> float:
                    del items  # the validation callable knows its images
                    return score(lambda batch: [np.asarray(v) for v in compiled(batch).values()])

                quantized = nncf.quantize_with_accuracy_control(
                    model,
                    dataset,
                    nncf.Dataset(list(validation_items)),
                    validate,
                    max_drop=max_drop,
                    drop_type=nncf.DropType.ABSOLUTE,
                    **common,
                )
            else:
                quantized = nncf.quantize(model, dataset, **common)
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(f"NNCF quantization failed: {first_line(exc)}") from exc
    save_ir(quantized, dest)
