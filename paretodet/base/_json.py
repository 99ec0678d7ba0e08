"""Strict JSON: NaN and infinities (which ``json.dumps`` writes as the non-JSON ``NaN``/``Infinity``) become
``null``, so every document paretodet writes parses in strict parsers (JavaScript's ``JSON.parse``, Go, Rust)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["json_safe", "strict_json"]


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (Python or numpy scalar) replaced by ``None``, recursively.

    Example:
        >>> json_safe({"delta": float("nan"), "rows": [1.0, float("inf")]})
        {'delta': None, 'rows': [1.0, None]}
    """
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) or type(value).__name__.startswith("float"):  # numpy floats without importing numpy
        try:
            return float(value) if math.isfinite(value) else None
        except TypeError:
            return value
    return value


def strict_json(value: Any, *, indent: int | None = 2) -> str:
    """``value`` as JSON text with undefined numbers written ``null`` (values JSON cannot hold as their ``str``).

    Example:
        >>> strict_json({"map50_95": float("nan")}, indent=None)
        '{"map50_95": null}'
    """
    return json.dumps(json_safe(value), indent=indent, default=str, allow_nan=False)
