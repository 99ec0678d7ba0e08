"""Budgets: ``METRIC OP NUMBER`` expressions, and pure feasibility math over a metrics array."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paretodet.errors import BudgetError
from paretodet.objectives import BUDGET_METRICS, METRICS

__all__ = ["BUDGET_METRICS", "Budget", "budget_metrics", "feasible_mask", "parse_budgets", "violations"]

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_PATTERN = re.compile(r"^\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*([-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)\s*$")


def budget_metrics() -> tuple[str, ...]:
    """The metrics a budget or ``select --objective`` may name (flagged ``budget``), as METRICS is now; the
    constant BUDGET_METRICS is taken at import."""
    return METRICS.where(lambda m: m.budget)


@dataclass(frozen=True)
class Budget:
    """One constraint, e.g. ``size_mb <= 4``."""

    metric: str
    op: str
    bound: float

    @classmethod
    def parse(cls, text: str) -> Budget:
        """Parse ``METRIC OP NUMBER`` (OP in <=, >=, <, >).

        Example:
            >>> Budget.parse("size_mb<=4")
            Budget(metric='size_mb', op='<=', bound=4.0)
        """
        if not isinstance(text, str):
            raise BudgetError(f"a budget must be text such as 'size_mb<=4', got {_quote(text)}")
        match = _PATTERN.match(text)
        if not match:
            raise BudgetError(
                f"malformed budget {_quote(text)}: write METRIC OP NUMBER, e.g. 'size_mb<=4' or 'fps>=30'"
            )
        metric, op, number = match.group(1), match.group(2), match.group(3)
        allowed = budget_metrics()
        if metric not in allowed:
            raise BudgetError(f"unknown budget metric '{metric}' in {_quote(text)}: use one of {', '.join(allowed)}")
        bound = float(number)
        if not math.isfinite(bound):
            raise BudgetError(f"budget {_quote(text)}: the bound is too large to be a number: write a smaller one")
        return cls(metric=metric, op=op, bound=bound)

    def __str__(self) -> str:
        bound = int(self.bound) if self.bound.is_integer() else self.bound
        return f"{self.metric}{self.op}{bound!r}"

    def violation(self, values: np.ndarray) -> np.ndarray:
        """How far each value is outside the bound, relative to the bound's size (0 when satisfied, NaN -> inf)."""
        values = np.asarray(values, dtype=np.float64)
        scale = max(abs(self.bound), 1e-12)
        gap = (values - self.bound) if self.op in ("<=", "<") else (self.bound - values)
        ok = _OPS[self.op](values, self.bound)
        out = np.where(ok, 0.0, np.maximum(gap, 0.0) / scale + np.where(gap == 0, 1e-12, 0.0))
        return np.where(np.isnan(values), np.inf, out)


def _quote(text: object, limit: int = 80) -> str:
    """``text`` quoted for a one-line error: as typed when printable, else its repr; cut to ``limit``."""
    shown = f"'{text}'" if isinstance(text, str) and text.isprintable() else repr(text)
    return shown if len(shown) <= limit else f"{shown[: limit - 4]}...'"


def parse_budgets(texts: Sequence[str]) -> list[Budget]:
    """Parse several budget expressions."""
    return [Budget.parse(t) for t in texts]


def violations(columns: dict[str, np.ndarray], budgets: Sequence[Budget]) -> np.ndarray:
    """Per-row sum of relative violations (0 = feasible) given metric columns of equal length."""
    if not budgets:
        lengths = [len(v) for v in columns.values()]
        return np.zeros(lengths[0] if lengths else 0)
    return np.sum([b.violation(columns[b.metric]) for b in budgets], axis=0)


def feasible_mask(columns: dict[str, np.ndarray], budgets: Sequence[Budget]) -> np.ndarray:
    """Boolean mask of rows that meet every budget."""
    return violations(columns, budgets) == 0
