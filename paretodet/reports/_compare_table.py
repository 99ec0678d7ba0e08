"""The table of ``paretodet compare``: one row per item, as text, Markdown or CSV."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

from paretodet.errors import ConfigError

__all__ = ["COMPARE_FORMATS", "format_comparison"]

COMPARE_FORMATS = ("text", "md", "csv")
_HEADERS = (
    "item",
    "runtime",
    "precision",
    "px",
    "mAP50-95 [95% CI]",
    "change vs REF [95% CI]",
    "size MB",
    "latency ms [95% CI]",
    "x REF latency [95% CI]",
)


def _interval(value: float, low: float, high: float, digits: int, *, signed: bool = False) -> str:
    if value is None or math.isnan(value):
        return "-"
    sign = "+" if signed else ""
    core = f"{value:{sign}.{digits}f}"
    if low is None or math.isnan(low):
        return core
    return f"{core} [{low:{sign}.{digits}f}, {high:{sign}.{digits}f}]"


def _cells(row: dict[str, Any], reference: bool) -> list[str]:
    return [
        str(row["item"]) + (" (REF)" if reference else ""),
        str(row["runtime"]) + (f" {row['runtime_hint']}" if row.get("runtime_hint") else ""),  # OpenVINO bf16
        str(row["precision"]),
        str(row["imgsz"]),
        _interval(row["map50_95"], row["map50_95_low"], row["map50_95_high"], 4),
        "-" if reference else _interval(row["delta_map50_95"], row["delta_low"], row["delta_high"], 4, signed=True),
        f"{row['size_bytes'] / 1e6:.2f}",
        _interval(row["latency_ms"], row["latency_low_ms"], row["latency_high_ms"], 2),
        "1" if reference else _interval(row["latency_ratio"], row["ratio_low"], row["ratio_high"], 3),
    ]


def format_comparison(rows: Sequence[dict[str, Any]], fmt: str = "text") -> str:
    """``rows`` (``Comparison.rows()``, the reference first) as aligned text, a Markdown table or CSV (every
    column, raw values).

    Example:
        >>> print(format_comparison(table.rows(), "md"))  # doctest: +SKIP
    """
    if fmt not in COMPARE_FORMATS:
        raise ConfigError(f"unknown table format '{fmt}': use one of {', '.join(COMPARE_FORMATS)}")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip()
    table = [_cells(row, i == 0) for i, row in enumerate(rows)]
    if fmt == "md":
        lines = ["| " + " | ".join(_HEADERS) + " |", "|" + "---|" * len(_HEADERS)]
        return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in table])
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(_HEADERS)]
    render = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([render(_HEADERS), *(render(r) for r in table)])
