"""The readable front: one line per Pareto-front trial with a short config summary, the headline metrics in
their units, feasibility under the study's budgets and the ``paretodet apply`` command that rebuilds it.

Step 1 (pure pandas, tested); :mod:`paretodet.reports._tables` renders it as HTML and Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from paretodet.objectives import METRICS, paired_change_files
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

    Columns: ``number``, ``knee`` (the report's one recommendation), ``combo`` (technique combination),
    ``config`` (short summary), ``full_config`` (every knob that acts, with its value), the
    :func:`front_metrics` columns (NaN where not measured) and their 95% intervals (``<metric>_interval``,
    None where there is none), ``indistinct`` (the objectives on which the next row cannot be told from this
    one), ``feasible`` and ``over`` (the budgets it misses), ``apply`` (the command that rebuilds it).

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
    indistinct = indistinct_neighbours(front, [m for m, _ in info.objectives])
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
                **{f"{m}_interval": _interval(row, m) for m in shown},
                "indistinct": indistinct[i],
                "feasible": bool(row.get("feasible", True)),
                "over": over[i],
                "apply": apply_command(row, meta=meta),
            }
        )
    columns = ["number", "knee", "combo", "config", "full_config", *shown, *(f"{m}_interval" for m in shown)]
    return pd.DataFrame(rows, columns=[*columns, "indistinct", "feasible", "over", "apply"])


def _interval(row: pd.Series, metric: str) -> tuple[float, float] | None:
    """The 95% interval of ``metric`` on ``row`` (None when the metric has none or the row lacks it)."""
    spec = METRICS.get(metric)
    if spec is None or spec.interval is None:
        return None
    try:
        low, high = (float(row.get(c, float("nan"))) for c in spec.interval)
    except (TypeError, ValueError):
        return None
    return (low, high) if np.isfinite(low) and np.isfinite(high) else None


def _apart(a: pd.Series, b: pd.Series, metric: str) -> bool:
    """Whether ``a`` and ``b`` can be told apart on ``metric``: for mAP50-95, the paired 95% interval of their
    difference on the same images excludes 0 (else their own intervals do not overlap); for latency and FPS,
    their intervals do not overlap; a metric without intervals (bytes on disk) is exact: apart when the values
    differ."""
    if metric == "fps":  # FPS is 1000 / latency: the latency's intervals decide
        return _apart(a, b, "latency_ms")
    if metric == "map50_95":  # the paired interval of the change, where both were scored on the same images
        files = [row.get("evals_file") for row in (a, b)]
        change = paired_change_files(*files) if all(isinstance(f, str) and f for f in files) else None
        if change is not None:
            return bool(change["separable"])
    ia, ib = _interval(a, metric), _interval(b, metric)
    if ia is None or ib is None:
        spec = METRICS.get(metric)
        if spec is not None and spec.interval is not None:
            return True  # no interval recorded: nothing says they are alike
        return float(a.get(metric, np.nan)) != float(b.get(metric, np.nan))
    return ia[1] < ib[0] or ib[1] < ia[0]


def indistinct_neighbours(front: pd.DataFrame, objectives: list[str]) -> list[list[str]]:
    """For each front row (best mAP first), the objectives on which it cannot be told from the next row: the
    neighbours the intervals do not separate on any objective get every objective listed.

    Example:
        >>> indistinct_neighbours(info.front, ["map50_95", "fps", "size_bytes"])  # doctest: +SKIP
        [['map50_95', 'fps'], [], []]
    """
    rows = [r for _, r in front.iterrows()]
    out: list[list[str]] = []
    for i, row in enumerate(rows):
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        out.append([] if nxt is None else [m for m in objectives if not _apart(row, nxt, m)])
    return out


def _active(row: pd.Series) -> dict[str, Any]:
    """Every knob that acts for this trial, with its value (defaults included)."""
    values = {**knob_defaults(), **row_knobs(row)}
    inactive = inactive_knobs(values)
    return {k: v for k, v in values.items() if k not in inactive}
