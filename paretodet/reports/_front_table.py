"""The readable front: one line per Pareto-front trial with a short config summary, the headline metrics in
their units, feasibility under the study's budgets and the ``paretodet apply`` command that rebuilds it.

Step 1 (pure pandas, tested); :mod:`paretodet.reports._tables` renders it as HTML and Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from paretodet.objectives import METRICS
from paretodet.reports._analysis import technique_combo
from paretodet.reports._describe import apply_command, config_summary, row_knobs
from paretodet.reports._info import ReportInfo, metric_arrays
from paretodet.spaces import inactive_knobs, knob_defaults

__all__ = ["FRONT_METRICS", "front_metrics", "front_rows"]


def front_metrics() -> tuple[tuple[str, str], ...]:
    """(column of :func:`front_rows`, header with its unit) of each metric flagged ``front``, as METRICS is now.

    Example:
        >>> front_metrics()[2]
        ('latency_ms', 'latency (ms)')
    """
    return tuple((name, METRICS[name].header) for name in METRICS.where(lambda m: m.front))


FRONT_METRICS: tuple[tuple[str, str], ...] = front_metrics()  # at import; the tables call front_metrics()


def front_rows(info: ReportInfo, *, meta: Mapping[str, Any] | None = None, knee: int = -1) -> pd.DataFrame:
    """One row per front trial, best mAP50-95 first.

    Columns: ``number``, ``knee`` (the front's balanced trade-off), ``combo`` (technique combination),
    ``config`` (short summary), ``full_config`` (every knob that acts, with its value), the
    :func:`front_metrics` columns (NaN where not measured), ``feasible`` and ``over`` (the budgets it
    misses), ``apply`` (the command that rebuilds it).

    Example:
        >>> front_rows(build_info(trials), meta={"model": "m.pt", "data": "d.yaml"})  # doctest: +SKIP
    """
    front = info.front
    metrics = metric_arrays(front)
    shown = [m for m, _ in front_metrics()]
    over: list[list[str]] = [[] for _ in range(len(front))]
    for budget in info.budgets:
        values = metrics.get(budget.metric, np.full(len(front), np.nan))
        for i, missed in enumerate(budget.violation(values) > 0):
            if missed:
                over[i].append(str(budget))
    rows = []
    for i, (_, row) in enumerate(front.iterrows()):
        number = int(row["number"])
        rows.append(
            {
                "number": number,
                "knee": number == knee,
                "combo": technique_combo(row),
                "config": config_summary(row),
                "full_config": _active(row),
                **{m: float(metrics[m][i]) if m in metrics else float("nan") for m in shown},
                "feasible": bool(row.get("feasible", True)),
                "over": over[i],
                "apply": apply_command(row, meta=meta),
            }
        )
    columns = ["number", "knee", "combo", "config", "full_config", *shown]
    return pd.DataFrame(rows, columns=[*columns, "feasible", "over", "apply"])


def _active(row: pd.Series) -> dict[str, Any]:
    """Every knob that acts for this trial, with its value (defaults included)."""
    values = {**knob_defaults(), **row_knobs(row)}
    inactive = inactive_knobs(values)
    return {k: v for k, v in values.items() if k not in inactive}
