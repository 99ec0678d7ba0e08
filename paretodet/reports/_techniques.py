"""The technique table: what each technique buys alone, what its mitigation recovers, and what the best
combination on the front buys, each against an unmodified trial of the same input size and runtime; plus a
written verdict computed from those rows.

Pure pandas over the trial table of :class:`~paretodet.reports._info.ReportInfo` (tested without rendering).
Every figure in a row is the stored metric of the trial it names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from paretodet.objectives import METRICS, paired_change_files
from paretodet.reports._analysis import best_trial, original_trial, technique_combo, techniques
from paretodet.reports._describe import config_summary, row_knobs
from paretodet.reports._info import ReportInfo
from paretodet.reports._pareto import knee_index, pareto_mask
from paretodet.runtimes import runtime_label
from paretodet.spaces import ORIGINAL_PROBE, VARIANTS, is_variant, knob_defaults

__all__ = [
    "BEST_COMBINATION",
    "FAILED",
    "NOT_MEASURED",
    "ORIGINAL",
    "TechniqueRow",
    "failed_probes",
    "front_tradeoff",
    "table_metrics",
    "technique_rows",
]

NOT_MEASURED = "not measured in this study"
FAILED = "failed"  # a row whose probe ran and failed: "failed: <reason> (trial N)"
ORIGINAL = "original model"
BEST_COMBINATION = "best combination"


def table_metrics() -> tuple[str, ...]:
    """The metrics a row stores: those with a ``technique_column``, in METRICS' order, as METRICS is now.

    Example:
        >>> table_metrics()
        ('map50_95', 'map50', 'latency_ms', 'fps', 'size_bytes')
    """
    return METRICS.where(lambda m: m.technique_column > 0)


TABLE_METRICS: tuple[str, ...] = table_metrics()  # at import; rows are made with table_metrics()


@dataclass(frozen=True)
class TechniqueRow:
    """One row: a trial (None when no trial qualifies), its stored metrics, and the change against its
    baseline (the best unmodified trial of the same input size and runtime, else the original model).

    Attributes:
        imgsz / runtime: the trial's; baseline_imgsz / baseline_runtime: its baseline's (the same unless the
            note says otherwise).
        size_x: baseline size / size (> 1: smaller). speed_x: baseline latency / latency (> 1: faster).
        d_map50_95 / d_map50: change in mAP points (x 100) against the baseline.
        d_low / d_high: the paired 95% interval of the mAP50-95 change, in points, from both trials' per-image
            matches on the same val images (NaN when they were not scored on the same images).
        knobs: the trial's typed knob values. note: how the comparison was made, or why there is no row.
    """

    name: str
    trial: int | None
    baseline: int | None = None
    imgsz: int | None = None
    runtime: str | None = None
    baseline_imgsz: int | None = None
    baseline_runtime: str | None = None
    config: str = ""
    combo: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    size_x: float = float("nan")
    speed_x: float = float("nan")
    d_map50_95: float = float("nan")
    d_map50: float = float("nan")
    d_low: float = float("nan")
    d_high: float = float("nan")
    feasible: bool | None = None
    qualifying: int = 0
    knobs: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def measured(self) -> bool:
        """Whether a trial fills this row."""
        return self.trial is not None

    def with_note(self, note: str) -> TechniqueRow:
        """A copy with ``note`` put first (the note it had is kept after it)."""
        return dataclasses.replace(self, note="; ".join(t for t in (note, self.note) if t))


def technique_rows(info: ReportInfo) -> list[TechniqueRow]:
    """The table's rows: the original model, one per technique variant (``paretodet.spaces.VARIANTS``), the
    best combination. A row no completed trial fills whose probe failed says so, with the reason.

    Example:
        >>> rows = technique_rows(build_info(trials))  # doctest: +SKIP
        >>> rows[2].name, rows[2].size_x  # doctest: +SKIP
        ('INT8 PTQ', 3.5)
    """
    done = info.complete.dropna(subset=["map50_95"]) if "map50_95" in info.complete else info.complete.iloc[:0]
    failed = failed_probes(info.trials)
    if not ("verified" in done and done["verified"].fillna(False).astype(bool).any()):
        return _rows_from(done, failed)
    rows = _rows_from(done[done["verified"].fillna(False).astype(bool)], failed)  # one basis for every row
    unverified = _rows_from(done, failed)
    return [
        row
        if row.measured or not other.measured
        else dataclasses.replace(
            row,
            note=f"trial {other.trial} measured, but not re-timed by 'paretodet verify' "
            "(neither on the front nor a probe)",
        )
        for row, other in zip(rows, unverified)
    ]


def _rows_from(done: pd.DataFrame, failed: dict[str, str]) -> list[TechniqueRow]:
    """The rows over the completed trials ``done``."""
    done = done.assign(_combo=[technique_combo(r) for _, r in done.iterrows()])
    unmodified = done[done["_combo"] == "baseline"]
    original = original_trial(unmodified)
    missing = failed.get(ORIGINAL_PROBE, NOT_MEASURED)
    rows = [_make_row(ORIGINAL, original, original, note="" if original is not None else missing)]
    knob_rows = {int(r["number"]): {**knob_defaults(), **row_knobs(r)} for _, r in done.iterrows()}
    for variant in VARIANTS.values():
        qualifying = done[
            [
                techniques(r) == {variant.technique} and is_variant(variant.name, knob_rows[int(r["number"])])
                for _, r in done.iterrows()
            ]
        ]
        row = _pick(variant.name, qualifying, unmodified, original)
        rows.append(row if row.measured else dataclasses.replace(row, note=failed.get(variant.name, NOT_MEASURED)))
    rows.append(_best_combination(done, unmodified, original))
    return rows


def failed_probes(trials: pd.DataFrame) -> dict[str, str]:
    """Probe name -> ``failed: <reason> (trial N)`` for each probe whose trial failed and that no later trial
    of the same probe completed.

    Example:
        >>> failed_probes(pd.DataFrame({"number": [3], "state": ["FAIL"], "probe": ["INT8 PTQ"],
        ...                             "fail_reason": ["calibration needs images"]}))
        {'INT8 PTQ': 'failed: calibration needs images (trial 3)'}
    """
    if "probe" not in trials or trials.empty:
        return {}
    out: dict[str, str] = {}
    for _, row in trials.sort_values("number").iterrows():
        name = row["probe"]
        if not isinstance(name, str) or not name:
            continue
        if row["state"] == "COMPLETE":
            out.pop(name, None)
        elif row["state"] == "FAIL":
            reason = row.get("fail_reason")
            reason = reason if isinstance(reason, str) and reason else "no reason recorded"
            out[name] = f"{FAILED}: {reason} (trial {int(row['number'])})"
    return out


def _setting(row: pd.Series) -> tuple[Any, Any]:
    knobs = {**knob_defaults(), **row_knobs(row)}
    return knobs["imgsz"], knobs["runtime"]


def _baseline_for(row: pd.Series, unmodified: pd.DataFrame) -> pd.Series | None:
    """The best unmodified trial of ``row``'s input size and runtime, or None."""
    if unmodified.empty:
        return None
    same = unmodified[[_setting(u) == _setting(row) for _, u in unmodified.iterrows()]]
    return best_trial(same) if not same.empty else None


