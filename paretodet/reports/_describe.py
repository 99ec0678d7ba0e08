"""A trial's config for people: a short summary of what it changes, and the ``paretodet apply`` command that
rebuilds it. Pure functions over one row of the trial table (dotted knob names, see ``paretodet.spaces``); the
summary's words are the knobs' own (``KnobSpec.words``)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

import numpy as np

from paretodet.spaces import (
    KnobSpec,
    KnobValues,
    inactive_knobs,
    knob_defaults,
    knob_specs,
)

__all__ = ["apply_command", "changed_knobs", "config_summary", "row_knobs"]

SEPARATOR = " · "


def row_knobs(row: Mapping[str, Any]) -> dict[str, Any]:
    """The knob values a trial row holds, typed as the knobs are (a table with gaps holds ints as floats:
    320.0 -> 320); knobs missing from the row, or empty there, are left out (they read as defaults).

    Example:
        >>> row_knobs({"imgsz": 320.0, "quant.precision": "int8", "map50_95": 0.5})
        {'imgsz': 320, 'quant.precision': 'int8'}
    """
    return _typed_knobs(row, knob_defaults())


def changed_knobs(row: Mapping[str, Any]) -> dict[str, Any]:
    """The knobs of a trial that act and differ from their defaults, in the knobs' order.

    Example:
        >>> changed_knobs({"quant.precision": "fp16", "quant.calibration": "entropy"})  # calibration: int8 only
        {'quant.precision': 'fp16'}
    """
    values = row_knobs(row)
    inactive = inactive_knobs(values)
    defaults = knob_defaults()
    return {k: v for k, v in values.items() if k not in inactive and v != defaults[k]}


def config_summary(row: Mapping[str, Any], *, specs: Mapping[str, KnobSpec] | None = None) -> str:
    """What a trial builds, in a few words: each knob's words (``KnobSpec.words``) where it acts and is not at
    its default, the top-level knobs' (input size, runtime) apart, then each technique's in one part, in the
    knobs' order; a knob without words appears as ``name=value`` at the end.

    Args:
        row: a trial row (dotted knob names; missing knobs read as their defaults).
        specs: the knob registry to read (default: ``knob_specs()``).

    Example:
        >>> config_summary({"imgsz": 320, "quant.precision": "int8", "quant.calibration": "percentile",
        ...                 "quant.fp_layers": 2, "prune.method": "l2", "prune.finetune_epochs": 20,
        ...                 "distill.alpha": 0.5})
        '320 px · ONNX Runtime · INT8 percentile, 2 FP32 blocks · L2 pruning 0.3, 20 ep KD-recovered (alpha 0.5)'
    """
    specs = knob_specs() if specs is None else specs
    view = KnobValues(_typed_knobs(row, {name: spec.default for name, spec in specs.items()}), specs)
    parts: dict[str, list[str]] = {}  # a technique's phrases, or a top-level knob's own
    unworded: list[str] = []
    modified = False
    for name, spec in specs.items():
        phrase = spec.phrase(view)
        if not phrase:
            continue
        if spec.words is None:
            unworded.append(phrase)
        else:
            parts.setdefault(spec.technique or name, []).append(phrase)
            modified = modified or spec.technique is not None
    summary = [", ".join(words) for words in parts.values()]
    if unworded:
        summary.append(", ".join(unworded))
    elif not modified:
        summary.append("unmodified")
    return SEPARATOR.join(summary)


def _typed_knobs(row: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the knobs in ``defaults`` that ``row`` holds, typed as their defaults (see row_knobs)."""
    out = {}
    for name, default in defaults.items():
        value = row.get(name)
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(default, bool):
            value = bool(value)
        elif isinstance(default, int) and isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(default, float) and isinstance(value, int):
            value = float(value)
        out[name] = value
    return out


def apply_command(row: Mapping[str, Any], *, meta: Mapping[str, Any] | None = None, out: str | None = None) -> str:
    """The ``paretodet apply`` command that rebuilds a trial's config: the model and data of the report's
    ``meta`` (``MODEL`` / ``DATA`` when it has none) and one ``--set`` per knob that acts and is not at its
    default.

    Example:
        >>> apply_command({"number": 7, "quant.precision": "fp16"}, meta={"model": "m.pt", "data": "d.yaml"})
        'paretodet apply m.pt --data d.yaml --out trial_7 --set quant.precision=fp16'
    """
    meta = meta or {}
    number = row.get("number")
    target = out or (f"trial_{int(number)}" if number is not None and not _nan(number) else "out")
    words = ["paretodet", "apply", str(meta.get("model") or "MODEL"), "--data", str(meta.get("data") or "DATA")]
    words += ["--out", target]
    for key, value in changed_knobs(row).items():
        words += ["--set", f"{key}={str(value).lower() if isinstance(value, bool) else value}"]
    return " ".join(shlex.quote(w) if w not in ("MODEL", "DATA") else w for w in words)


def _nan(value: Any) -> bool:
    return isinstance(value, float) and np.isnan(value)
