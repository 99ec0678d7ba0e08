"""Select: the best trial that meets the user's budgets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from paretodet.errors import BudgetError
from paretodet.objectives import METRICS
from paretodet.reports._budget import Budget, budget_metrics
from paretodet.reports._info import build_info, metric_arrays, metric_columns
from paretodet.spaces import Candidate, knob_defaults

__all__ = ["Selection", "pessimistic", "select_best"]


@dataclass(frozen=True)
class Selection:
    """The outcome of a selection.

    Attributes:
        best: the chosen trial's row (None when nothing is feasible).
        closest: when nothing is feasible, the trial that misses the budgets by the least.
        feasible_count: how many completed trials meet every budget.
    """

    best: dict[str, Any] | None
    closest: dict[str, Any] | None
    feasible_count: int
    objective: str
    budgets: tuple[Budget, ...]

    def candidate(self) -> dict[str, Any]:
        """The chosen trial's full config (dotted keys), typed as the knobs are (a table of trials with
        missing knobs holds ints as floats: 320.0 -> 320)."""
        defaults = knob_defaults()
        row = self.best or {}
        values = {}
        for key, default in defaults.items():
            value = _plain(row.get(key))
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            if isinstance(default, bool) and not isinstance(value, bool):
                value = bool(value)
            elif isinstance(default, int) and isinstance(value, float) and value.is_integer():
                value = int(value)
            values[key] = value
        return Candidate.from_dict(values).to_dict()

    def metrics(self) -> dict[str, Any]:
        """The chosen trial's metrics."""
        row = self.best or {}
        return {k: _plain(row[k]) for k in self._metrics() if k in row}

    def _metrics(self) -> list[str]:
        return metric_columns(pd.DataFrame([self.best or {}]))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def pessimistic(trials: pd.DataFrame, budgets: Sequence[Budget]) -> pd.DataFrame:
    """``trials`` with each budget's metric at the pessimistic end of its 95% interval (mAP at its low end,
    latency at its high end, FPS at 1000 / the latency's high end); a trial without the interval keeps NaN
    there, so it cannot be shown to meet that budget.

    Example:
        >>> pessimistic(df, [Budget.parse("map50_95>=0.5")])["map50_95"]  # doctest: +SKIP
    """
    out = trials.copy()
    for metric in {b.metric for b in budgets}:
        spec = METRICS.get(metric)
        source = "latency_ms" if metric == "fps" else metric
        bounds = METRICS[source].interval if source in METRICS else None
        if spec is None or bounds is None:
            continue  # exact (bytes, parameters): the figure itself
        low, high = (out[c].astype(float) if c in out else pd.Series(np.nan, index=out.index) for c in bounds)
        if metric == "fps":
            out[metric] = 1000.0 / high
        else:
            out[metric] = low if spec.direction > 0 else high
    return out


def select_best(
    trials: pd.DataFrame, budgets: Sequence[Budget], *, objective: str = "map50_95", confident: bool = False
) -> Selection:
    """Pick the completed trial with the best ``objective`` among those meeting every budget (``confident``:
    at the pessimistic end of each budget metric's 95% interval, see :func:`pessimistic`).

    Ties break towards the smaller artifact, then the lower latency.

    Example:
        >>> sel = select_best(df, [Budget.parse("size_mb<=4")])  # doctest: +SKIP
    """
    allowed = budget_metrics()
    if objective not in allowed:
        raise BudgetError(f"unknown objective '{objective}': use one of {', '.join(allowed)}")
    info = build_info(trials, budgets=budgets)
    if confident:
        judged = build_info(pessimistic(trials, budgets), budgets=budgets).trials.set_index("number")["feasible"]
        info.trials["feasible"] = info.trials["number"].map(judged).fillna(False).astype(bool)
    done = info.complete.copy()
    for name, values in metric_arrays(done).items():
        if name not in done:
            done[name] = values  # derived metrics (size_mb)
    if objective not in done and not done.empty:
        raise BudgetError(f"no trial recorded '{objective}': pick another objective")
    feasible = done[done["feasible"]]
    ascending = METRICS[objective].direction < 0
    if not feasible.empty:
        order = feasible.sort_values([objective, "size_bytes", "latency_ms"], ascending=[ascending, True, True])
        return Selection(
            best=order.iloc[0].to_dict(),
            closest=None,
            feasible_count=len(feasible),
            objective=objective,
            budgets=tuple(budgets),
        )
    closest = done.sort_values("violation").iloc[0].to_dict() if not done.empty else None
    return Selection(best=None, closest=closest, feasible_count=0, objective=objective, budgets=tuple(budgets))
