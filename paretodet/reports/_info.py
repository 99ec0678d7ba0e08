"""Step 1 of a report: compute what it shows (front, feasibility) from the trial table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from paretodet.objectives import METRICS, OBJECTIVE_METRICS
from paretodet.reports._budget import Budget, violations
from paretodet.reports._pareto import pareto_mask
from paretodet.spaces import inactive_knobs, knob_names

__all__ = [
    "TIMED_METRICS",
    "timing_hosts",
    "DEFAULT_OBJECTIVES",
    "METRIC_COLUMNS",
    "ReportInfo",
    "build_info",
    "display_frame",
    "front_columns",
    "knob_columns",
    "metric_columns",
    "metric_arrays",
    "projection_mask",
]

# the study's objectives: (metric column, +1 maximize / -1 minimize)
DEFAULT_OBJECTIVES: tuple[tuple[str, int], ...] = tuple((m, METRICS[m].direction) for m in OBJECTIVE_METRICS)
METRIC_COLUMNS: tuple[str, ...] = tuple(METRICS)  # in the canonical order, at import (metric_columns reads METRICS)


@dataclass(frozen=True)
class ReportInfo:
    """Everything a report renders.

    Attributes:
        trials: every trial, with ``on_front``, ``feasible`` and ``violation`` columns added.
        objectives: (metric, direction) pairs of the study.
        budgets: the budgets feasibility was judged against.
    """

    trials: pd.DataFrame
    objectives: tuple[tuple[str, int], ...]
    budgets: tuple[Budget, ...]

    @property
    def complete(self) -> pd.DataFrame:
        """Completed trials only."""
        return self.trials[self.trials["state"] == "COMPLETE"]

    @property
    def front(self) -> pd.DataFrame:
        """Pareto-front trials, best mAP first."""
        front = self.trials[self.trials["on_front"]]
        return front.sort_values("map50_95", ascending=False) if "map50_95" in front else front


def front_columns(df: pd.DataFrame) -> list[str]:
    """Columns of a front table: trial, knobs, the headline metrics, feasibility."""
    wanted = ["number", *knob_columns(df), *METRICS.where(lambda m: m.headline), "feasible"]
    return [c for c in wanted if c in df.columns]


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy for tables shown to people: knobs that have no effect on a row are shown as '-'."""
    out = df.copy().astype(object)
    for index, row in df.iterrows():
        for knob in inactive_knobs(row.to_dict()):
            if knob in out.columns:
                out.at[index, knob] = "-"
    return out


TIMED_METRICS: tuple[str, ...] = METRICS.where(lambda m: bool(m.timed))
TIMING_HOST_COLUMNS: tuple[str, ...] = ("host", "cpu", "threads")


def timing_hosts(df: pd.DataFrame) -> pd.DataFrame:
    """The distinct places (host, CPU, threads) where the rows' latencies were timed, with a ``trials`` count;
    rows made before hosts were recorded are left out."""
    columns = [c for c in TIMING_HOST_COLUMNS if c in df.columns]
    if "host" not in columns or df.empty:
        return pd.DataFrame(columns=[*TIMING_HOST_COLUMNS, "trials"])
    known = df[df["host"].fillna("").astype(str) != ""]
    return known.groupby(columns, dropna=False).size().reset_index(name="trials")


def metric_columns(df: pd.DataFrame) -> list[str]:
    """Metric columns present in ``df``, in the canonical order (of METRICS as it is now)."""
    return [c for c in METRICS if c in df.columns]


def knob_columns(df: pd.DataFrame) -> list[str]:
    """Candidate knob columns present in ``df``, in the knobs' order (imgsz and runtime first)."""
    return [c for c in knob_names() if c in df.columns]


def metric_arrays(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each metric column of ``df`` as floats, plus the derived metrics it lacks (size_mb from size_bytes)."""
    columns = {c: df[c].to_numpy(dtype=float) for c in metric_columns(df)}
    for name, spec in METRICS.items():
        if spec.derived and name not in columns and spec.derived[0] in columns:
            columns[name] = columns[spec.derived[0]] * spec.derived[1]
    return columns


def build_info(
    trials: pd.DataFrame,
    *,
    budgets: Sequence[Budget] = (),
    objectives: Sequence[tuple[str, int]] = DEFAULT_OBJECTIVES,
) -> ReportInfo:
    """Mark the Pareto front and budget feasibility on a trial table. The front is over the completed trials,
    or, once a verification ran (a ``verified`` column with a True), over the verified ones: their figures were
    timed in one set of interleaved rounds, the others' each in its own process."""
    df = trials.copy().sort_values("number").reset_index(drop=True)
    for column, _ in objectives:
        if column not in df:
            df[column] = np.nan
    complete = (df["state"] == "COMPLETE").to_numpy()
    if "verified" in df and df["verified"].fillna(False).astype(bool).any():
        complete = complete & df["verified"].fillna(False).astype(bool).to_numpy()
    values = df[[c for c, _ in objectives]].to_numpy(dtype=float)
    on_front = np.zeros(len(df), dtype=bool)
    on_front[complete] = pareto_mask(values[complete], [d for _, d in objectives])
    df["on_front"] = on_front
    columns = metric_arrays(df)
    for budget in budgets:
        columns.setdefault(budget.metric, np.full(len(df), np.nan))
    viol = violations(columns, list(budgets)) if len(df) else np.zeros(0)
    df["violation"] = np.where(complete, viol, np.inf)
    df["feasible"] = complete & (df["violation"] == 0)
    return ReportInfo(trials=df, objectives=tuple(objectives), budgets=tuple(budgets))


def projection_mask(df: pd.DataFrame, axes: Sequence[tuple[str, int]]) -> np.ndarray:
    """Rows of ``df`` that are non-dominated over the (column, direction) ``axes`` alone: the front of a 2D
    projection is its own, not the projection of the front over every objective. Rows with a NaN: never.

    Example:
        >>> df = pd.DataFrame({"map50_95": [0.5, 0.6, 0.4], "size_bytes": [2, 3, 3]})
        >>> projection_mask(df, [("map50_95", 1), ("size_bytes", -1)]).tolist()
        [True, True, False]
    """
    columns = [c for c, _ in axes]
    if df.empty:
        return np.zeros(0, dtype=bool)
    return pareto_mask(df[columns].to_numpy(dtype=float), [d for _, d in axes])
