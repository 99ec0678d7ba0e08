"""The one Metrics record every layer passes around, and the one table of metrics (name, unit, direction,
format, where it shows) that objectives, budgets, select and reports read."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import KW_ONLY, asdict, dataclass, fields
from typing import Any

__all__ = [
    "BUDGET_METRICS",
    "METRICS",
    "METRIC_DIRECTIONS",
    "OBJECTIVE_METRICS",
    "MetricSpec",
    "MetricTable",
    "Metrics",
    "format_metric",
]


@dataclass(frozen=True)
class MetricSpec:
    """One metric: what it is called, which way is better and how a value is shown.

    Attributes:
        name: the key in ``Metrics.to_dict()``, trials.csv, budgets and ``select --objective``.
        label: its name for people (axis titles); ``short``: a shorter one (hover texts; default: label).
        unit: the unit of the stored value ("" for scores and counts).
        direction: +1 larger is better, -1 smaller is better, 0 neither (how the artifact was measured).
        fmt: the format of ``value * scale`` for people (``"{:.2f} MB"``).
        scale: factor applied before formatting (bytes shown in MB: 1e-6).
        budget: budgets and ``select --objective`` may name it.
        objective: one of a study's objectives (in the table's order).
        headline: one of the headline columns of a raw front table (``front_columns``).
        front: a column of the report's readable front (its header: :attr:`header`).
        hover: shown with every trial's config in the figures' hover texts.
        technique_column: where its column stands in the technique table (1 first; 0: not there).
        derived: (metric, factor): computed from another metric when a table lacks it (size_mb).
        timed: how it depends on the host that timed it: "model" (model-only timing, what ``paretodet
            measure`` re-times on a target), "e2e" (end-to-end timing), "" (not a timing).
        interval: the columns holding its 95% interval (low, high), where a trial has one: the bootstrap over
            val images of an mAP, the interleaved rounds of a verified latency.
        verified_only: only ``paretodet verify`` measures it (a ratio to the reference timed in the same
            rounds): not a field of a trial's :class:`Metrics`.
    """

    name: str
    _: KW_ONLY
    label: str
    direction: int
    unit: str = ""
    fmt: str = "{:.4g}"
    scale: float = 1.0
    budget: bool = True
    objective: bool = False
    headline: bool = True
    front: bool = False
    hover: bool = False
    technique_column: int = 0
    derived: tuple[str, float] | None = None
    short: str = ""
    timed: str = ""
    interval: tuple[str, str] | None = None
    verified_only: bool = False

    @property
    def title(self) -> str:
        """An axis title: ``latency, ms (lower is better)``."""
        text = f"{self.label}, {self.unit}" if self.unit else self.label
        return f"{text} ({'higher' if self.direction > 0 else 'lower'} is better)" if self.direction else text

    @property
    def optuna_direction(self) -> str:
        """``maximize`` or ``minimize`` (Optuna's spelling of the direction)."""
        if not self.direction:
            raise ValueError(f"metric '{self.name}' has no direction: it cannot be an objective")
        return "maximize" if self.direction > 0 else "minimize"

    @property
    def brief(self) -> str:
        """Its shortest name for people: ``short``, else ``label``."""
        return self.short or self.label

    @property
    def shown_unit(self) -> str:
        """The unit a formatted value ends with: ``MB`` for bytes shown in MB, ``""`` for scores and counts."""
        return self.fmt.rpartition("}")[2].strip()

    @property
    def header(self) -> str:
        """A table header that carries the unit, for values formatted without it: ``latency (ms)``."""
        return f"{self.brief} ({self.shown_unit})" if self.shown_unit else self.brief

    def format(self, value: float, *, unit: bool = True) -> str:
        """A value for people, e.g. ``12.00 MB`` for 12e6 bytes (``12.00`` without ``unit``, under a
        :attr:`header`)."""
        fmt = self.fmt if unit else self.fmt.rpartition("}")[0] + "}"
        return fmt.format(value * self.scale)


class MetricTable(dict[str, MetricSpec]):
    """The metrics by name, in the canonical column order; :meth:`where` answers which of them show where."""

    def where(self, flag: Callable[[MetricSpec], object]) -> tuple[str, ...]:
        """The names of the metrics whose spec ``flag`` is true for, in the table's order, as the table is now (a
        metric registered after import counts).

        Example:
            >>> METRICS.where(lambda m: m.hover)
            ('map50_95', 'latency_ms', 'fps', 'size_bytes')
        """
        return tuple(name for name, spec in self.items() if flag(spec))


def _metric_table(*specs: MetricSpec) -> MetricTable:
    return MetricTable((spec.name, spec) for spec in specs)


# every numeric metric of a trial, in the canonical column order (the one table of metrics)
METRICS: MetricTable = _metric_table(
    MetricSpec(
        "map50_95",
        label="mAP50-95",
        direction=1,
        fmt="{:.4f}",
        objective=True,
        front=True,
        hover=True,
        technique_column=4,
        interval=("map50_95_low", "map50_95_high"),
    ),
    MetricSpec(
        "map50",
        label="mAP50",
        direction=1,
        fmt="{:.4f}",
        front=True,
        technique_column=5,
        interval=("map50_low", "map50_high"),
    ),
    MetricSpec(
        "voc_map50_07", label="VOC07 mAP50 (11-point)", short="VOC07", direction=1, fmt="{:.4f}", headline=False
    ),
    MetricSpec("voc_map50", label="VOC mAP50 (area)", short="VOC mAP50", direction=1, fmt="{:.4f}", headline=False),
    MetricSpec(
        "latency_ms",
        label="latency",
        unit="ms",
        direction=-1,
        fmt="{:.2f} ms",
        front=True,
        hover=True,
        technique_column=2,
        timed="model",
        interval=("latency_low_ms", "latency_high_ms"),
    ),
    MetricSpec(
        "latency_ratio",
        label="latency vs the reference",
        short="latency ratio",
        direction=-1,
        fmt="{:.3f}x",
        front=True,
        headline=False,
        interval=("ratio_low", "ratio_high"),
        verified_only=True,
    ),
    MetricSpec(
        "latency_p90_ms", label="latency p90", unit="ms", direction=-1, fmt="{:.2f} ms", headline=False, timed="model"
    ),
    MetricSpec(
        "latency_cv",
        label="latency CV (std/mean)",
        direction=-1,
        fmt="{:.3f}",
        budget=False,
        headline=False,
        timed="model",
    ),
    MetricSpec(
        "fps",
        label="FPS, model only",
        short="FPS",
        direction=1,
        fmt="{:.1f}",
        objective=True,
        front=True,
        hover=True,
        technique_column=3,
        timed="model",
    ),
    MetricSpec("e2e_latency_ms", label="end-to-end latency", unit="ms", direction=-1, fmt="{:.2f} ms", timed="e2e"),
    MetricSpec(
        "size_bytes",
        label="artifact size",
        short="size",
        unit="bytes",
        direction=-1,
        fmt="{:.2f} MB",
        scale=1e-6,
        objective=True,
        hover=True,
        technique_column=1,
    ),
    MetricSpec(
        "size_mb",
        label="artifact size",
        short="size",
        unit="MB",
        direction=-1,
        fmt="{:.2f} MB",
        headline=False,
        front=True,
        derived=("size_bytes", 1e-6),
    ),
    MetricSpec("compressed_bytes", label="compressed size", unit="bytes", direction=-1, fmt="{:.2f} MB", scale=1e-6),
    MetricSpec("params", label="parameters", direction=-1, fmt="{:,.0f}"),
    MetricSpec("gflops", label="GFLOPs", direction=-1, fmt="{:.2f}"),
    MetricSpec("threads", label="threads", direction=0, fmt="{:.0f}", budget=False, headline=False),
    MetricSpec("eval_images", label="val images scored", direction=0, fmt="{:.0f}", budget=False, headline=False),
)
# the constants below are taken at import; code that must see a metric registered later asks METRICS.where
# direction of each metric that has one: +1 larger is better, -1 smaller is better
METRIC_DIRECTIONS: dict[str, int] = {name: m.direction for name, m in METRICS.items() if m.direction}
# metrics a budget (``size_mb<=4``) or ``select --objective`` may name
BUDGET_METRICS: tuple[str, ...] = METRICS.where(lambda m: m.budget)
# a study's objectives, in this order
OBJECTIVE_METRICS: tuple[str, ...] = METRICS.where(lambda m: m.objective)


def format_metric(name: str, value: Any) -> str:
    """``value`` of metric ``name`` for people (``format_metric("latency_ms", 7)`` -> ``'7.00 ms'``); values that
    are not numbers, and unknown metrics, as they are."""
    spec = METRICS.get(name)
    if spec is None or isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        return str(value)
    return spec.format(float(value))  # numpy scalars too


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
        host / cpu / cores / runtime_version: where latency was timed (see ``TimingHost``); empty in records
            made before it was recorded.
        runtime_hint / provider: what the runtime reported it computed in (its precision hint: f32, bf16, f16)
            and where (execution provider or device); empty when the runtime has no such notion, or in older
            records.
        hint_source: where the precision hint came from when an artifact was measured again (``evaluate``,
            ``compare``): ``artifact`` (the one it was built with, recorded beside it), ``option``
            (``--precision-hint``) or ``default`` (none recorded: the runtime's default); empty when the runtime
            takes no hint, and for a candidate that was built (its ``precision_hint`` knob).
        timing_others_cpu: share of the host's CPU time that other processes used while this was timed (a
            disturbed timing is repeated, up to 3 runs); -1 in older records.
        voc_map50_07 / voc_map50: Pascal VOC datasets only (else NaN): mAP@0.5 by VOC's protocol, VOC2007
            11-point and VOC2010+ area under the precision envelope, difficult objects ignored; None otherwise.
        map50_95_low / map50_95_high, map50_low / map50_high: the 95% bootstrap interval over val images (NaN
            in older records).
        evals_file: pycocotools' per-image matches of this artifact on these images (``.npz``), from which
            paired intervals against another artifact are computed without new inference; empty if not kept.
        class_names_check: whether the model's class names were checked against the data's: ``matched``,
            ``ignored`` (they differ; scored by class id as ``--ignore-class-names`` asked) or ``unchecked`` (the
            model names no classes); empty in older records.
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
    host: str = ""
    cpu: str = ""
    cores: int = 0
    runtime_version: str = ""
    runtime_hint: str = ""
    hint_source: str = ""
    provider: str = ""
    timing_others_cpu: float = -1.0
    voc_map50_07: float | None = None
    voc_map50: float | None = None
    map50_95_low: float = float("nan")
    map50_95_high: float = float("nan")
    map50_low: float = float("nan")
    map50_high: float = float("nan")
    evals_file: str = ""
    class_names_check: str = ""

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
        optional = {f.name for f in fields(cls) if f.default is None}  # None: not measured for this dataset
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {
            k: (float("nan") if v is None and k not in optional else v) for k, v in data.items() if k in names
        }
        return cls(**values)
