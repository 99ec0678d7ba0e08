"""Search-space files: a small YAML schema, the shipped presets, and the table of every knob.

Schema (keys in this order are sampled in this order)::

    base:                       # optional: values of knobs that are not sampled (default: Candidate())
      imgsz: 320
    knobs:
      imgsz: {choices: [160, 224, 320]}   # or {around_model: [0.5, 1.0]}: sizes around the model's training size
      prune.method: {choices: [none, l2]}
      prune.ratio: {low: 0.1, high: 0.5, step: 0.1, when: {prune.method: [l2]}}
      distill.alpha: {choices: [0.0, 0.5], when_any: {distill.student_width: [0.5], prune.finetune_epochs: [5]}}

``when``: every listed knob must hold one of its values; ``when_any``: at least one must. A knob is either
categorical (``choices``) or a range (``low``, ``high``, optional ``step`` and ``log``). ``imgsz`` may instead
take ``around_model: [low, high]``: multiples of 32 from low to high times the model's training input size
(the presets use [0.5, 1.0]); the original model is then measured at its training size.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from paretodet.base import did_you_mean, read_yaml_file
from paretodet.errors import ConfigError
from paretodet.spaces._candidate import Candidate, knob_names, knob_specs, parse_value
from paretodet.spaces._fit import sizes_around
from paretodet.spaces._space import Knob, SearchSpace

__all__ = ["PRESETS", "default_space", "knob_table", "load_space", "space_to_dict"]

PRESETS: tuple[str, ...] = ("quick", "balanced", "thorough")
_TOP_KEYS = ("base", "knobs")
_KNOB_KEYS = ("choices", "low", "high", "step", "log", "when", "when_any", "around_model")


def load_space(source: str | Path) -> SearchSpace:
    """A space from a preset name (``quick``, ``balanced``, ``thorough``) or a YAML file.

    Example:
        >>> load_space("quick").knobs[0].name
        'imgsz'
    """
    text = str(source)
    if text in PRESETS:
        return parse_space(yaml.safe_load(_preset_text(text)), where=f"preset '{text}'")
    path = Path(text).expanduser()
    if not path.is_file():
        hint = did_you_mean(text, list(PRESETS))
        raise ConfigError(f"space file not found: {path}{hint} (pass a YAML file or one of {', '.join(PRESETS)})")
    return parse_space(read_yaml_file(path, what="space file", error=ConfigError), where=str(path))


def _preset_text(name: str) -> str:
    return resources.files("paretodet.spaces").joinpath(f"presets/{name}.yaml").read_text()


def parse_space(raw: Any, *, where: str) -> SearchSpace:
    """Validate a parsed space mapping (see the module docstring) and build the :class:`SearchSpace`."""
    if not isinstance(raw, dict) or not isinstance(raw.get("knobs"), dict) or not raw["knobs"]:
        raise ConfigError(f"{where}: a space needs a 'knobs:' mapping of knob name -> {{choices | low/high}}")
    for key in raw:
        if key not in _TOP_KEYS:
            raise ConfigError(f"{where}: unknown key '{key}'{did_you_mean(str(key), list(_TOP_KEYS))}")
    base_values = raw.get("base") or {}
    if not isinstance(base_values, dict):
        raise ConfigError(f"{where}: 'base' must be a mapping of knob: value")
    base = Candidate.from_dict({str(k): v for k, v in base_values.items()})
    knobs = []
    seen: list[str] = []
    for name, spec in raw["knobs"].items():
        knobs.append(_parse_knob(str(name), spec, where=where, before=seen))
        seen.append(str(name))
    return SearchSpace(knobs=tuple(knobs), base=base)


def _parse_knob(name: str, spec: Any, *, where: str, before: list[str]) -> Knob:
    if name not in knob_names():
        raise ConfigError(f"{where}: unknown knob '{name}'{did_you_mean(name, knob_names())}")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: knob '{name}' needs a mapping such as {{choices: [...]}} or {{low: .., high: ..}}")
    for key in spec:
        if key not in _KNOB_KEYS:
            raise ConfigError(
                f"{where}: knob '{name}' has unknown field '{key}'{did_you_mean(str(key), list(_KNOB_KEYS))}"
            )
    around = _parse_around(name, spec, where=where)
    choices = spec.get("choices", ())
    if around is not None:
        if "choices" in spec or "low" in spec or "high" in spec:
            raise ConfigError(f"{where}: knob '{name}': give 'around_model' or 'choices'/'low'/'high', not both")
        choices = sizes_around(Candidate().imgsz, around)
    if not isinstance(choices, list | tuple):
        raise ConfigError(f"{where}: knob '{name}': 'choices' must be a list, got {choices!r}")
    if "choices" in spec and not choices:
        raise ConfigError(f"{where}: knob '{name}': 'choices' is empty")
    bounds = {}
    for key in ("low", "high", "step"):
        value = spec.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ConfigError(f"{where}: knob '{name}': '{key}' must be a number, got {value!r}")
        try:
            bounds[key] = None if value is None else float(value)
        except OverflowError:
            raise ConfigError(f"{where}: knob '{name}': '{key}' is too large a number") from None
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: knob '{name}': 'log' must be true or false, got {log!r}")
    conditions = {
        key: _parse_conditions(name, spec.get(key), key=key, where=where, before=before) for key in ("when", "when_any")
    }
    try:
        return Knob(
            name,
            choices=tuple(choices),
            low=bounds["low"],
            high=bounds["high"],
            step=bounds["step"],
            log=log,
            when=conditions["when"],
            when_any=conditions["when_any"],
            around_model=around,
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _parse_around(name: str, spec: dict[str, Any], *, where: str) -> tuple[float, float] | None:
    raw = spec.get("around_model")
    if raw is None:
        return None
    if (
        not isinstance(raw, list | tuple)
        or len(raw) != 2
        or any(isinstance(v, bool) or not isinstance(v, int | float) for v in raw)
    ):
        raise ConfigError(f"{where}: knob '{name}': 'around_model' must be [low, high] scales, e.g. [0.5, 1.0]")
    return float(raw[0]), float(raw[1])


def _parse_conditions(
    name: str, raw: Any, *, key: str, where: str, before: list[str]
) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: knob '{name}': '{key}' must map knob names to lists of values")
    out = []
    for other, values in raw.items():
        other = str(other)
        if other not in knob_names():
            raise ConfigError(
                f"{where}: knob '{name}': '{key}' names unknown knob '{other}'{did_you_mean(other, knob_names())}"
            )
        if not isinstance(values, list | tuple) or not values:
            raise ConfigError(f"{where}: knob '{name}': '{key}: {other}' needs a non-empty list of values")
        parsed = tuple(parse_value(other, v) for v in values)
        out.append((other, parsed))
    return tuple(out)


def space_to_dict(space: SearchSpace) -> dict[str, Any]:
    """The YAML-ready mapping of ``space`` (the inverse of :func:`parse_space`)."""
    knobs: dict[str, Any] = {}
    for knob in space.knobs:
        spec: dict[str, Any] = {"choices": list(knob.choices)} if knob.choices else {"low": knob.low, "high": knob.high}
        if knob.around_model is not None:
            spec = {"around_model": list(knob.around_model)}
        if knob.step is not None:
            spec["step"] = knob.step
        if knob.log:
            spec["log"] = True
        for key in ("when", "when_any"):
            conditions = getattr(knob, key)
            if conditions:
                spec[key] = {k: list(v) for k, v in conditions}
        knobs[knob.name] = spec
    defaults = Candidate().to_dict()
    base = {k: v for k, v in space.base.to_dict().items() if v != defaults[k]}
    return {**({"base": base} if base else {}), "knobs": knobs}


def knob_table() -> list[dict[str, Any]]:
    """Every knob: name, type, allowed values, default, what it does, when it acts, the stages it feeds.

    Example:
        >>> knob_table()[0]["allowed"]
        'a multiple of 32 in [32, 4096]'
    """
    return [
        {
            "knob": name,
            "type": spec.kind,
            "allowed": spec.allowed(),
            "default": spec.default,
            "help": spec.help,
            "when": spec.when.name if spec.when else "",
            "stages": spec.stages,
        }
        for name, spec in knob_specs().items()
    ]


def default_space() -> SearchSpace:
    """The default space: the ``balanced`` preset (every technique, moderate training per candidate)."""
    return load_space("balanced")
