"""The Candidate: one point of the search space, with one dotted name per knob everywhere.

Each knob is declared once, as a field made with :func:`~paretodet.spaces._knobs.knob`; :func:`knob_specs` is
the registry that validation, the knob table, cache keys, inactive and training knobs read.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from paretodet.errors import ConfigError
from paretodet.runtimes import PRECISION_HINTS, runtime_label, runtime_names, runtime_spec
from paretodet.spaces._configs import HINTED, DistillConfig, PruneConfig, QuantConfig
from paretodet.spaces._knobs import (
    STAGES,
    TECHNIQUES,
    KnobSpec,
    KnobValues,
    check_specs,
    collect_specs,
    did_you_mean,
    knob,
    say,
)

__all__ = [
    "Candidate",
    "inactive_knobs",
    "knob_defaults",
    "knob_names",
    "knob_specs",
    "parse_value",
    "stage_knobs",
    "techniques_used",
    "training_only_knobs",
]

_MAX_TEXT = 2000  # the longest text a knob value may be (prune.skip lists module names)
_IMGSZ_STAGES = ("student", "recover", "export", "qat", "calibration", "int8")  # all but prune (fixed size)


def _runtime_words(runtime: str, v: KnobValues) -> str:
    """``ONNX Runtime``; ``OpenVINO bf16`` with a precision hint."""
    return runtime_label(runtime) + (f" {v['precision_hint']}" if v.changed("precision_hint") else "")


@dataclass(frozen=True)
class Candidate:
    """One candidate deployment config.

    Attributes:
        imgsz: square input size, a multiple of 32.
        runtime: what the artifact ships on, a registered runtime (``paretodet.runtimes.runtime_spec``).
        precision_hint: what a runtime that takes a hint (OpenVINO) computes non-INT8 ops in.
        quant: quantization knobs.
        distill: distillation knobs (a student is trained first: student -> prune -> recover -> quantize).
        prune: pruning knobs (prune -> recovery fine-tune -> export/quantize).

    Example:
        >>> c = Candidate.from_dict({"imgsz": 256, "quant.precision": "fp16"})
        >>> c.to_dict()["quant.precision"]
        'fp16'
    """

    imgsz: int = knob(
        320,
        help="square input size of the artifact",
        stages=_IMGSZ_STAGES,
        low=32,
        high=4096,
        multiple_of=32,
        words=say("{} px"),
        words_at_default=True,
    )
    runtime: str = knob(
        "onnxruntime",
        help="what the artifact ships on ('paretodet runtimes': each one's precisions, INT8 engines, hints)",
        stages=("export", "convert"),
        choices=runtime_names,
        words=_runtime_words,
        words_at_default=True,
    )
    precision_hint: str = knob(
        "f32",
        help="what the runtime computes non-INT8 ops in (openvino: bf16/f16 where the CPU offers them)",
        stages=("convert",),
        choices=PRECISION_HINTS,
        when=HINTED,
        keyed_at_default=False,
        worded_by="runtime",
    )
    quant: QuantConfig = field(default_factory=QuantConfig)
    prune: PruneConfig = field(default_factory=PruneConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)

    def __post_init__(self) -> None:
        flat = self.to_dict()
        for name, spec in knob_specs().items():
            spec.check(flat[name])
        hint = self.precision_hint if spec_active("precision_hint", flat) else None
        runtime_spec(self.runtime).check(precision=self.quant.precision, engine=self.quant.engine, hint=hint)

    def training_knobs(self) -> list[str]:
        """The knobs set here that need training (QAT, pruning recovery, a student, KD)."""
        flat = self.to_dict()
        view = KnobValues(flat, knob_specs())
        return [k for k, s in knob_specs().items() if s.trains and s.active(view) and flat[k] != s.default]

    def techniques(self) -> set[str]:
        """The compression techniques this candidate uses (``quant``, ``prune``, ``distill``)."""
        return techniques_used(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """Flat dict with dotted keys, in a stable order."""
        return _flatten(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Candidate:
        """Build from dotted keys; missing keys keep their defaults, unknown keys fail with a suggestion."""
        return cls().replace(values)

    def replace(self, values: dict[str, Any]) -> Candidate:
        """A copy with some dotted keys changed (values may be strings, as from ``--set``)."""
        current = self.to_dict()
        for key, raw in values.items():
            if key not in current:
                raise ConfigError(f"unknown knob '{key}'{did_you_mean(key, list(current))}")
            current[key] = parse_value(key, raw)
        return _unflatten(current)

    def config_key(self) -> str:
        """Hash of the normalized config (inactive knobs reset to their defaults, as cache keys do): equal for
        candidates that build the same artifact. Used to keep workers from building a config twice."""
        return self.stage_hash(tuple(self.to_dict()))

    def stage_hash(self, keys: tuple[str, ...], *, salt: str = "") -> str:
        """Stable hash of the given knobs (plus ``salt``, e.g. the model digest): a stage's cache key."""
        flat = self.to_dict()
        defaults = knob_defaults()
        inactive = inactive_knobs(flat)  # a knob with no effect must not split the cache
        values = {k: defaults[k] if k in inactive else flat[k] for k in sorted(keys)}
        specs = knob_specs()
        values = {k: v for k, v in values.items() if specs[k].keyed_at_default or v != defaults[k]}
        payload = json.dumps({"salt": salt, **values}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@functools.cache
def knob_specs() -> Mapping[str, KnobSpec]:
    """Every knob's spec by dotted name, in declaration order (the one registry of knobs).

    Example:
        >>> knob_specs()["quant.precision"].stages
        ('export',)
    """
    specs = collect_specs(Candidate)
    check_specs(specs)
    return MappingProxyType(specs)


@functools.cache
def knob_defaults() -> Mapping[str, Any]:
    """Every knob's default by dotted name (``Candidate().to_dict()``, without building one)."""
    return MappingProxyType({name: spec.default for name, spec in knob_specs().items()})


def spec_active(name: str, values: Mapping[str, Any]) -> bool:
    """Whether knob ``name`` has an effect for these flat values."""
    return knob_specs()[name].active(KnobValues(values, knob_specs()))


def knob_names() -> list[str]:
    """Every dotted knob name."""
    return list(knob_specs())


@functools.cache
def stage_knobs(stage: str) -> tuple[str, ...]:
    """The knobs a cached stage's key hashes (those whose spec names ``stage``).

    Example:
        >>> stage_knobs("export")
        ('imgsz', 'runtime', 'quant.precision')
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage '{stage}': one of {', '.join(STAGES)}")
    return tuple(name for name, spec in knob_specs().items() if stage in spec.stages)


def inactive_knobs(values: Mapping[str, Any]) -> set[str]:
    """Knobs that have no effect for these values (the INT8 knobs of an FP32/FP16 candidate, the pruning
    knobs of an unpruned one, the recovery learning rate without recovery epochs); missing knobs count as
    their defaults.

    Example:
        >>> sorted(inactive_knobs({"quant.precision": "fp16"}))[:1]
        ['distill.alpha']
    """
    view = KnobValues(values, knob_specs())
    return {name for name, spec in knob_specs().items() if not spec.active(view)}


def training_only_knobs() -> tuple[str, ...]:
    """Knobs that train the model or only act while it trains (dropped for models paretodet cannot train)."""
    return tuple(
        name for name, spec in knob_specs().items() if spec.trains or (spec.when is not None and spec.when.training)
    )


def unsupported_knobs(values: Mapping[str, Any], techniques: Collection[str]) -> list[str]:
    """``knob=value (needs T)`` for each active knob value that needs a detector-family technique missing from
    ``techniques`` (a family's ``techniques``).

    Example:
        >>> unsupported_knobs({"quant.precision": "int8", "quant.qat_epochs": 2}, {"fp16", "int8"})
        ['quant.qat_epochs=2 (needs qat)']
    """
    inactive = inactive_knobs(values)
    problems = []
    for name, spec in knob_specs().items():
        if name in inactive or name not in values:
            continue
        need = spec.needed(values[name])
        if need is not None and need not in techniques:
            problems.append(f"{name}={values[name]} (needs {need})")
    return problems


def techniques_used(values: Mapping[str, Any]) -> set[str]:
    """The compression techniques whose switch knobs are off their defaults (missing knobs: defaults).

    Example:
        >>> sorted(techniques_used({"quant.precision": "int8", "prune.method": "l2"}))
        ['prune', 'quant']
    """
    view = KnobValues(values, knob_specs())
    return {t for t in TECHNIQUES if view.on(t)}


def parse_value(key: str, raw: Any) -> Any:
    """Convert ``raw`` (often a string from the command line) to the type of knob ``key``."""
    default = knob_defaults()[key]
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) > _MAX_TEXT:
            raise ConfigError(f"{key}: a value of {len(text)} characters is too long (at most {_MAX_TEXT})")
        try:
            if isinstance(default, bool):
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                return text.lower() in ("true", "1", "yes")
            if isinstance(default, int):
                return int(text)
            if isinstance(default, float):
                return float(text)
        except ValueError:
            raise ConfigError(f"{key}={_short(raw)} is not a {type(default).__name__}") from None
        return text
    if isinstance(default, float) and isinstance(raw, int) and not isinstance(raw, bool):
        try:
            return float(raw)
        except OverflowError:
            raise ConfigError(f"{key}={_short(raw)} is too large for a float") from None
    if type(raw) is not type(default):
        raise ConfigError(f"{key}={_short(raw)} is not a {type(default).__name__}")
    if isinstance(raw, str) and len(raw) > _MAX_TEXT:
        raise ConfigError(f"{key}: a value of {len(raw)} characters is too long (at most {_MAX_TEXT})")
    return raw


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for a one-line error."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print (Python's digit limit)
        text = f"<a number of about {int(value.bit_length() * 0.30103)} digits>"
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out.update(_flatten(value, f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = value
    return out


def _unflatten(flat: dict[str, Any]) -> Candidate:
    nested: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in flat.items():
        head, _, rest = key.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            top[key] = value
    sections = {
        f.name: f.default_factory for f in dataclasses.fields(Candidate) if f.default_factory is not dataclasses.MISSING
    }
    return Candidate(**top, **{name: make(**nested.get(name, {})) for name, make in sections.items()})
