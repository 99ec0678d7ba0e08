"""Durations as people write them (``2h``, ``45m``, ``90s``, ``1h30m``) and as reports print them."""

from __future__ import annotations

import re

from paretodet.errors import ConfigError

__all__ = ["format_duration", "parse_duration"]

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``2h``, ``45m``, ``90s``, ``1h30m``, ``1.5h`` or plain seconds (``600``).

    Example:
        >>> parse_duration("1h30m")
        5400.0
    """
    compact = text.strip().lower().replace(" ", "")
    match = _DURATION.match(compact) if compact else None
    if match is None or not any(match.groups()):
        raise ConfigError(f"--time-budget {text!r} is not a duration: write e.g. 2h, 45m, 90s or 1h30m")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise ConfigError(f"--time-budget {text!r} is not a positive duration: write e.g. 2h, 45m or 90s")
    return total


def format_duration(seconds: float) -> str:
    """``3725`` -> ``"1h02m"``; ``95`` -> ``"1m35s"``; ``42`` -> ``"42s"``."""
    seconds = max(0.0, float(seconds))
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    if seconds >= 60:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{seconds:.0f}s"
