"""Search spaces: which knobs a study samples, over which values, and under which conditions."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from paretodet.base import did_you_mean
from paretodet.errors import ConfigError
from paretodet.spaces._candidate import (
    Candidate,
    knob_names,
    knob_specs,
    parse_value,
    training_only_knobs,
)

if TYPE_CHECKING:
    import optuna

__all__ = ["Knob", "SearchSpace", "sample"]


@dataclass(frozen=True)
class Knob:
    """One sampled knob: a categorical ``choices`` list, or an int/float range ``low..high`` (``step``, ``log``).

    ``when`` maps other knobs to the values for which this knob is sampled (all must hold, else it keeps the
    base value); ``when_any`` adds alternatives of which at least one must hold.

    ``around_model`` (``imgsz`` only): the choices are the multiples of 32 from ``low`` to ``high`` times the
    model's training input size (see :func:`sizes_around`); until a model is known they are taken around the
    default candidate's size. ``limits``: ``(high, when)`` pairs; while ``when`` holds, a range is sampled up to
    ``high`` only, and a categorical knob with a choice above ``high`` keeps its base value.
    """

    name: str
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    when_any: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    around_model: tuple[float, float] | None = None
    limits: tuple[tuple[float, tuple[tuple[str, tuple[Any, ...]], ...]], ...] = ()

    def __post_init__(self) -> None:
        if self.name not in knob_names():
            raise ConfigError(f"unknown knob '{self.name}' in space{did_you_mean(self.name, knob_names())}")
        if self.around_model is not None:
            self._check_around_model()
        if bool(self.choices) == (self.low is not None):
            raise ConfigError(f"knob '{self.name}': give either 'choices' or 'low'/'high'")
        if self.low is not None and (self.high is None or self.high < self.low):
            raise ConfigError(f"knob '{self.name}': empty range {self.low}..{self.high}")
        self._check_range_options()
        self._check_values()

    def _check_around_model(self) -> None:
        low, high = self.around_model or (0.0, 0.0)
        if self.name != "imgsz":
            raise ConfigError(f"knob '{self.name}': 'around_model' is for imgsz only")
        if not 0.0 < low <= 1.0 <= high <= 4.0:
            raise ConfigError(
                f"knob 'imgsz': 'around_model' needs [low, high] with 0 < low <= 1 <= high <= 4 (the training size "
                f"is always one of the sizes), got [{low}, {high}]"
            )

    def held_to(self, values: dict[str, Any], base: dict[str, Any]) -> float | None:
        """The lowest ``limits`` bound whose condition holds for the values sampled so far (None: no limit)."""
        bounds = [high for high, when in self.limits if all(values.get(k, base.get(k)) in a for k, a in when)]
        return min(bounds) if bounds else None

    def capped_high(self, limit: float) -> float | None:
        """The top of this range under ``limit`` (on the step grid); None when ``limit`` is below the range."""
        low = float(self.low or 0)
        high = min(float(self.high or 0), limit)
        if high < low:
            return None
        if self.step:  # a limit between steps: the step below
            high = low + math.floor((high - low) / self.step + 1e-9) * self.step
        return high

    def _check_range_options(self) -> None:
        """``step`` and ``log`` must be ones Optuna can sample (checked here, not when the search starts)."""
        if self.step is not None:
            if self.low is None:
                raise ConfigError(f"knob '{self.name}': 'step' needs a 'low'/'high' range, not 'choices'")
            if not (math.isfinite(self.step) and self.step > 0):
                raise ConfigError(f"knob '{self.name}': 'step' must be a positive number, got {self.step}")
            if knob_specs()[self.name].kind == "int" and not float(self.step).is_integer():
                raise ConfigError(f"knob '{self.name}': 'step' of an int knob must be a whole number, got {self.step}")
        if self.log:
            if self.low is None:
                raise ConfigError(f"knob '{self.name}': 'log' needs a 'low'/'high' range, not 'choices'")
            if not self.low > 0:
                raise ConfigError(f"knob '{self.name}': a 'log' range needs 'low' > 0, got {self.low}")
            if self.step is not None and not (knob_specs()[self.name].kind == "int" and self.step == 1):
                raise ConfigError(f"knob '{self.name}': give 'step' or 'log', not both")

    def _check_values(self) -> None:
        """Choices, range ends and condition values must be values their knobs accept (as declared)."""
        spec = knob_specs()[self.name]
        for value in self.choices:
            spec.check(parse_value(self.name, value))
        for bound in (self.low, self.high):
            if bound is not None:
                whole = spec.kind == "int" and float(bound).is_integer()
                spec.check(int(bound) if whole else parse_value(self.name, bound))
        for key, allowed in (*self.when, *self.when_any):
            if key not in knob_specs():
                hint = did_you_mean(key, knob_names())
                raise ConfigError(f"knob '{self.name}': condition on unknown knob '{key}'{hint}")
            for value in allowed:
                knob_specs()[key].check(parse_value(key, value))

    def active(self, values: dict[str, Any], base: dict[str, Any] | None = None) -> bool:
        """Whether the conditions hold for the values sampled so far (unsampled knobs: the base's)."""
        base = base or {}
        if not all(values.get(key, base.get(key)) in allowed for key, allowed in self.when):
            return False
        return not self.when_any or any(values.get(key, base.get(key)) in allowed for key, allowed in self.when_any)


@dataclass(frozen=True)
class SearchSpace:
    """An ordered set of knobs plus the base candidate that unsampled knobs take."""

    knobs: tuple[Knob, ...]
    base: Candidate = field(default_factory=Candidate)

    def with_knobs(self, *knobs: Knob) -> SearchSpace:
        """A copy with the knobs of the same names replaced (in place) by ``knobs``."""
        by_name = {knob.name: knob for knob in knobs}
        unknown = set(by_name) - {knob.name for knob in self.knobs}
        if unknown:
            raise ConfigError(f"knob(s) {', '.join(sorted(unknown))} are not in this space: add them instead")
        return SearchSpace(knobs=tuple(by_name.get(k.name, k) for k in self.knobs), base=self.base)

    def with_fixed(self, values: Mapping[str, Any]) -> SearchSpace:
        """A copy whose base takes ``values`` (dotted knob names; strings parsed as ``--set`` gives them) and
        that no longer samples those knobs.

        Example:
            >>> from paretodet.spaces import load_space
            >>> fixed = load_space("quick").with_fixed({"quant.precision": "fp16"})
            >>> fixed.base.quant.precision, "quant.precision" in [k.name for k in fixed.knobs]
            ('fp16', False)
        """
        if not values:
            return self
        base = self.base.replace(dict(values))
        return SearchSpace(knobs=tuple(k for k in self.knobs if k.name not in values), base=base)

    def without_training(self) -> SearchSpace:
        """A copy that samples no training knob (for models paretodet cannot train), nor knobs that only
        matter with training."""
        dropped = set(training_only_knobs())
        return SearchSpace(knobs=tuple(k for k in self.knobs if k.name not in dropped), base=self.base)

    def for_techniques(self, techniques: Collection[str]) -> SearchSpace:
        """A copy that samples only values a detector family with ``techniques`` supports (see
        ``KnobSpec.needs``): unsupported values leave a categorical knob; a knob left with one value is not
        sampled and that value becomes the base's (``runtime: choices: [openvino]`` runs every trial on
        OpenVINO); a knob with no value left, or whose technique is missing, is not sampled (the base value)."""
        kept: list[Knob] = []
        base = self.base
        for knob in self.knobs:
            spec = knob_specs()[knob.name]
            if isinstance(spec.needs, str) and spec.needs not in techniques:
                continue
            if knob.choices:
                choices = tuple(c for c in knob.choices if spec.needed(c) in (None, *techniques))
                if len(choices) < 2:
                    base = base.replace({knob.name: choices[0]}) if choices else base
                    continue
                knob = dataclasses.replace(knob, choices=choices)
            kept.append(knob)
        return SearchSpace(knobs=tuple(kept), base=base)

    def for_host(self) -> tuple[SearchSpace, list[str]]:
        """A copy that samples only runtimes this host can run and precision hints they offer here, plus one
        line per runtime left out and why (a package or a GPU missing). A knob left with one value is not
        sampled; when the base runtime cannot run here, the first runtime left takes its place."""
        from paretodet.runtimes import runtime_spec

        notes: list[str] = []
        base = self.base
        runtimes = next((k.choices for k in self.knobs if k.name == "runtime"), (base.runtime,))
        usable = []
        for name in runtimes:
            reason = runtime_spec(name).missing()
            if reason is None:
                usable.append(name)
            else:
                notes.append(f"runtime {name} not sampled: {reason}")
        if usable and base.runtime not in usable:
            base = base.replace({"runtime": usable[0]})
        offered = {h for name in usable for h in runtime_spec(name).offered_hints()}
        kept: list[Knob] = []
        for knob in self.knobs:
            allowed = {"runtime": set(usable), "precision_hint": offered}.get(knob.name)
            if allowed is not None and knob.choices:
                choices = tuple(c for c in knob.choices if c in allowed)
                if knob.name == "precision_hint" and offered:  # else no runtime here takes a hint at all
                    notes += [
                        f"precision_hint {c} not sampled: no runtime here offers it"
                        for c in knob.choices
                        if c not in choices
                    ]
                if len(choices) < 2:  # one value left: every trial takes it
                    base = base.replace({knob.name: choices[0]}) if choices else base
                    continue
                knob = dataclasses.replace(knob, choices=choices)
            kept.append(knob)
        return SearchSpace(knobs=tuple(kept), base=base), notes

    def grid(self, *, points: int = 5) -> dict[str, list[Any]]:
        """Each knob's grid values (choices as they are; ranges at ``points`` evenly spaced values, geometric
        for log ranges, on the step), for a grid-search baseline."""
        import numpy as np

        grid: dict[str, list[Any]] = {}
        ints = {k for k, v in self.base.to_dict().items() if isinstance(v, int) and not isinstance(v, bool)}
        for knob in self.knobs:
            if knob.choices:
                grid[knob.name] = list(knob.choices)
                continue
            low, high = float(knob.low or 0.0), float(knob.high or 0.0)
            values = np.geomspace(low, high, points) if knob.log and low > 0 else np.linspace(low, high, points)
            if knob.step:
                values = low + np.round((values - low) / knob.step) * knob.step
            if knob.name in ints:
                grid[knob.name] = sorted({round(float(v)) for v in values})
            else:
                grid[knob.name] = sorted({float(f"{float(v):.6g}") for v in values})
        return grid

    def describe(self) -> list[dict[str, Any]]:
        """One row per knob (name, values, condition), for display."""
        rows = []
        for knob in self.knobs:
            values = list(knob.choices) if knob.choices else f"{knob.low}..{knob.high}"
            if knob.around_model is not None:
                low, high = knob.around_model
                values = f"{low:g}x..{high:g}x the model's training size, multiples of 32"
            cond = " and ".join(f"{k} in {list(v)}" for k, v in knob.when)
            if knob.when_any:
                either = " or ".join(f"{k} in {list(v)}" for k, v in knob.when_any)
                cond = f"{cond} and ({either})" if cond else either
            rows.append({"knob": knob.name, "values": values, "when": cond})
        return rows


def sample(trial: optuna.Trial, space: SearchSpace, *, limited: bool = True) -> Candidate:
    """Sample one candidate from ``space`` with an Optuna trial (conditional knobs honoured; ``limited=False``
    ignores the knobs' ``limits``). A queued value (``enqueue_trial``) is taken as queued either way: the
    reference probes ask only for values within the limits."""
    values: dict[str, Any] = {}
    base = space.base.to_dict()
    for knob in space.knobs:
        if not knob.active(values, base):
            continue
        limit = knob.held_to(values, base) if limited else None
        if knob.choices:
            if limit is None or all(float(c) <= limit for c in knob.choices):
                values[knob.name] = trial.suggest_categorical(knob.name, list(knob.choices))
            continue
        high = float(knob.high or 0) if limit is None else knob.capped_high(limit)
        if high is None:  # the limit is below the range: the limit itself, not sampled
            values[knob.name] = type(base[knob.name])(limit)
        elif isinstance(base[knob.name], int):
            step = int(knob.step or 1)
            values[knob.name] = trial.suggest_int(knob.name, int(knob.low or 0), int(high), step=step, log=knob.log)
        else:
            value = trial.suggest_float(knob.name, float(knob.low or 0), high, step=knob.step, log=knob.log)
            # readable, hash-stable configs: 0.3 rather than 0.30000000000000004; 3 significant digits on log scales
            values[knob.name] = float(f"{value:.3g}") if knob.log else round(value, 6)
    return space.base.replace(values)
