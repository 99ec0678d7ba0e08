"""Ultralytics' metadata in paretodet's ONNX files, so downstream tools recognise them.

Ultralytics' own ONNX export writes one ``metadata_props`` entry per key (the value is ``str(value)``), and its
``AutoBackend`` reads them back (``ast.literal_eval`` for ``names``, ``imgsz``, ``args``; ``int`` for
``stride``, ``batch``, ``channels``): the class names label the boxes, ``imgsz`` is the static input size the
predictor letterboxes to, ``task`` picks the predictor. paretodet writes the same keys (see
:data:`METADATA_KEYS`), so ``YOLO("model.onnx").predict(image)`` labels boxes with the dataset's class names.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretodet.models import QUANTIZE_ARG

if TYPE_CHECKING:
    import onnx

__all__ = ["METADATA_KEYS", "read_onnx_metadata"]

# the keys of Ultralytics' ONNX export (ultralytics/engine/exporter.py), less its license and docs links
METADATA_KEYS: tuple[str, ...] = (
    "description",
    "author",
    "date",
    "version",
    "stride",
    "task",
    "head",
    "batch",
    "imgsz",
    "names",
    "args",
    "channels",
    "end2end",
)


def read_onnx_metadata(source: Path | onnx.ModelProto) -> dict[str, str]:
    """An ONNX file's (or model's) ``metadata_props`` as a dict of strings.

    Example:
        >>> read_onnx_metadata(Path("model.onnx"))["task"]  # doctest: +SKIP
        'detect'
    """
    import onnx

    model = onnx.load(str(source), load_external_data=False) if isinstance(source, Path) else source
    return {p.key: p.value for p in model.metadata_props}


def set_onnx_metadata(model: onnx.ModelProto, metadata: Mapping[str, Any]) -> None:
    """Write ``metadata`` into ``model.metadata_props`` as Ultralytics does (``str(value)``), replacing those keys."""
    kept = [(p.key, p.value) for p in model.metadata_props if p.key not in metadata]
    del model.metadata_props[:]
    for key, value in [*kept, *((k, v if isinstance(v, str) else str(v)) for k, v in metadata.items())]:
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value


def restated_for(metadata: Mapping[str, str], precision: str) -> dict[str, str]:
    """``metadata`` (read from an ONNX file) with its export arguments restated for ``precision``: an INT8
    model quantized from an FP32 file keeps everything else (names, imgsz, stride, task)."""
    if "args" not in metadata:
        return dict(metadata)
    try:
        args = ast.literal_eval(metadata["args"])
    except (ValueError, SyntaxError):
        return dict(metadata)
    return {**metadata, "args": str({**args, "quantize": QUANTIZE_ARG[precision]})}
