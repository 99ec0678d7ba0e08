"""What several CLI commands share: ``--set KEY=VALUE`` items, and ``--ignore-class-names`` with the warning a
model that names no classes gets (on stderr, so ``--json`` output stays clean)."""

from __future__ import annotations

from pathlib import Path

import typer

from paretodet._cli_ui import err_console

__all__ = ["IGNORE_CLASS_NAMES", "parse_sets", "warn_unchecked_classes"]

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
