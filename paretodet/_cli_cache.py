"""The CLI's ``cache`` commands: check a work dir's stage cache and prune it."""

from __future__ import annotations

from pathlib import Path

import typer

from paretodet._cli_ui import stage_bar

__all__ = ["cache_app"]

cache_app = typer.Typer(no_args_is_help=True, help="A work dir's stage cache: check it, prune it.")


@cache_app.command("verify")
def cache_verify(
    workdir: Path = typer.Argument(..., help="A search work dir, or the --out folder of apply."),
) -> None:
    """Check every cache entry against its recorded sizes and sha256; exit 1 when one is damaged."""
    from paretodet.search import verify_cache

    with stage_bar() as (on_stage, on_progress):
        on_stage("checking cache entries")
        check = verify_cache(workdir, on_progress=on_progress)
    for item in check.damaged:
        typer.echo(f"damaged: {check.name(item.entry)}: {item.problem}")
    for folder in check.leftovers:
        typer.echo(f"staging folder: {check.name(folder)} (a build in progress, or left by an interrupted one)")
    sound = len(check.entries) - len(check.damaged)
    typer.echo(
        f"{len(check.entries)} cache entries checked: {sound} sound, {len(check.damaged)} damaged"
        + (f" (remove them: paretodet cache prune {workdir})" if check.damaged else "")
    )
    if check.damaged:
        raise typer.Exit(1)


@cache_app.command("prune")
def cache_prune(
    workdir: Path = typer.Argument(..., help="A search work dir, or the --out folder of apply."),
    keep_front: bool = typer.Option(
        False, "--keep-front", help="Also remove every entry no Pareto-front trial uses (a search work dir only)."
    ),
) -> None:
    """Remove damaged cache entries and folders left by interrupted builds (and, with --keep-front, all but
    what the front's trials were built from)."""
    from paretodet.search import prune_cache

    with stage_bar() as (on_stage, on_progress):
        on_stage("checking cache entries")
        pruning = prune_cache(workdir, keep_front=keep_front, on_progress=on_progress)
    for line in pruning.removed:
        typer.echo(f"removed {line}")
    for note in pruning.notes:
        typer.echo(f"note: {note}")
    freed = pruning.freed_bytes / 1e6
    typer.echo(f"removed {len(pruning.removed)} ({freed:.1f} MB freed); kept {pruning.kept} cache entries")
