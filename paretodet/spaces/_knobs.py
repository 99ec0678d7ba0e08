"""Knob declarations: each knob is declared once, as its config dataclass field made with :func:`knob`.

The :class:`KnobSpec` in the field's metadata says what the knob accepts, what it does, which cached stages
hash it, when it has an effect, whether it trains the model, which technique it belongs to and how it reads in a
report. The Candidate's validation, ``paretodet spaces``, space files, every stage's cache key, the knobs models
without a training loss cannot use, the report's technique of a trial and its config summary all derive from these
specs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from paretodet.base import did_you_mean
from paretodet.errors import ConfigError

__all__ = [
    "STAGES",
    "TECHNIQUES",
    "Condition",
    "KnobSpec",
    "KnobValues",
    "Words",
    "check_specs",
    "collect_specs",
    "knob",
    "say",
    "value_text",
]

T = TypeVar("T")

# the cached stages of a build, in pipeline order; each stage's cache key hashes the knobs that feed it
STAGES: tuple[str, ...] = ("student", "prune", "recover", "export", "qat", "calibration", "int8", "convert")
# compression technique -> the report's name of the trials that use it alone
TECHNIQUES: dict[str, str] = {"quant": "quantization", "prune": "pruning", "distill": "distillation"}


@dataclass(frozen=True)
class Condition:
    """When a knob has an effect: a named test over flat knob values (see :class:`KnobValues`).

    ``training``: the condition only holds when a model is trained, so models paretodet cannot train never
    sample the knobs it governs.
    """

    name: str
    test: Callable[[KnobValues], bool]
    training: bool = False

    def __call__(self, values: KnobValues) -> bool:
        return self.test(values)


class KnobValues(Mapping[str, Any]):
    """Flat knob values as conditions read them: a missing knob reads as its default.

    Example:
        >>> view = KnobValues({"prune.method": "l2"}, specs)  # doctest: +SKIP
        >>> view.on("prune"), view["prune.ratio"]  # doctest: +SKIP
        (True, 0.3)
    """

    def __init__(self, values: Mapping[str, Any], specs: Mapping[str, KnobSpec]) -> None:
        self._values = values
        self._specs = specs

    def __getitem__(self, name: str) -> Any:
        return self._values[name] if name in self._values else self._specs[name].default

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def on(self, technique: str) -> bool:
        """Whether a switch knob of ``technique`` is off its default (the technique is used)."""
        return any(
            self[name] != spec.default
            for name, spec in self._specs.items()
            if spec.switch and spec.technique == technique
        )

    def changed(self, name: str) -> bool:
        """Whether knob ``name`` acts and is off its default (a report names it)."""
        spec = self._specs[name]
        return spec.active(self) and self[name] != spec.default


# how a knob reads in a report: its value and the trial's knob values (to read others) -> a short phrase
Words = Callable[[Any, KnobValues], str]


@dataclass(frozen=True)
class KnobSpec:
    """One knob: what it accepts and does, what it feeds, when it acts (name and default come from its field).

    Attributes:
        help: what it does, in one line.
        stages: the cached stages whose keys hash it (at least one: a knob that feeds no stage changes nothing).
        choices: the allowed values of a categorical knob, or a function returning them (a registry's names,
            read when a value is checked).
        low / high: the bounds of a numeric knob (``low_open``: ``low`` itself is excluded).
        extra: values allowed besides the bounds (``-1`` = "same as prune.ratio").
        multiple_of: numeric values must be multiples of it.
        text: what a free-text knob holds (its "allowed" text).
        when: the condition under which it has an effect (None: always).
        trains: a non-default value trains the model.
        technique: the compression technique it belongs to (a key of :data:`TECHNIQUES`).
        switch: a non-default value turns its technique on.
        needs: the detector-family technique (``paretodet.models.ALL_TECHNIQUES``) a non-default value needs;
            for a categorical knob, ``(value, technique)`` pairs say it per value. A family without it never
            samples those values.
        keyed_at_default: whether a stage key hashes the knob at its default value; False for knobs added after
            caches existed, so their default keeps every earlier cache key (and cached stage) valid.
        words: how the knob reads in a report's config summary (:data:`Words`: "" says nothing); a knob without
            words reads ``name=value``. Phrases are grouped by technique, in declaration order.
        words_at_default: the knob is also worded when it acts at its default (``320 px``, ``one-shot``).
        worded_by: the knob whose words also state this one (``quant.calibration`` in ``INT8 percentile``): it
            has no phrase of its own.
        name / default: the dotted knob name and default, filled in by :func:`collect_specs`.
    """

    help: str
    stages: tuple[str, ...]
    choices: tuple[Any, ...] | Callable[[], tuple[Any, ...]] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    extra: tuple[Any, ...] = ()
    multiple_of: int | None = None
    text: str = ""
    when: Condition | None = None
    trains: bool = False
    technique: str | None = None
    switch: bool = False
    needs: str | tuple[tuple[Any, str], ...] | None = None
    keyed_at_default: bool = True
    words: Words | None = None
    words_at_default: bool = False
    worded_by: str | None = None
    name: str = ""
    default: Any = None

    def options(self) -> tuple[Any, ...]:
        """The allowed values of a categorical knob (empty for a numeric or text knob)."""
        return tuple(self.choices()) if callable(self.choices) else self.choices

    @property
    def kind(self) -> str:
        """The knob's type name: bool, int, float or str."""
        return type(self.default).__name__

    def needed(self, value: Any) -> str | None:
        """The family technique ``value`` needs (None: any family can use it)."""
        if value == self.default or self.needs is None:
            return None
        if isinstance(self.needs, str):
            return self.needs
        return dict(self.needs).get(value)

    def active(self, values: KnobValues) -> bool:
        """Whether the knob has an effect for these flat values."""
        return self.when is None or self.when(values)

    def phrase(self, values: KnobValues) -> str:
        """How the knob reads in a config summary for these flat values: "" when it says nothing (it does not
        act, is at its default, or another knob's words state it), ``name=value`` when it has no words."""
        if self.worded_by is not None or not self.active(values):
            return ""
        value = values[self.name]
        if value == self.default and not self.words_at_default:
            return ""
        return f"{self.name}={value_text(value)}" if self.words is None else self.words(value, values)

    def allowed(self) -> str:
        """The allowed values, for people (``fp32 | fp16 | int8``, ``float in [0, 0.9]``)."""
        if self.options():
            return " | ".join(str(c) for c in self.options())
        if self.low is None:
            return self.text or self.kind
        return self._bounds() if self.multiple_of else f"{self.kind} {self._bounds()}"

    def check(self, value: Any) -> None:
        """Raise :class:`ConfigError` unless ``value`` is allowed."""
        if not _is_a(value, self.default):
            raise ConfigError(f"{self.name}={value!r} is not a {self.kind}")
        if self.options():
            if value not in self.options():
                options = ", ".join(str(c) for c in self.options())
                hint = did_you_mean(str(value), [str(c) for c in self.options()])
                raise ConfigError(f"{self.name}={value!r} is not one of {options}{hint}")
            return
        if self.low is None or self.high is None or value in self.extra:
            return
        above = self.low < value if self.low_open else self.low <= value
        if not (above and value <= self.high and (not self.multiple_of or value % self.multiple_of == 0)):
            raise ConfigError(f"{self.name} must be {self._bounds()}, got {value}")

    def _bounds(self) -> str:
        text = f"in {'(' if self.low_open else '['}{_num(self.low)}, {_num(self.high)}]"
        if self.multiple_of:
            text = f"a multiple of {self.multiple_of} {text}"
        return " or ".join([text, *(_num(v) for v in self.extra)])


