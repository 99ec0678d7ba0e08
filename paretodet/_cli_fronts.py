"""The CLI's commands about trustworthy fronts: re-timing on a target (`measure`), verification (`verify`) and
side-by-side comparison (`compare`); registered on the main app by :func:`register_front_commands`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from paretodet._cli_options import IGNORE_CLASS_NAMES, search_end_lines
from paretodet._cli_ui import err_console, print_json, stage_bar, stdout_reserved

if TYPE_CHECKING:
    from paretodet.search import StudySummary

__all__ = ["finish_search", "register_front_commands", "run_verify"]


def measure(
    workdir: Path = typer.Argument(..., help="A search work dir (copied here, or shared)."),
    label: str = typer.Option(..., "--label", help="Name of this machine's figures, e.g. jetson-orin."),
    storage: str | None = typer.Option(None, "--storage", help="The study's storage URL (default: the work dir's)."),
    study: str | None = typer.Option(None, "--study", help="Study name (with --storage)."),
    front_only: bool = typer.Option(False, "--front-only", help="Re-time only the Pareto front's artifacts."),
    threads: int | None = typer.Option(None, "--threads", help="Runtime threads (default: the study's)."),
    rounds: int = typer.Option(10, "--rounds", help="Interleaved rounds (every artifact timed once per round)."),
) -> None:
    """Re-time built artifacts on this machine (the deployment target) in interleaved rounds; store them under
    --label.

    Needs only the artifacts' runtime (onnxruntime), not the training stack. Use them with
    'paretodet report WORKDIR --latency-from LABEL' and 'paretodet select ... --latency-from LABEL'.
    """
    from paretodet.objectives import RoundSettings
    from paretodet.search import measure_study

    with stage_bar() as (on_stage, on_round):
        on_stage("timing in interleaved rounds")
        summary = measure_study(
            workdir,
            label=label,
            storage=storage,
            study=study,
            front_only=front_only,
            threads=threads,
            rounds=RoundSettings(rounds=rounds),
            on_round=on_round,
        )
    host = summary.host
    typer.echo(
        f"timed {summary.measured} artifacts on {host.get('host')} ({host.get('cpu')}, {host.get('threads')} threads)"
        + (f"; {summary.skipped} not found here" if summary.skipped else "")
        + f"; stored as '{summary.label}'"
    )
    typer.echo(f"next: paretodet report {workdir} --latency-from {summary.label}")


def compare(
    reference: str = typer.Argument(..., help="REF: checkpoint, artifact (.onnx, .xml, IR folder) or WORKDIR#TRIAL."),
    others: list[str] = typer.Argument(..., help="The items compared with REF (same kinds)."),
    data: Path = typer.Option(..., "--data", help="Data YAML (YOLO, VOC or COCO layout) or a VOC/COCO folder."),
    imgsz: int = typer.Option(320, "--imgsz", help="Input size a checkpoint is built at (artifacts keep theirs)."),
    rounds: int = typer.Option(10, "--rounds", help="Interleaved timing rounds (each item timed once per round)."),
    threads: int = typer.Option(2, "--threads", help="Runtime threads (fixed and recorded)."),
    precision_hint: str | None = typer.Option(
        None,
        "--precision-hint",
        help="openvino: f32, bf16 or f16 where offered, for each item taking one; default its own, else f32.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV on stdout."),
    as_md: bool = typer.Option(False, "--md", help="Print a Markdown table on stdout."),
    trust_model: bool = typer.Option(
        False, "--trust-model", envvar="PARETODET_TRUST_MODEL", help="Load a checkpoint that may run code (unsafe)."
    ),
    ignore: bool = IGNORE_CLASS_NAMES,
) -> None:
    """Put models and artifacts side by side: mAP on the same images (95% intervals, paired change against
    REF), size, and latency timed in interleaved rounds as a ratio to REF."""
    from paretodet.errors import ConfigError
    from paretodet.objectives import RoundSettings
    from paretodet.reports import format_comparison
    from paretodet.search import compare_models

    if as_json + as_csv + as_md > 1:
        raise ConfigError("pick one of --json, --csv, --md")
    with stdout_reserved(as_json or as_csv or as_md), stage_bar() as (on_stage, on_progress):
        table = compare_models(
            [reference, *others],
            data,
            imgsz=imgsz,
            rounds=RoundSettings(rounds=rounds),
            threads=threads,
            trust_model=trust_model,
            precision_hint=precision_hint,
            on_stage=on_stage,
            on_progress=on_progress,
            ignore_class_names=ignore,
        )
    for note in table.notes:  # what was not checked of the items' class names
        err_console().print(f"warning: {note}", highlight=False, soft_wrap=True)
    if as_json:
        print_json({"rounds": table.rounds, "images": table.images, "host": table.host, "items": table.rows()})
        return
    typer.echo(format_comparison(table.rows(), "csv" if as_csv else "md" if as_md else "text"))
    if not (as_csv or as_md):
        host = table.host
        typer.echo(
            f"{table.images} val images; latency: median of {table.rounds} interleaved rounds on {host.get('cpu')} "
            f"({host.get('threads')} threads); intervals: 95%"
        )


def verify(
    workdir: Path = typer.Argument(..., help="A search work dir."),
    rounds: int = typer.Option(10, "--rounds", help="Interleaved timing rounds."),
    threads: int | None = typer.Option(None, "--threads", help="Runtime threads (default: the study's)."),
    storage: str | None = typer.Option(
        None, "--storage", envvar="PARETODET_STORAGE", help="The study's storage URL (default: the work dir's)."
    ),
    study: str | None = typer.Option(None, "--study", help="Study name (with --storage; default: the work dir's)."),
) -> None:
    """Re-time the front and the reference (the original model, FP32) in interleaved rounds, score them on the
    whole val split if trials used a subset, and store the verified figures that report and select use."""
    run_verify(workdir, rounds=rounds, threads=threads, storage=storage, study=study)


def _verify_line(summary: Any) -> str:
    moved = []
    if summary.entered:
        moved.append(f"entered: {', '.join(map(str, summary.entered))}")
    if summary.left:
        moved.append(f"left: {', '.join(map(str, summary.left))}")
    scored = "; scored on the whole val split" if summary.full_split else ""
    return (
        f"verified {len(summary.verified)} trials against the reference in {summary.rounds} interleaved rounds"
        f"{scored}; front: {', '.join(map(str, summary.front_after))}"
        + (f" ({'; '.join(moved)})" if moved else " (unchanged)")
    )


def run_verify(
    workdir: Path,
    *,
    rounds: int = 10,
    threads: int | None = None,
    storage: str | None = None,
    study: str | None = None,
) -> None:
    """Verify the front of ``workdir``'s study (or of ``study`` in ``storage``) with a progress bar, and print
    what it found."""
    from paretodet.objectives import RoundSettings
    from paretodet.search import verify_study

    with stage_bar() as (on_stage, on_progress):
        summary = verify_study(
            workdir,
            rounds=RoundSettings(rounds=rounds),
            threads=threads,
            storage=storage,
            study_name=study,
            on_stage=on_stage,
            on_progress=on_progress,
        )
    typer.echo(_verify_line(summary))


def register_front_commands(app: typer.Typer) -> None:
    """Add ``measure``, ``compare`` and ``verify`` to ``app``."""
    for command in (measure, compare, verify):
        app.command()(command)


def finish_search(summary: StudySummary, workdir: Path, *, storage: str | None, study: str, verify: bool) -> None:
    """What ``search`` says when its study returns (notes, counts, time), then the front's verification, timed
    as part of the time budget."""
    import time

    from paretodet.base import format_duration

    for note in summary.notes:
        typer.echo(note)
    typer.echo(
        f"study '{summary.study}': {summary.completed} completed, {summary.failed} failed, "
        f"{summary.duplicates} duplicate samples skipped, front {summary.front_size}; storage {summary.storage}"
    )
    for line in search_end_lines(summary):
        typer.echo(line)
    if verify and summary.completed:
        verify_start = time.perf_counter()
        run_verify(workdir, storage=storage, study=study)
        if summary.time_budget_s is not None:  # the verification's share of the budget: what the search left
            spent = summary.time_used_s + time.perf_counter() - verify_start
            typer.echo(
                f"with the verification: {format_duration(spent)} of the {format_duration(summary.time_budget_s)} "
                "budget"
            )