def _pick(name: str, qualifying: pd.DataFrame, unmodified: pd.DataFrame, original: pd.Series | None) -> TechniqueRow:
    """The best-mAP qualifying trial at the original's input size and runtime, else at a setting with its own
    unmodified trial, else the best overall (then compared with the original, and the note says so)."""
    if qualifying.empty:
        return TechniqueRow(name=name, trial=None)
    count = len(qualifying)
    if original is not None:
        same = qualifying[[_setting(q) == _setting(original) for _, q in qualifying.iterrows()]]
        if not same.empty:
            return _make_row(name, best_trial(same), original, qualifying=count)
    with_base = [(q, _baseline_for(q, unmodified)) for _, q in qualifying.iterrows()]
    paired = [(q, b) for q, b in with_base if b is not None]
    if paired:
        trial, base = max(paired, key=lambda p: (p[0]["map50_95"], -p[0]["number"]))
        return _make_row(name, trial, base, qualifying=count)
    return _make_row(name, best_trial(qualifying), original, qualifying=count, fallback=True)


def _best_combination(done: pd.DataFrame, unmodified: pd.DataFrame, original: pd.Series | None) -> TechniqueRow:
    """The front's best-mAP50-95 trial that uses two or more techniques."""
    combined = done[[len(techniques(r)) >= 2 for _, r in done.iterrows()]]
    front = combined[combined["on_front"]] if "on_front" in combined else combined.iloc[:0]
    if front.empty:
        why = NOT_MEASURED if combined.empty else f"{len(combined)} combined trials measured, none on the front"
        return TechniqueRow(name=BEST_COMBINATION, trial=None, note=why)
    trial = best_trial(front)
    base = _baseline_for(trial, unmodified)
    note = "the front's best-mAP50-95 trial combining two or more techniques"
    return _make_row(
        BEST_COMBINATION, trial, base if base is not None else original, qualifying=len(front), fallback=base is None
    ).with_note(note)