def knob(default: T, **spec: Any) -> T:
    """A config dataclass field that declares a knob: ``spec`` holds the :class:`KnobSpec` arguments (``help``
    and ``stages`` are required; a typo fails when the config class is defined).

    Example:
        >>> @dataclass(frozen=True)
        ... class Quant:
        ...     bits: int = knob(8, help="weight bits", stages=("int8",), choices=(4, 8))
    """
    return dataclasses.field(default=default, metadata={"knob": KnobSpec(**spec)})


def collect_specs(cls: type, prefix: str = "") -> dict[str, KnobSpec]:
    """Every knob of config dataclass ``cls`` (nested configs give dotted names), in declaration order."""
    specs: dict[str, KnobSpec] = {}
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        nested = f.default_factory
        if "knob" in f.metadata:
            specs[name] = dataclasses.replace(f.metadata["knob"], name=name, default=f.default)
        elif isinstance(nested, type) and dataclasses.is_dataclass(nested):
            specs.update(collect_specs(nested, f"{name}."))
        else:
            raise TypeError(f"{cls.__name__}.{f.name} is neither a knob(...) nor a nested config")
    return specs


def check_specs(specs: Mapping[str, KnobSpec]) -> None:
    """Raise ValueError when a knob feeds no stage or names an unknown one, a stage has no knob, a technique
    has no switch, a default is not allowed, a numeric knob has no bounds, or a knob is worded by no knob with
    words."""
    problems = []
    for name, spec in specs.items():
        if not spec.stages:
            problems.append(f"knob '{name}' feeds no stage: name the stages whose cache keys must hash it")
        problems += [f"knob '{name}' names unknown stage '{s}'" for s in spec.stages if s not in STAGES]
        if spec.technique is not None and spec.technique not in TECHNIQUES:
            problems.append(f"knob '{name}' names unknown technique '{spec.technique}'")
        if spec.switch and spec.technique is None:
            problems.append(f"knob '{name}' is a switch of no technique")
        if spec.worded_by is not None and getattr(specs.get(spec.worded_by), "words", None) is None:
            problems.append(f"knob '{name}' is worded by '{spec.worded_by}', which is no knob with words")
        numeric = isinstance(spec.default, int | float) and not isinstance(spec.default, bool)
        if numeric and not spec.options() and (spec.low is None or spec.high is None):
            problems.append(f"knob '{name}' is numeric but has no choices nor low/high bounds")
        try:
            spec.check(spec.default)
        except ConfigError as exc:
            problems.append(f"knob '{name}': its default is not allowed ({exc})")
    fed = {s for spec in specs.values() for s in spec.stages}
    problems += [f"stage '{s}' is fed by no knob" for s in STAGES if s not in fed]
    switched = {spec.technique for spec in specs.values() if spec.switch}
    problems += [f"technique '{t}' has no switch knob" for t in TECHNIQUES if t not in switched]
    if problems:
        raise ValueError("; ".join(problems))


def say(template: str) -> Words:
    """Words that write the knob's value into ``template`` (floats as :func:`value_text` writes them).

    Example:
        >>> say("lr {}")(0.0005, KnobValues({}, {}))
        'lr 0.0005'
    """
    return lambda value, values: template.format(value_text(value))


def value_text(value: Any) -> str:
    """A knob value for people: floats in their shortest form (``0.30`` -> ``0.3``), anything else as ``str``."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _is_a(value: Any, default: Any) -> bool:
    """Whether ``value`` has the knob's type (an int passes for a float; a bool is not a number)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _num(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)
