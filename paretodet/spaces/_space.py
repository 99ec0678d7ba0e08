"""Search spaces: which knobs a study samples, over which values, and under which conditions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from paretodet.compress import PRUNE_METHODS
from paretodet.errors import ConfigError
from paretodet.spaces._candidate import Candidate, _did_you_mean, knob_names, parse_value

if TYPE_CHECKING:
    import optuna

__all__ = ["Knob", "SearchSpace", "default_space", "sample"]


@dataclass(frozen=True)
class Knob:
    """One sampled knob: a categorical ``choices`` list, or an int/float range ``low..high`` (``step``, ``log``).

    ``when`` maps other knobs to the values for which this knob is sampled (all must hold, else it keeps the
    base value); ``when_any`` adds alternatives of which at least one must hold.
    """

    name: str
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    when_any: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def __post_init__(self) -> None:
        if self.name not in knob_names():
            raise ConfigError(f"unknown knob '{self.name}' in space{_did_you_mean(self.name, knob_names())}")
        if bool(self.choices) == (self.low is not None):
            raise ConfigError(f"knob '{self.name}': give either 'choices' or 'low'/'high'")
        if self.low is not None and (self.high is None or self.high < self.low):
            raise ConfigError(f"knob '{self.name}': empty range {self.low}..{self.high}")
        for value in self.choices:
            parse_value(self.name, value)

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

    def without_training(self) -> SearchSpace:
        """A copy that samples no training knob (for models paretodet cannot train), nor knobs that only
        matter with training."""
        from paretodet.spaces._candidate import TRAINING_KNOBS

        dropped = set(TRAINING_KNOBS) | {k.name for k in self.knobs if k.name.startswith("distill.")} | {"prune.lr"}
        return SearchSpace(knobs=tuple(k for k in self.knobs if k.name not in dropped), base=self.base)

    def describe(self) -> list[dict[str, Any]]:
        """One row per knob (name, values, condition), for display."""
        rows = []
        for knob in self.knobs:
            values = list(knob.choices) if knob.choices else f"{knob.low}..{knob.high}"
            cond = " and ".join(f"{k} in {list(v)}" for k, v in knob.when)
            if knob.when_any:
                either = " or ".join(f"{k} in {list(v)}" for k, v in knob.when_any)
                cond = f"{cond} and ({either})" if cond else either
            rows.append({"knob": knob.name, "values": values, "when": cond})
        return rows


_INT8 = (("quant.precision", ("int8",)),)
_PRUNED = (("prune.method", PRUNE_METHODS),)


def default_space(*, qat: bool = True, finetune_epochs: tuple[int, ...] = (0, 5, 10, 20)) -> SearchSpace:
    """The built-in space: input size, runtime, precision (FP16/INT8 are ONNX Runtime artifacts), INT8 knobs,
    pruning (method, ratios, recovery), distillation (student size, init, T, alpha, epochs).

    ``qat=False`` leaves out quantization-aware fine-tuning; ``finetune_epochs`` are the pruning recovery
    choices (each epoch is seconds to minutes of training on a CPU).
    """
    recovering = tuple(e for e in finetune_epochs if e > 0)
    knobs = [
        Knob("imgsz", choices=(160, 192, 224, 256, 288, 320)),
        Knob("runtime", choices=("onnxruntime", "torch")),
        Knob("quant.precision", choices=("fp32", "fp16", "int8"), when=(("runtime", ("onnxruntime",)),)),
        Knob("quant.calibration", choices=("minmax", "entropy", "percentile"), when=_INT8),
        Knob("quant.calib_images", choices=(32, 64, 128), when=_INT8),
        Knob("quant.per_channel", choices=(False, True), when=_INT8),
        Knob("quant.fp_layers", choices=(0, 1, 2, 4), when=_INT8),
    ]
    if qat:
        knobs.append(Knob("quant.qat_epochs", choices=(0, 1, 2), when=_INT8))
    knobs += [
        Knob("prune.method", choices=("none", *PRUNE_METHODS)),
        Knob("prune.ratio", low=0.1, high=0.6, step=0.1, when=_PRUNED),
        Knob("prune.backbone_ratio", choices=(-1.0, 0.0, 0.2, 0.4), when=_PRUNED),
        Knob("prune.neck_ratio", choices=(-1.0, 0.2, 0.4, 0.6), when=_PRUNED),
        Knob("prune.finetune_epochs", choices=finetune_epochs, when=_PRUNED),
    ]
    if recovering:
        knobs.append(
            Knob("prune.lr", low=1e-4, high=2e-3, log=True, when=(*_PRUNED, ("prune.finetune_epochs", recovering)))
        )
    students = (0.75, 0.5, 0.25)
    student = (("distill.student_width", students),)
    knobs += [
        Knob("distill.student_width", choices=(1.0, *students)),
        Knob("distill.student_depth", choices=(1.0, 0.5), when=student),
        Knob("distill.init", choices=("teacher", "scratch"), when=student),
        Knob("distill.epochs", choices=(10, 30), when=student),
        Knob("distill.lr", low=2e-4, high=3e-3, log=True, when=student),
        Knob(
            "distill.alpha", choices=(0.0, 0.25, 0.5, 0.75), when_any=(*student, ("prune.finetune_epochs", recovering))
        ),
        Knob("distill.temperature", low=1.0, high=8.0, step=0.5, when=(("distill.alpha", (0.25, 0.5, 0.75)),)),
    ]
    return SearchSpace(knobs=tuple(knobs))


def sample(trial: optuna.Trial, space: SearchSpace) -> Candidate:
    """Sample one candidate from ``space`` with an Optuna trial (conditional knobs honoured)."""
    values: dict[str, Any] = {}
    base = space.base.to_dict()
    for knob in space.knobs:
        if not knob.active(values, base):
            continue
        if knob.choices:
            values[knob.name] = trial.suggest_categorical(knob.name, list(knob.choices))
        elif isinstance(space.base.to_dict()[knob.name], int):
            step = int(knob.step or 1)
            values[knob.name] = trial.suggest_int(
                knob.name, int(knob.low or 0), int(knob.high or 0), step=step, log=knob.log
            )
        else:
            value = trial.suggest_float(
                knob.name, float(knob.low or 0), float(knob.high or 0), step=knob.step, log=knob.log
            )
            # readable, hash-stable configs: 0.3 rather than 0.30000000000000004; 3 significant digits on log scales
            values[knob.name] = float(f"{value:.3g}") if knob.log else round(value, 6)
    return space.base.replace(values)
