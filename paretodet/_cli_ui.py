"""The command line's terminal side: progress bars on stderr, and stdout kept for JSON."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from paretodet.search import TrialEvent

__all__ = [
    "err_console",
    "image_bar",
    "log_storage_events",
    "print_json",
    "quiet_third_party_logs",
    "stage_bar",
    "stdout_reserved",
    "trial_line",
    "trial_bar",
]


def print_json(data: Any) -> None:
    """``data`` as indented strict JSON on stdout: undefined numbers (NaN, infinities) as ``null``, values JSON
    cannot hold as their ``str``."""
    from paretodet.base import strict_json

    sys.stdout.write(strict_json(data) + "\n")


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _progress() -> Any:
    """A transient rich progress display on stderr: description, bar, done/total, elapsed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
        transient=True,
    )


@contextmanager
def image_bar(label: str) -> Iterator[Any]:
    """Progress bars on stderr; yields ``(on_image, on_epoch)`` callbacks, each ``(done, total)``."""
    with _progress() as progress:
        task = progress.add_task(label, total=None)

        def on_image(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield on_image, epoch_task(progress)


@contextmanager
def stage_bar() -> Iterator[Any]:
    """One bar on stderr for work in stages; yields ``(on_stage(text), on_progress(done, total))``: a new stage
    names the bar and resets it."""
    with _progress() as progress:
        task = progress.add_task("starting", total=None)

        def on_stage(text: str) -> None:
            progress.reset(task, total=None, description=text)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield on_stage, on_progress


def epoch_task(progress: Any) -> Any:
    """An ``on_epoch(done, total)`` callback that shows fine-tuning epochs as a second bar, once they start."""
    task: list[Any] = []

    def on_epoch(done: int, total: int) -> None:
        if not task:
            task.append(progress.add_task("fine-tuning epochs", total=total))
        elif done == 1:
            progress.reset(task[0], total=total)
        progress.update(task[0], completed=done, total=total)

    return on_epoch


@contextmanager
def stdout_reserved(active: bool) -> Iterator[None]:
    """With ``--json``, send everything else that would reach stdout (Ultralytics' log included) to stderr."""
    if not active:
        yield
        return
    import contextlib

    moved = []
    for handler in logging.getLogger("ultralytics").handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.__stdout__):
            moved.append((handler, handler.setStream(sys.stderr)))
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for handler, stream in moved:
            handler.setStream(stream)


def trial_line(event: TrialEvent) -> str:
    """One plain line about a finished trial, for logs that are not a terminal: number, state, config, metrics,
    wall time, cache hits, progress."""
    from paretodet.reports import config_summary

    parts = [f"trial {event.number} {event.state}", config_summary(event.candidate) if event.candidate else ""]
    metrics = event.metrics or {}
    if event.state == "COMPLETE" and metrics:
        nan = float("nan")
        figures = f"mAP50-95 {metrics.get('map50_95', nan):.4f}, latency {metrics.get('latency_ms', nan):.2f} ms"
        size = metrics.get("size_bytes")
        parts.append(figures + (f", size {size / 1e6:.2f} MB" if isinstance(size, (int, float)) else ""))
    if event.error:
        parts.append(f"failed: {event.error}")
    if event.duplicate_of is not None:
        parts.append(f"same config as trial {event.duplicate_of}")
    if event.stopped:
        parts.append(event.stopped)
    if event.wall_s is not None:
        parts.append(f"{event.wall_s:.0f} s")
    parts.append(f"cache hits: {','.join(event.cache_hits) or 'none'}")
    parts.append(f"{event.done}/{event.total if event.total is not None else '-'} done, front {event.front_size}")
    return " | ".join(p for p in parts if p)


@contextmanager
def trial_bar(total_label: str) -> Iterator[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = err_console()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(total_label, total=None)
        on_epoch = epoch_task(progress)

        def on_trial(event: TrialEvent) -> None:
            progress.update(
                task, completed=event.done, total=event.total, description=f"trials (front: {event.front_size})"
            )
            for repair in event.cache_repairs:
                console.print(f"[yellow]trial {event.number}: cache: damaged entry {repair}[/yellow]", highlight=False)
            if not console.is_terminal and (event.state != "PRUNED" or event.stopped):  # nohup, a scheduler
                console.print(trial_line(event), highlight=False, soft_wrap=True)
            elif event.stopped:
                console.print(f"[dim]trial {event.number}: {event.stopped}[/dim]", highlight=False)
            elif event.state == "FAIL":
                console.print(f"[red]trial {event.number} failed:[/red] {event.error}")
            elif event.duplicate_of is not None:
                reused = "reused its result" if event.state == "COMPLETE" else "sampling again"
                console.print(f"[dim]trial {event.number}: same config as trial {event.duplicate_of}, {reused}[/dim]")

        yield on_trial, on_epoch


class _DropRecords(logging.Filter):
    """Drops every record of the logger it is attached to (a third-party library's chatter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


QUIET_LOGGERS = ("ultralytics",)  # third-party loggers that write to the terminal themselves (own handlers)


def quiet_third_party_logs() -> None:
    """Keep third-party libraries' log lines off the terminal for this process, before they are imported.

    Ultralytics logs to its own stdout handler from its import on (on a fresh machine: "Creating new
    Ultralytics Settings ... file"); a filter on its logger survives the handler it installs at import. What
    those lines would say reaches the user as paretodet's own errors and notes instead."""
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropRecords) for f in logger.filters):
            logger.addFilter(_DropRecords())


def log_storage_events() -> None:
    """Storage outages and recoveries (logger ``paretodet.storage``) as one line each on stderr."""

    class StderrHandler(logging.StreamHandler):
        """Writes to whatever ``sys.stderr`` is when a record comes (tests swap it)."""

        @property
        def stream(self) -> object:
            return sys.stderr

        @stream.setter
        def stream(self, _value: object) -> None:
            pass

    logger = logging.getLogger("paretodet.storage")
    if not any(isinstance(h, StderrHandler) or getattr(h, "paretodet_cli", False) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.paretodet_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
