"""A trial's config for people: a short summary of what it changes, and the ``paretodet apply`` command that
rebuilds it. Pure functions over one row of the trial table (dotted knob names, see ``paretodet.spaces``)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

import numpy as np

from paretodet.runtimes import runtime_label
from paretodet.spaces import PRUNE_METHOD_NAMES, inactive_knobs, knob_defaults, knob_specs

__all__ = ["METHOD_NAMES", "apply_command", "changed_knobs", "config_summary", "row_knobs"]

METHOD_NAMES = PRUNE_METHOD_NAMES
SEPARATOR = " · "


def row_knobs(row: Mapping[str, Any]) -> dict[str, Any]:
    """The knob values a trial row holds, typed as the knobs are (a table with gaps holds ints as floats:
    320.0 -> 320); knobs missing from the row, or empty there, are left out (they read as defaults).

    Example:
        >>> row_knobs({"imgsz": 320.0, "quant.precision": "int8", "map50_95": 0.5})
        {'imgsz': 320, 'quant.precision': 'int8'}
    """
    out = {}
    for name, default in knob_defaults().items():
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


def config_summary(row: Mapping[str, Any]) -> str:
    """What a trial builds, in a few words: its input size and runtime, then each technique's knobs that act
    and are not at their defaults (a knob this function has no wording for appears as ``name=value``).

    Example:
        >>> config_summary({"imgsz": 320, "quant.precision": "int8", "quant.calibration": "percentile",
        ...                 "quant.fp_layers": 2, "prune.method": "l2", "prune.finetune_epochs": 20,
        ...                 "distill.alpha": 0.5})
        '320 px · ONNX Runtime · INT8 percentile, 2 FP32 blocks · L2 pruning 0.3, 20 ep KD-recovered (alpha 0.5)'
    """
    values = {**knob_defaults(), **row_knobs(row)}
    changed = changed_knobs(row)
    used: set[str] = {"imgsz", "runtime", "precision_hint"}
    runtime = runtime_label(values["runtime"])
    if "precision_hint" in changed:
        runtime += f" {values['precision_hint']}"
    parts = [f"{values['imgsz']} px", runtime]
    for words in (_quant_words(values, changed, used), _prune_words(values, changed, used)):
        if words:
            parts.append(words)
    student = _student_words(values, changed, used)
    if student:
        parts.append(student)
    rest = [f"{k}={_text(v)}" for k, v in changed.items() if k not in used]
    if rest:
        parts.append(", ".join(rest))
    if len(parts) == 2 and not rest:
        parts.append("unmodified")
    return SEPARATOR.join(parts)


def _quant_words(v: dict[str, Any], changed: dict[str, Any], used: set[str]) -> str:
    precision = str(v["quant.precision"])
    used.add("quant.precision")
    if precision != "int8":
        return precision.upper() if "quant.precision" in changed else ""
    used.update(k for k in knob_specs() if k.startswith("quant."))
    head = "INT8" + (f" {str(v['quant.engine']).upper()}" if "quant.engine" in changed else "")
    head += f" {v['quant.calibration']}" if "quant.calibration" in changed else ""
    words = [head]
    if v["quant.max_drop"]:
        words.append(f"accuracy control <= {100 * v['quant.max_drop']:.2g} pt")
    if v["quant.per_channel"]:
        words.append("per-channel")
    if "quant.calib_images" in changed:
        words.append(f"{v['quant.calib_images']} calibration images")
    if v["quant.fp_layers"]:
        words.append(f"{v['quant.fp_layers']} FP32 block{'s' if v['quant.fp_layers'] != 1 else ''}")
    if v["quant.qat_epochs"]:
        words.append(f"{v['quant.qat_epochs']} ep QAT")
    return ", ".join(words)


def _prune_words(v: dict[str, Any], changed: dict[str, Any], used: set[str]) -> str:
    method = str(v["prune.method"])
    if "prune.method" not in changed:
        return ""
    used.update(k for k in knob_specs() if k.startswith("prune."))
    words = [f"{METHOD_NAMES.get(method, method)} pruning {_text(v['prune.ratio'])}"]
    for part in ("backbone", "neck"):
        if f"prune.{part}_ratio" in changed:
            words.append(f"{part} {_text(v[f'prune.{part}_ratio'])}")
    if v["prune.skip"]:
        words.append(f"skip {v['prune.skip']}")
    epochs = v["prune.finetune_epochs"]
    if epochs:
        used.update(("distill.alpha", "distill.temperature"))
        words.append(f"{epochs} ep " + (f"KD-recovered ({_kd(v, changed)})" if v["distill.alpha"] else "fine-tuned"))
        if "prune.lr" in changed:
            words.append(f"lr {_text(v['prune.lr'])}")
    else:
        words.append("one-shot")
    return ", ".join(words)


def _student_words(v: dict[str, Any], changed: dict[str, Any], used: set[str]) -> str:
    switches = [k for k, s in knob_specs().items() if s.switch and s.technique == "distill"]
    if not any(k in changed for k in switches):
        return ""
    used.update(k for k in knob_specs() if k.startswith("distill."))
    if v["distill.student_yaml"]:
        head = f"student {v['distill.student_yaml']}"
    else:
        head = f"student w{_text(v['distill.student_width'])} d{_text(v['distill.student_depth'])}"
    words = [head, f"{v['distill.epochs']} ep"]
    if "distill.init" in changed:
        words.append(f"from {v['distill.init']}")
    words.append(f"KD ({_kd(v, changed)})" if v["distill.alpha"] else "no KD")
    if "distill.lr" in changed:
        words.append(f"lr {_text(v['distill.lr'])}")
    return ", ".join(words)


def _kd(v: dict[str, Any], changed: dict[str, Any]) -> str:
    text = f"alpha {_text(v['distill.alpha'])}"
    return text + (f", T {_text(v['distill.temperature'])}" if "distill.temperature" in changed else "")


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


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
