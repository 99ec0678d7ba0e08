"""Turn a detector into a deployable file: its family's checkpoint (torch) or an ONNX model (FP32 / FP16)."""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretodet.base import heavy_work
from paretodet.compress._metadata import set_onnx_metadata
from paretodet.errors import ConfigError, ExportError
from paretodet.runtimes import Artifact, list_runtimes, runtime_spec

if TYPE_CHECKING:
    from collections.abc import Iterator

    import torch

    from paretodet.models import Detector

__all__ = ["ONNX_OPSET", "atomic_path", "count_gflops", "export_artifact"]

ONNX_OPSET = 17


def count_gflops(net: torch.nn.Module, imgsz: int) -> float:
    """Forward GFLOPs of a batch-1 ``imgsz`` x ``imgsz`` input (torch's FLOP counter; 1 MAC = 2 FLOPs)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(torch.zeros(1, 3, imgsz, imgsz))
    return counter.get_total_flops() / 1e9


@heavy_work()  # not while another process on this host times latency
def export_artifact(detector: Detector, dest: Path, *, runtime: str, imgsz: int, precision: str) -> Artifact:
    """Write ``detector`` as the artifact for ``runtime`` at ``dest`` (written atomically) and return it.

    The detector's family (see :mod:`paretodet.models`) wraps the model for export, names its outputs and
    writes its checkpoint. An ONNX file carries the family's metadata: for Ultralytics models, Ultralytics' own
    (class names, imgsz, stride, task: see ``compress._metadata``), so ``YOLO(path).predict(image)`` labels its
    boxes with the dataset's class names.

    Example:
        >>> art = export_artifact(det, Path("m.onnx"), runtime="onnxruntime", imgsz=320, precision="fp16")
    """
    from paretodet.models import get_family

    spec = runtime_spec(runtime)
    if spec.derives_from is not None:
        roots = [name for name in list_runtimes() if runtime_spec(name).derives_from is None]
        raise ConfigError(f"runtime={runtime} files are made from another runtime's: export to {' or '.join(roots)}")
    if precision not in spec.precisions or precision == "int8":
        exported = [p for p in spec.precisions if p != "int8"]
        raise ConfigError(
            f"runtime={runtime} is exported at {' or '.join(exported)}, not {precision}: change precision"
        )
    family = get_family(detector.family)
    net = family.inference_module(detector, imgsz=imgsz)
    params = sum(p.numel() for p in net.parameters())
    gflops = count_gflops(net, imgsz)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:
        _WRITERS[spec.writes](detector, family, net, tmp, imgsz=imgsz, precision=precision)
    artifact = Artifact(
        path=dest,
        runtime=runtime,
        imgsz=imgsz,
        precision=precision,
        names=detector.names,
        params=params,
        gflops=gflops,
        family=family.name,
    )
    artifact.write_sidecar()
    return artifact


def _write_onnx_file(
    detector: Detector, family: Any, net: torch.nn.Module, path: Path, *, imgsz: int, precision: str
) -> None:
    metadata = family.onnx_metadata(detector, imgsz=imgsz, precision=precision, opset=ONNX_OPSET)
    _write_onnx(net, path, imgsz=imgsz, precision=precision, metadata=metadata, outputs=family.output_names)


def _write_checkpoint(
    detector: Detector, family: Any, net: torch.nn.Module, path: Path, *, imgsz: int, precision: str
) -> None:
    del net, imgsz, precision  # the checkpoint holds the model itself
    family.save(detector, path)


# what a runtime that derives from no other writes from the model (RuntimeSpec.writes)
_WRITERS = {"onnx": _write_onnx_file, "checkpoint": _write_checkpoint}


@contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary sibling path; on success it replaces ``dest`` in one rename (readers never see
    a half-written file). When nothing was written there, ``dest`` is left alone."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        if tmp.exists():
            with tmp.open("rb") as fh:  # on disk before it is timed: pending write-back skews latency
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _write_onnx(
    net: torch.nn.Module,
    path: Path,
    *,
    imgsz: int,
    precision: str,
    metadata: dict[str, Any],
    outputs: tuple[str, ...] = ("output0",),
) -> None:
    import onnx
    import torch

    dummy = torch.zeros(1, 3, imgsz, imgsz)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                net,
                (dummy,),
                str(path),
                opset_version=ONNX_OPSET,
                input_names=["images"],
                output_names=list(outputs),
                dynamo=False,
                do_constant_folding=True,
            )
    except Exception as exc:
        raise ExportError(
            f"ONNX export failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from exc
    model = onnx.load(str(path))
    if precision == "fp16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = convert_float_to_float16(model, keep_io_types=True)
    set_onnx_metadata(model, metadata)
    onnx.save(model, str(path))
