"""The one Metrics record every layer passes around."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["METRIC_DIRECTIONS", "Metrics"]

# direction of each numeric metric: +1 larger is better, -1 smaller is better
METRIC_DIRECTIONS: dict[str, int] = {
    "map50_95": 1,
    "map50": 1,
    "latency_ms": -1,
    "latency_p90_ms": -1,
    "latency_cv": -1,
    "fps": 1,
    "e2e_latency_ms": -1,
    "size_bytes": -1,
    "size_mb": -1,
    "compressed_bytes": -1,
    "params": -1,
    "gflops": -1,
}


@dataclass(frozen=True)
class Metrics:
    """What one artifact measured.

    Attributes:
        map50_95 / map50: COCO mAP from the artifact's own predictions.
        latency_ms / latency_p90_ms / latency_cv: model-only batch-1 latency (median, p90, std/mean).
        fps: 1000 / latency_ms.
        e2e_latency_ms: median of letterbox + inference + NMS.
        size_bytes: bytes of the artifact file. params / gflops: of the network inside it.
        compressed_bytes: bytes of the artifact after zlib compression (what zeroed weights of unstructured
            pruning save when the file is shipped compressed); -1 in records made before it was measured.
        runtime / imgsz / threads: how it was measured. eval_images: val images scored.
    """

    map50_95: float
    map50: float
    latency_ms: float
    latency_p90_ms: float
    latency_cv: float
    fps: float
    e2e_latency_ms: float
    size_bytes: int
    params: int
    gflops: float
    runtime: str
    imgsz: int
    threads: int
    eval_images: int
    compressed_bytes: int = -1

    @property
    def size_mb(self) -> float:
        """Artifact size in MB (10^6 bytes)."""
        return self.size_bytes / 1e6

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (includes ``size_mb``)."""
        data = asdict(self)
        data["size_mb"] = self.size_mb
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metrics:
        """Inverse of :meth:`to_dict` (extra keys ignored, ``None`` floats become NaN)."""
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: (float("nan") if v is None else v) for k, v in data.items() if k in names}
        return cls(**values)
