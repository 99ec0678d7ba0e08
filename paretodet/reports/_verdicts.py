"""The technique table with its written verdicts: per technique, what it bought and cost against its baseline,
what its mitigation recovered, and which row gives the best trade-off for the study's objectives.

Every number in a verdict is read from a :class:`~paretodet.reports._techniques.TechniqueRow`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from paretodet.compress import runtime_label
from paretodet.objectives import METRICS, format_metric
from paretodet.reports._budget import Budget
from paretodet.reports._describe import METHOD_NAMES
from paretodet.reports._info import ReportInfo
from paretodet.reports._techniques import (
    BEST_COMBINATION,
    NOT_MEASURED,
    ORIGINAL,
    TechniqueRow,
    front_tradeoff,
    technique_rows,
)

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


Fix = tuple[TechniqueRow, str, Callable[[TechniqueRow], str]]  # a mitigation row, its word, its details


def _family(base: TechniqueRow, label: str, fixes: list[Fix], original: int | None) -> str:
    """One verdict: a technique alone (``base``), then what each of its mitigations did."""
    if base.measured:
        text = f"{label}: {effect_text(base)} ({_where(base, original)})"
    else:
        text = f"{base.name[:1].upper()}{base.name[1:]}: {NOT_MEASURED}"
    for fix, word, details in fixes:
        if not fix.measured:
            text += f"; {fix.name}: {NOT_MEASURED}"
        elif base.measured:
            text += f"; {word} ({details(fix)}) {_recovered(base, fix, original)}"
        else:
            text += f"; {fix.name} ({details(fix)}): {effect_text(fix)} ({_where(fix, original)})"
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
        lines.append(f"Original model: {NOT_MEASURED}, so the rows show absolute figures.")
    ref = original.trial
    fp16 = by["FP16"]
    lines.append(f"FP16: {effect_text(fp16)} ({_where(fp16, ref)})." if fp16.measured else f"FP16: {NOT_MEASURED}.")
    int8_fixes: list[Fix] = [
        (by["INT8 + mixed precision"], "mixed precision", _blocks),
        (by["INT8 + QAT"], "QAT", lambda r: f"{r.knobs['quant.qat_epochs']} ep"),
    ]
    lines.append(_family(by["INT8 PTQ"], "INT8 PTQ", int8_fixes, ref))
    one_shot = by["pruning one-shot"]
    prune_fixes: list[Fix] = [
        (by["pruning + fine-tuning recovery"], "fine-tuning", lambda r: f"{r.knobs['prune.finetune_epochs']} ep"),
        (
            by["pruning + KD recovery"],
            "KD recovery",
            lambda r: f"{r.knobs['prune.finetune_epochs']} ep, alpha {r.knobs['distill.alpha']:g}",
        ),
    ]
    lines.append(_family(one_shot, f"Pruning one-shot ({_pruning(one_shot)})", prune_fixes, ref))
    student = by["student (no KD)"]
    kd: list[Fix] = [(by["student + KD"], "KD", lambda r: f"alpha {r.knobs['distill.alpha']:g}, {_student(r)}")]
    lines.append(_family(student, f"Student without KD ({_student(student)})", kd, ref))
    best = by[BEST_COMBINATION]
    if best.measured:
        lines.append(f"Best combination ({best.combo}: {best.config}): {effect_text(best)} ({_where(best, ref)}).")
    else:
        lines.append(f"Best combination: {best.note}.")
    lines += _tradeoff(rows, info)
    return lines


def _blocks(row: TechniqueRow) -> str:
    n = row.knobs["quant.fp_layers"]
    return f"{n} FP32 block{'s' * (n != 1)}"


def _pruning(row: TechniqueRow) -> str:
    if not row.measured:
        return ""
    method = str(row.knobs["prune.method"])
    return f"{METHOD_NAMES.get(method, method)}, ratio {row.knobs['prune.ratio']:g}"


def _student(row: TechniqueRow) -> str:
    k = row.knobs
    if not k:
        return ""
    if k["distill.student_yaml"]:
        return f"student {k['distill.student_yaml']}"
    return f"width {k['distill.student_width']:g}, depth {k['distill.student_depth']:g}"


def _tradeoff(rows: list[TechniqueRow], info: ReportInfo) -> list[str]:
    """Which row gives the best trade-off for the study's objectives, and which fits the budgets."""
    front, knee = front_tradeoff(rows, info.objectives)
    lines = []
    goals = ", ".join(
        f"{METRICS[m].short or METRICS[m].label if m in METRICS else m} {'higher' if d > 0 else 'lower'}"
        for m, d in info.objectives
    )
    if knee is not None:
        trial = next(f" (trial {r.trial})" for r in rows if r.name == knee)
        lines.append(
            f"Best trade-off for this study's objectives ({goals}): {knee}{trial}, the row closest to the ideal corner "
            f"with each objective scaled over the rows above; rows no other row beats on every objective: "
            f"{', '.join(front)}."
        )
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
