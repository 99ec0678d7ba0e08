"""Where a study's time went: its time budget and the time used, seconds by technique, and the trials early
stopping stopped with the time they saved."""

from __future__ import annotations

from typing import Any

import pandas as pd

from paretodet.base import format_duration
from paretodet.spaces import knob_names, techniques_used

__all__ = ["stopped_lines", "time_lines", "technique_label"]


def technique_label(row: pd.Series) -> str:
    """``quant+prune`` for a trial row by the techniques its knobs use (``none`` for the original model)."""
    values = {k: row[k] for k in knob_names() if k in row and pd.notna(row[k])}
    return "+".join(sorted(techniques_used(values))) or "none"


def time_lines(trials: pd.DataFrame, meta: dict[str, Any]) -> list[str]:
    """The budget and the time used (when the study had a clock), then the trials' seconds by technique.

    Example:
        >>> time_lines(trials, {"time_budget_s": 600, "time_used_s": 540})[0]  # doctest: +SKIP
        'time budget 10m00s: the search used 9m00s (a tenth is kept for the verification of the front)'
    """
    lines = []
    budget, used = meta.get("time_budget_s"), meta.get("time_used_s")
    if budget:
        lines.append(
            f"time budget {format_duration(budget)}: the search used {format_duration(used or 0)} (a tenth of the "
            "budget is kept for the verification of the front)"
        )
    elif used:
        lines.append(f"time used by the search: {format_duration(used)} (no time budget)")
    if "wall_s" not in trials:
        return lines
    spent = trials[trials["wall_s"].notna() & (trials.get("stop_kind") != "duplicate")]
    if len(spent):
        by = spent.assign(technique=spent.apply(technique_label, axis=1)).groupby("technique")["wall_s"]
        parts = [
            f"{name} {format_duration(total)} ({count})"
            for name, total, count in zip(by.sum().index, by.sum().values, by.count().values)
        ]
        lines.append("time by technique (trials): " + ", ".join(parts))
    return lines


def stopped_lines(trials: pd.DataFrame) -> list[str]:
    """How many trials early stopping stopped, the training time they saved, and one line per trial."""
    if "stop_kind" not in trials:
        return []
    stopped = trials[trials["stop_kind"].isin(["rung", "bound"])]
    if not len(stopped):
        return []
    rungs, bound = int((stopped["stop_kind"] == "rung").sum()), int((stopped["stop_kind"] == "bound").sum())
    saved = float(stopped["saved_s"].fillna(0).sum())
    lines = [
        f"stopped early: {len(stopped)} trial{'s' if len(stopped) != 1 else ''} ({rungs} at rungs, {bound} before "
        f"training), about {format_duration(saved)} of training saved"
    ]
    lines += [f"trial {int(r['number'])} {r['stop_reason']}" for _, r in stopped.iterrows()]
    return lines
