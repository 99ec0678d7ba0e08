"""Reports: Pareto and budget math (pure numpy), figures, files, and selection under budgets."""

from __future__ import annotations

from paretodet.reports._budget import BUDGET_METRICS, Budget, feasible_mask, parse_budgets, violations
from paretodet.reports._info import ReportInfo, build_info, knob_columns, metric_columns
from paretodet.reports._pareto import pareto_mask
from paretodet.reports._select import Selection, select_best
from paretodet.reports._write import front_markdown, write_report

__all__ = [
    "BUDGET_METRICS",
    "Budget",
    "ReportInfo",
    "Selection",
    "build_info",
    "feasible_mask",
    "front_markdown",
    "knob_columns",
    "metric_columns",
    "pareto_mask",
    "parse_budgets",
    "select_best",
    "violations",
    "write_report",
]
