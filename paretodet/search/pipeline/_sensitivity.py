"""Per-block INT8 sensitivity: quantize one block at a time and measure the mAP drop on a val subset.

Computed once per (model, input size) and cached as JSON; the mixed-precision knob ``quant.fp_layers``
keeps the most sensitive blocks in FP32, and reports can show the table.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from paretodet.compress import Int8Settings, pick_calibration_images, quantize_int8
from paretodet.data import DatasetInfo, read_truth, split_images
from paretodet.errors import DataError
from paretodet.models import get_family
from paretodet.objectives import evaluate_map
from paretodet.runtimes import Artifact, open_runner
from paretodet.search.pipeline._cache import CacheLog, building

__all__ = [
    "SENSITIVITY_CALIB_IMAGES",
    "SENSITIVITY_VAL_IMAGES",
    "block_sensitivity",
    "load_sensitivity_tables",
    "sensitivity_path",
]

SENSITIVITY_VAL_IMAGES = 32
SENSITIVITY_CALIB_IMAGES = 64


def sensitivity_path(cache: Path, *, salt: str, imgsz: int) -> Path:
    """Where the sensitivity table of a model (``salt`` = its digest) at ``imgsz`` is cached."""
    payload = json.dumps(
        {
            "salt": salt,
            "imgsz": imgsz,
            "val": SENSITIVITY_VAL_IMAGES,
            "calib": SENSITIVITY_CALIB_IMAGES,
            "method": "minmax",
        },
        sort_keys=True,
    )
    return cache / "sensitivity" / hashlib.sha256(payload.encode()).hexdigest()[:16] / "sensitivity.json"


def block_sensitivity(fp32: Artifact, data: DatasetInfo, *, log: CacheLog, salt: str, model: str = "") -> list[str]:
    """Blocks ranked from most to least sensitive to INT8 (the table is cached: a reuse is a ``sensitivity``
    hit in ``log``). ``model`` names the model the table is of (the original, or its pruned / student
    variant) in reports."""
    path = sensitivity_path(log.cache, salt=salt, imgsz=fp32.imgsz)
    if not log.reuse(path, "sensitivity"):
        table = {**_measure(fp32, data), "imgsz": fp32.imgsz, "model": model}
        with building(path) as staged:
            staged.write_text(json.dumps(table, indent=2))
        log.used(path)
    return list(json.loads(path.read_text())["ranking"])


def _measure(fp32: Artifact, data: DatasetInfo) -> dict[str, Any]:
    import onnx

    if data.train is None:
        raise DataError(f"{data.yaml_path} has no train split: INT8 calibrates on train images, add 'train:'")
    val = [read_truth(data, path) for path in split_images(data)[:SENSITIVITY_VAL_IMAGES]]
    calib = pick_calibration_images(split_images(data, "train"), SENSITIVITY_CALIB_IMAGES)

    def score(artifact: Artifact) -> float:
        result = evaluate_map(open_runner(artifact, threads=2), val, names=data.names, imgsz=artifact.imgsz)
        return result.map50_95

    base = score(fp32)
    drops: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="paretodet-sens-") as tmp:
        ranges = Path(tmp) / "ranges.json"
        for block in get_family(fp32.family).quantizable_blocks(onnx.load(str(fp32.path))):
            out = Path(tmp) / f"{block}.onnx"
            quantize_int8(
                fp32.path,
                out,
                calibration_images=calib,
                imgsz=fp32.imgsz,
                settings=Int8Settings(),
                calibration_cache=ranges,
                only_blocks=[block],
                family=fp32.family,
            )
            drops[block] = base - score(dataclasses.replace(fp32, path=out, precision="int8"))
            out.unlink()
    ranking = sorted(drops, key=lambda b: -drops[b])
    return {"fp32_map50_95": base, "val_images": len(val), "drops": drops, "ranking": ranking}


def load_sensitivity_tables(workdir: Path) -> list[dict[str, Any]]:
    """Every sensitivity table cached in a work dir (for reports), most sensitive block first."""
    tables = []
    for path in sorted((workdir / "cache" / "sensitivity").glob("*/sensitivity.json")):
        table = json.loads(path.read_text())
        rows = [(block, table["drops"][block]) for block in table["ranking"]]
        tables.append({"imgsz": None, "model": "", **table, "rows": rows})  # older tables lack imgsz and model
    return tables
