"""The technique table with its written verdicts: per technique, what it bought and cost against its baseline,
what its mitigation recovered, and which row gives the best trade-off for the study's objectives.

Every number in a verdict is read from a :class:`~paretodet.reports._techniques.TechniqueRow`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from paretodet.objectives import format_metric
from paretodet.reports._analysis import technique_combo
from paretodet.reports._budget import Budget
from paretodet.reports._describe import config_summary
from paretodet.reports._info import ReportInfo
from paretodet.reports._recommend import RULE, recommend
from paretodet.reports._techniques import (
    BEST_COMBINATION,
    NOT_MEASURED,
    ORIGINAL,
    TechniqueRow,
    front_tradeoff,
    technique_rows,
)
from paretodet.runtimes import runtime_label
from paretodet.spaces import VARIANTS

__all__ = ["TechniqueTable", "effect_text", "technique_table"]


@dataclass(frozen=True)
class TechniqueTable:
    """The rows (the original model first, the best combination last) and the verdict lines."""

    rows: list[TechniqueRow]
    verdicts: list[str]

    def row(self, name: str) -> TechniqueRow:
        """The row called ``name``."""
        return next(r for r in self.rows if r.name == name)


def technique_table(info: ReportInfo) -> TechniqueTable:
    """The technique table of a report and its verdicts.

    Example:
        >>> table = technique_table(build_info(trials))  # doctest: +SKIP
        >>> table.verdicts[1]  # doctest: +SKIP
        'FP16: 2.0x smaller, 1.1x faster, +0.0 mAP50-95 points (trial 2).'
    """
    rows = technique_rows(info)
    return TechniqueTable(rows=rows, verdicts=_verdicts(rows, info))


def _size(x: float) -> str:
    return f"{x:.1f}x smaller" if x >= 1 else f"{1 / x:.1f}x larger"


def _speed(x: float) -> str:
    return f"{x:.1f}x faster" if x >= 1 else f"{1 / x:.1f}x slower"


def effect_text(row: TechniqueRow) -> str:
    """What a row bought and cost against its baseline (absolute figures when it has none).

    Example:
        >>> effect_text(row)  # doctest: +SKIP
        '3.5x smaller, 1.4x faster, -1.0 mAP50-95 points'
    """
    if row.baseline is None or not math.isfinite(row.d_map50_95):
        m = row.metrics
        return ", ".join(
            format_metric(k, m[k]) if k != "map50_95" else f"mAP50-95 {format_metric(k, m[k])}"
            for k in ("size_bytes", "latency_ms", "map50_95")
        )
    parts = []
    if math.isfinite(row.size_x):
        parts.append(_size(row.size_x))
    if math.isfinite(row.speed_x):
        parts.append(_speed(row.speed_x))
    parts.append(f"{row.d_map50_95:+.1f} mAP50-95 points")
    return ", ".join(parts)


def _where(row: TechniqueRow, original: int | None) -> str:
    text = f"trial {row.trial}"
    if row.baseline is not None and row.baseline not in (row.trial, original):
        text += f" vs trial {row.baseline} at {row.imgsz} px, {runtime_label(str(row.runtime))}"
    return text


def _recovered(base: TechniqueRow, fix: TechniqueRow, original: int | None) -> str:
    """How much of ``base``'s mAP loss ``fix`` won back, in points (against each one's own baseline)."""
    if math.isfinite(base.d_map50_95) and math.isfinite(fix.d_map50_95):
        gain, lost = fix.d_map50_95 - base.d_map50_95, -base.d_map50_95
    else:
        gain, lost = 100 * (fix.metrics["map50_95"] - base.metrics["map50_95"]), float("nan")
    if lost > 0:
        text = f"recovered {gain:.1f} of the {lost:.1f} points" if gain >= 0 else f"lost {-gain:.1f} more points"
    else:
        text = f"changed mAP50-95 by {gain:+.1f} points"
    costs = [
        _size(fix.size_x) if math.isfinite(fix.size_x) else "",
        _speed(fix.speed_x) if math.isfinite(fix.speed_x) else "",
    ]
    costs = [c for c in costs if c]
    return text + (f", ending {', '.join(costs)}" if costs else "") + f" ({_where(fix, original)})"


def _details(row: TechniqueRow) -> str:
    """The variant's words on the row's own knobs ('' for a row without a trial)."""
    return VARIANTS[row.name].details(row.knobs) if row.measured and row.name in VARIANTS else ""


def _variant_line(base: TechniqueRow, fixes: list[TechniqueRow], original: int | None) -> str:
    """One verdict: a technique variant alone (``base``), then what each of its mitigations did."""
    if base.measured:
        label = VARIANTS[base.name].verdict or base.name
        details = _details(base)
        text = f"{label}{f' ({details})' if details else ''}: {effect_text(base)} ({_where(base, original)})"
    else:
        text = f"{base.name[:1].upper()}{base.name[1:]}: {base.note or NOT_MEASURED}"
    for fix in fixes:
        word = VARIANTS[fix.name].verdict or fix.name
        if not fix.measured:
            text += f"; {fix.name}: {fix.note or NOT_MEASURED}"
        elif base.measured:
            text += f"; {word} ({_details(fix)}) {_recovered(base, fix, original)}"
        else:
            text += f"; {fix.name} ({_details(fix)}): {effect_text(fix)} ({_where(fix, original)})"
    return text + "."


def _verdicts(rows: list[TechniqueRow], info: ReportInfo) -> list[str]:
    by = {r.name: r for r in rows}
    original = by[ORIGINAL]
    lines = []
    if original.measured:
        m = original.metrics
        runtime = runtime_label(str(original.runtime))
        lines.append(
            f"Original model (trial {original.trial}, {original.imgsz} px, {runtime}): "
            f"{format_metric('size_bytes', m['size_bytes'])}, "
            f"{format_metric('latency_ms', m['latency_ms'])} ({format_metric('fps', m['fps'])} FPS), mAP50-95 "
            f"{format_metric('map50_95', m['map50_95'])}. Each row below is compared with the best unmodified trial "
            "of its own input size and runtime; mAP changes are in points (0.01 mAP = 1 point)."
        )
    else:
        lines.append(f"Original model: {original.note or NOT_MEASURED}, so the rows show absolute figures.")
    for variant in VARIANTS.values():
        if variant.mitigates is None:
            fixes = [by[v.name] for v in VARIANTS.values() if v.mitigates == variant.name]
            lines.append(_variant_line(by[variant.name], fixes, original.trial))
    best = by[BEST_COMBINATION]
    if best.measured:
        lines.append(
            f"Best combination ({best.combo}: {best.config}): {effect_text(best)} ({_where(best, original.trial)})."
        )
    else:
        lines.append(f"Best combination: {best.note}.")
    lines += _tradeoff(rows, info)
    return lines


def _tradeoff(rows: list[TechniqueRow], info: ReportInfo) -> list[str]:
    """Which row gives the best trade-off for the study's objectives, and which fits the budgets."""
    front, _ = front_tradeoff(rows, info.objectives)
    lines = []
    chosen = recommend(info)
    if chosen.trial is not None:
        row = info.trials[info.trials["number"] == chosen.trial].iloc[0]
        lines.append(
            f"Recommended: trial {chosen.trial} ({technique_combo(row)}: {config_summary(row)}), "
            f"{chosen.reason}; the rule: {RULE}."
        )
    if front:
        lines.append(f"Rows above that no other row beats on every objective: {', '.join(front)}.")
    if info.budgets:
        lines.append(_within_budgets(rows, info.budgets))
    return lines


def _within_budgets(rows: list[TechniqueRow], budgets: tuple[Budget, ...]) -> str:
    feasible = [r for r in rows if r.measured and r.feasible]
    names = ", ".join(str(b) for b in budgets)
    if not feasible:
        return f"No row above meets the budgets {names}."
    best = max(feasible, key=lambda r: r.metrics["map50_95"])
    return (
        f"Within the budgets {names}: {best.name} keeps the most accuracy (mAP50-95 "
        f"{format_metric('map50_95', best.metrics['map50_95'])}, trial {best.trial})."
    )