def _metric(row: pd.Series, name: str) -> float:
    value = row.get(name)
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _ratio(top: float, bottom: float) -> float:
    if not (np.isfinite(top) and np.isfinite(bottom)) or bottom == 0:
        return float("nan")
    return top / bottom


def _make_row(
    name: str,
    trial: pd.Series | None,
    base: pd.Series | None,
    *,
    qualifying: int = 1,
    fallback: bool = False,
    note: str = "",
) -> TechniqueRow:
    if trial is None:
        return TechniqueRow(name=name, trial=None, note=note or NOT_MEASURED)
    metrics = {m: _metric(trial, m) for m in table_metrics()}
    imgsz, runtime = _setting(trial)
    row = TechniqueRow(
        name=name,
        trial=int(trial["number"]),
        imgsz=int(imgsz),
        runtime=str(runtime),
        config=config_summary(trial),
        combo=technique_combo(trial),
        metrics=metrics,
        feasible=bool(trial["feasible"]) if "feasible" in trial else None,
        qualifying=qualifying,
        knobs={**knob_defaults(), **row_knobs(trial)},
        note=note,
    )
    if base is None:
        return dataclasses.replace(row, note=note or "no unmodified trial measured: absolute figures only")
    now, ref = partial(_metric, trial), partial(_metric, base)
    speed = _ratio(ref("latency_ms"), now("latency_ms"))
    if not np.isfinite(speed):
        speed = _ratio(now("fps"), ref("fps"))
    b_imgsz, b_runtime = _setting(base)
    if fallback:
        note = (
            f"no unmodified trial at {imgsz} px on {runtime_label(str(runtime))}: "
            f"compared with the original model (trial {int(base['number'])}, {b_imgsz} px on "
            f"{runtime_label(str(b_runtime))})"
        )
    return dataclasses.replace(
        row,
        baseline=int(base["number"]),
        baseline_imgsz=int(b_imgsz),
        baseline_runtime=str(b_runtime),
        size_x=_ratio(ref("size_bytes"), now("size_bytes")),
        speed_x=speed,
        d_map50_95=100 * (now("map50_95") - ref("map50_95")),
        d_map50=100 * (now("map50") - ref("map50")),
        **_paired_points(base, trial),
        note=note,
    )


def _paired_points(base: pd.Series, trial: pd.Series) -> dict[str, Any]:
    """``d_low`` / ``d_high`` of a row: the paired interval of the mAP50-95 change, in points (none: NaN)."""
    files = [row.get("evals_file") for row in (base, trial)]
    if int(base["number"]) == int(trial["number"]) or not all(isinstance(f, str) and f for f in files):
        return {}
    change = paired_change_files(files[0], files[1])
    return {"d_low": 100 * change["low"], "d_high": 100 * change["high"]} if change else {}


def front_tradeoff(rows: list[TechniqueRow], objectives: tuple[tuple[str, int], ...]) -> tuple[list[str], str | None]:
    """The rows (other than the original) non-dominated over the study's objectives, and the one closest to
    the ideal corner with each objective scaled over those rows (None when no row is measured)."""
    measured = [r for r in rows if r.measured and r.name != ORIGINAL]
    metrics = [m for m, _ in objectives]
    if not measured or any(m not in measured[0].metrics for m in metrics):
        return [], None
    values = np.array([[r.metrics[m] for m in metrics] for r in measured], dtype=float)
    directions = [d for _, d in objectives]
    mask = pareto_mask(values, directions)
    knee = knee_index(values, directions)
    return [r.name for r, on in zip(measured, mask) if on], (measured[knee].name if knee >= 0 else None)
