"""The CLI's ``teacher`` command: train a torchvision demo teacher (SSDlite or Faster R-CNN) to a plateau;
registered on the main app by :func:`register_teacher_command`."""

from __future__ import annotations

from pathlib import Path

import typer

from paretodet._cli_ui import err_console, trial_bar

__all__ = ["register_teacher_command"]


def register_teacher_command(app: typer.Typer) -> None:
    """Add ``teacher`` to ``app``."""
    app.command()(teacher)


def teacher(
    name: str = typer.Argument(..., help="ssdlite or fasterrcnn (torchvision demo teachers, trained on the demo set)."),
    workdir: Path = typer.Option(Path("paretodet-teacher"), "--workdir", help="Folder for the data and rounds."),
    fresh: bool = typer.Option(False, "--fresh", help="Start again instead of resuming the kept rounds."),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads (0: torch's default)."),
) -> None:
    """Train a torchvision demo teacher to a plateau (resumable) and keep it in the user's cache."""
    from paretodet.search import torchvision_teacher_recipe, train_torchvision_teacher

    recipe = torchvision_teacher_recipe(name)
    if threads:
        import torch

        torch.set_num_threads(threads)
    console = err_console()
    with trial_bar("epochs") as (_on_trial, on_epoch):
        dest = train_torchvision_teacher(
            workdir / name,
            recipe=recipe,
            resume=not fresh,
            on_round=lambda r, n, m: console.print(
                f"[bold]>[/bold] round {r}/{n}: val mAP50-95 {m:.4f}", soft_wrap=True
            ),
            on_epoch=on_epoch,
        )
    typer.echo(f"{name} teacher: {dest} (learning curve: {dest}.json)")
