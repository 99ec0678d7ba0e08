"""The report's one recommendation, by one stated rule that respects the intervals: every section (front table,
figures, analysis, technique verdicts) names the same trial."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from paretodet.reports._info import ReportInfo
from paretodet.reports._pareto import knee_index

__all__ = ["MAX_DROP_POINTS", "RULE", "Recommendation", "recommend"]

MAX_DROP_POINTS = 1.0  # mAP50-95 points (x 100) the fallback rule allows a recommended config to lose
RULE = (
    "the fastest front config whose mAP50-95 change against the reference cannot be told from zero (its paired "
    f"95% interval reaches 0, or lies above it); if none, the knee of the front configs within {MAX_DROP_POINTS:.1f} "
    "point of the reference; if none, the front's knee"
)


@dataclass(frozen=True)
class Recommendation:
    """The recommended trial (None when there is no front), which branch of :data:`RULE` chose it, and why."""

    trial: int | None
    branch: str
    reason: str


def _float(row: pd.Series, name: str) -> float:
    try:
        return float(row.get(name, math.nan))
    except (TypeError, ValueError):
        return math.nan


def _drop_points(row: pd.Series, reference_map: float) -> float:
    """The change of mAP50-95 against the reference in points: the paired one where stored, else the difference."""
    delta = _float(row, "delta_map50_95")
    return 100 * (delta if math.isfinite(delta) else _float(row, "map50_95") - reference_map)


def _reference_map(info: ReportInfo) -> float:
    """mAP50-95 of the reference: the trial flagged ``reference`` (the original, FP32, base input size), else the
    best-mAP unmodified probe, else NaN."""
    trials = info.complete
    if "reference" in trials and trials["reference"].fillna(False).astype(bool).any():
        return float(trials[trials["reference"].fillna(False).astype(bool)]["map50_95"].iloc[0])
    if "probe" in trials:
        originals = trials[trials["probe"].astype(str).str.startswith("original")]
        if not originals.empty:
            return float(originals["map50_95"].max())
    return math.nan


def recommend(info: ReportInfo) -> Recommendation:
    """The one recommended config of a report, by :data:`RULE`.

    Example:
        >>> recommend(build_info(trials)).trial  # doctest: +SKIP
        12
    """
    front = info.front
    if front.empty:
        return Recommendation(None, "", "no completed trial on the front")
    reference = _reference_map(info)
    latency = front["latency_ms"] if "latency_ms" in front else pd.Series(np.nan, index=front.index)
    if {"delta_low", "delta_high"} <= set(front.columns):
        kept = front[(front["delta_high"].astype(float) >= 0) & front["delta_low"].notna()]
        if not kept.empty:
            best = kept.loc[latency[kept.index].astype(float).idxmin()]
            low, high = 100 * float(best["delta_low"]), 100 * float(best["delta_high"])
            return Recommendation(
                int(best["number"]),
                "unseparable",
                f"the fastest front config whose mAP50-95 change ({_drop_points(best, reference):+.1f} points, "
                f"95% interval {low:+.1f} to {high:+.1f}) cannot be told from zero",
            )
    if math.isfinite(reference):
        near = front[[_drop_points(r, reference) >= -MAX_DROP_POINTS for _, r in front.iterrows()]]
        if not near.empty:
            chosen = _knee(near, info)
            return Recommendation(
                chosen, "within-drop", f"the knee of the {len(near)} front configs within {MAX_DROP_POINTS:.1f} point"
            )
    return Recommendation(_knee(front, info), "knee", "the knee of the whole front (no config within the drop)")


def _knee(rows: pd.DataFrame, info: ReportInfo) -> int:
    cols = [c for c, _ in info.objectives]
    index = knee_index(rows[cols].to_numpy(dtype=float), [d for _, d in info.objectives])
    return int(rows.iloc[max(index, 0)]["number"])
