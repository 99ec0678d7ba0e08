"""Reading a user's YAML file: one clear error for text that is not UTF-8, not YAML, or nested too deeply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from paretodet.errors import ParetodetError

__all__ = ["read_yaml_file"]


def read_yaml_file(path: Path, *, what: str, error: type[ParetodetError]) -> Any:
    """The parsed YAML of ``path`` (``what`` names it in messages, e.g. "space file"); ``error`` when it is not
    UTF-8 text (a byte-order mark is fine), is malformed YAML, or is nested too deeply to read.

    Example:
        >>> raw = read_yaml_file(Path("space.yaml"), what="space file", error=ConfigError)  # doctest: +SKIP
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise error(f"{what} {path} is malformed YAML{where}: fix its syntax") from None
    except RecursionError:
        raise error(f"{what} {path} is nested too deeply to read: flatten it") from None
