"""What several CLI commands share: ``--set KEY=VALUE`` items, and ``--ignore-class-names`` with the warning a
model that names no classes gets (on stderr, so ``--json`` output stays clean)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from paretodet._cli_ui import err_console

if TYPE_CHECKING:
    from paretodet.search import StudySummary

__all__ = [
    "EARLY_STOP",
    "IGNORE_CLASS_NAMES",
    "TIME_BUDGET",
    "TRIALS",
    "parse_sets",
    "search_end_lines",
    "warn_unchecked_classes",
]

# search: when it stops (a trial count, a time budget, or both: the first reached) and whether training stops early
TRIALS = typer.Option(
    None, "--trials", help="Target number of completed trials (default 20; with --time-budget alone: no count)."
)
TIME_BUDGET = typer.Option(
    None,
    "--time-budget",
    help="Wall time the search may take, e.g. 2h, 45m, 90s or 1h30m (a tenth is kept for the front's "
    "verification); no trial starts that would overrun it.",
)
EARLY_STOP = typer.Option(
    True,
    "--early-stop/--no-early-stop",
    help="Stop training a candidate that cannot reach the front (at rungs by non-dominated rank, or before "
    "training by an optimistic bound).",
)

# evaluate, apply, search and compare: a model whose class names differ from the data's is refused unless this
IGNORE_CLASS_NAMES = typer.Option(
    False,
    "--ignore-class-names",
    help="Score (and train) a model whose class names differ from the data's by class id anyway; recorded "
    "as class_names_check: ignored.",
)


def parse_sets(sets: list[str]) -> dict[str, str]:
    """``--set KEY=VALUE`` options as a dict (ConfigError in one line for an item without ``=``)."""
    from paretodet.errors import ConfigError

    values: dict[str, str] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set '{item}' is not KEY=VALUE (e.g. --set quant.precision=fp16)")
        values[key.strip()] = value
    return values


def search_end_lines(summary: StudySummary) -> list[str]:
    """What a finished ``search`` says about its time: the budget and the time used, and the trials early
    stopping stopped."""
    from paretodet.base import format_duration

    lines = []
    if summary.time_budget_s is not None:
        used = format_duration(summary.time_used_s)
        lines.append(f"time budget {format_duration(summary.time_budget_s)}: the search used {used}")
    stopped = summary.stopped
    if stopped:
        lines.append(f"{stopped} trial{'s' if stopped != 1 else ''} stopped early (see the report)")
    return lines


def warn_unchecked_classes(status: str, *, model: str, data: Path) -> None:
    """One warning line on stderr when ``status`` (``Metrics.class_names_check``) says the model's class names
    could not be checked against the data's."""
    if status == "unchecked":
        err_console().print(
            f"warning: {model} names no classes, so they could not be checked: its class ids were scored as "
            f"the classes of {data}",
            highlight=False,
            soft_wrap=True,
        )
