"""The Candidate: one point of the search space, with one dotted name per knob everywhere."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from paretodet.compress import MAX_PRUNE_RATIO, PRUNE_METHODS, RUNTIMES
from paretodet.errors import ConfigError

__all__ = [
    "CALIBRATIONS",
    "PRECISIONS",
    "PRUNE_CHOICES",
    "Candidate",
    "PruneConfig",
    "QuantConfig",
    "inactive_knobs",
    "knob_names",
    "parse_value",
]

PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")
CALIBRATIONS: tuple[str, ...] = ("minmax", "entropy", "percentile")
PRUNE_CHOICES: tuple[str, ...] = ("none", *PRUNE_METHODS)
# knobs whose non-default values train the model (not possible for models without a training loss)
TRAINING_KNOBS: tuple[str, ...] = (
    "quant.qat_epochs",
    "prune.finetune_epochs",
    "distill.student_width",
    "distill.student_depth",
    "distill.student_yaml",
)


# knob -> (allowed values, what it does): the table `paretodet spaces` prints (a test checks it is complete)
KNOB_INFO: dict[str, tuple[str, str]] = {
    "imgsz": ("multiple of 32 in [32, 4096]", "square input size of the artifact"),
    "runtime": ("onnxruntime | torch", "what the artifact ships on (torch: FP32 Ultralytics .pt)"),
    "quant.precision": ("fp32 | fp16 | int8", "weights/compute precision (fp16, int8 need onnxruntime)"),
    "quant.calibration": ("minmax | entropy | percentile", "int8: activation range estimation"),
    "quant.calib_images": ("int in [1, 100000]", "int8: training images used for calibration"),
    "quant.per_channel": ("bool", "int8: per-output-channel weight scales"),
    "quant.fp_layers": ("int >= 0", "int8: most sensitive blocks kept FP32 (mixed precision)"),
    "quant.qat_epochs": ("int >= 0", "int8: quantization-aware fine-tuning epochs (0 = PTQ)"),
    "prune.method": ("none | l1 | l2 | fpgm | taylor | level", "pruner (level = unstructured weights)"),
    "prune.ratio": ("float in [0, 0.9]", "fraction of each conv's channels (weights) removed"),
    "prune.backbone_ratio": ("-1 or float in [0, 0.9]", "backbone's own ratio (-1 = prune.ratio)"),
    "prune.neck_ratio": ("-1 or float in [0, 0.9]", "neck's own ratio (-1 = prune.ratio); the head is kept"),
    "prune.skip": ("comma-separated module names", "modules never pruned, e.g. model.0,model.9"),
    "prune.finetune_epochs": ("int in [0, 1000]", "recovery fine-tuning epochs after pruning"),
    "prune.lr": ("float in (0, 1]", "recovery learning rate (AdamW, linear decay to a tenth)"),
    "distill.student_width": ("float in (0, 1]", "student width / teacher width (1 and depth 1: no student)"),
    "distill.student_depth": ("float in (0, 1]", "student depth / teacher depth"),
    "distill.student_yaml": ("path or empty", "a model YAML for the student instead (same classes)"),
    "distill.init": ("teacher | scratch", "student starts from the teacher's weights or random"),
    "distill.temperature": ("float in [1, 8]", "softening temperature of class logits and DFL bins"),
    "distill.alpha": ("float in [0, 1]", "KD weight for student training and recovery (0 = labels only)"),
    "distill.epochs": ("int in [1, 10000]", "student training epochs"),
    "distill.lr": ("float in (0, 1]", "student learning rate (AdamW, linear decay to a tenth)"),
}


@dataclass(frozen=True)
class QuantConfig:
    """Quantization knobs (``quant.*``); all but ``precision`` apply to int8 only.

    Attributes:
        precision: fp32, fp16 (FP16 weights, FP32 IO) or int8 (ONNX Runtime static QDQ).
        calibration: activation range estimation: minmax, entropy or percentile.
        calib_images: training images used for calibration.
        per_channel: per-output-channel weight scales.
        fp_layers: how many of the most sensitive blocks stay FP32 (the head's decode always does).
        qat_epochs: quantization-aware fine-tuning epochs before the INT8 export (0 = plain PTQ).
    """

    precision: str = "fp32"
    calibration: str = "minmax"
    calib_images: int = 64
    per_channel: bool = False
    fp_layers: int = 0
    qat_epochs: int = 0


@dataclass(frozen=True)
class PruneConfig:
    """Pruning knobs (``prune.*``); all but ``method`` apply only when ``method`` is not ``none``.

    Attributes:
        method: none; l1, l2, fpgm, taylor (structured: channels physically removed, NNI picks them);
            level (unstructured: single weights zeroed, no smaller or faster unless the file is compressed).
        ratio: fraction of each backbone/neck convolution's channels (weights, for level) removed.
        backbone_ratio / neck_ratio: per-part ratio; -1 means "same as ratio". The head is never pruned.
        skip: comma-separated module names kept unpruned (e.g. ``model.0,model.9``).
        finetune_epochs: recovery fine-tuning epochs after pruning (Ultralytics trainer, pruned model kept).
        lr: recovery learning rate (AdamW, linear decay to a tenth).
    """

    method: str = "none"
    ratio: float = 0.3
    backbone_ratio: float = -1.0
    neck_ratio: float = -1.0
    skip: str = ""
    finetune_epochs: int = 0
    lr: float = 0.0005

    def skip_names(self) -> tuple[str, ...]:
        """The ``skip`` module names as a tuple."""
        return tuple(name.strip() for name in self.skip.split(",") if name.strip())

    def part_ratio(self, part: str) -> float | None:
        """The ratio of ``backbone`` or ``neck`` (None: the global ratio)."""
        value = self.backbone_ratio if part == "backbone" else self.neck_ratio
        return None if value < 0 else value


@dataclass(frozen=True)
class DistillConfig:
    """Knowledge-distillation knobs (``distill.*``).

    A student is trained when ``student_width`` or ``student_depth`` is below 1 or ``student_yaml`` is set;
    ``temperature`` and ``alpha`` also drive pruning recovery (the unpruned teacher teaches the pruned model).

    Attributes:
        student_width / student_depth: multipliers of the teacher's width / depth (1 = the teacher's).
        student_yaml: a model YAML for the student instead (same classes as the teacher).
        init: ``teacher`` (start from the teacher's weights where shapes allow) or ``scratch``.
        temperature: softening temperature T of class logits and DFL distributions, in [1, 8].
        alpha: weight of the distillation loss (0 = plain training on the labels).
        epochs / lr: student training epochs and learning rate (AdamW, linear decay to a tenth).
    """

    student_width: float = 1.0
    student_depth: float = 1.0
    student_yaml: str = ""
    init: str = "teacher"
    temperature: float = 4.0
    alpha: float = 0.0
    epochs: int = 30
    lr: float = 0.001

    def has_student(self) -> bool:
        """Whether a student is trained at all."""
        return bool(self.student_yaml) or self.student_width != 1.0 or self.student_depth != 1.0


@dataclass(frozen=True)
class Candidate:
    """One candidate deployment config.

    Attributes:
        imgsz: square input size, a multiple of 32.
        runtime: ``onnxruntime`` or ``torch``.
        quant: quantization knobs.
        distill: distillation knobs (a student is trained first: student -> prune -> recover -> quantize).
        prune: pruning knobs (prune -> recovery fine-tune -> export/quantize).

    Example:
        >>> c = Candidate.from_dict({"imgsz": 256, "quant.precision": "fp16"})
        >>> c.to_dict()["quant.precision"]
        'fp16'
    """

    imgsz: int = 320
    runtime: str = "onnxruntime"
    quant: QuantConfig = field(default_factory=QuantConfig)
    prune: PruneConfig = field(default_factory=PruneConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.imgsz, int) or self.imgsz < 32 or self.imgsz % 32 or self.imgsz > 4096:
            raise ConfigError(f"imgsz must be a multiple of 32 between 32 and 4096, got {self.imgsz}")
        _check_choice("runtime", self.runtime, RUNTIMES)
        _check_choice("quant.precision", self.quant.precision, PRECISIONS)
        _check_choice("quant.calibration", self.quant.calibration, CALIBRATIONS)
        if self.runtime == "torch" and self.quant.precision != "fp32":
            raise ConfigError("runtime=torch runs FP32 on the CPU: set quant.precision=fp32 or runtime=onnxruntime")
        if not 1 <= self.quant.calib_images <= 100_000:
            raise ConfigError(f"quant.calib_images must be between 1 and 100000, got {self.quant.calib_images}")
        if not 0 <= self.quant.fp_layers <= 1000:
            raise ConfigError(f"quant.fp_layers must be >= 0, got {self.quant.fp_layers}")
        if not 0 <= self.quant.qat_epochs <= 1000:
            raise ConfigError(f"quant.qat_epochs must be >= 0, got {self.quant.qat_epochs}")
        self._check_prune()
        self._check_distill()

    def _check_prune(self) -> None:
        prune = self.prune
        _check_choice("prune.method", prune.method, PRUNE_CHOICES)
        if not 0.0 <= prune.ratio <= MAX_PRUNE_RATIO:
            raise ConfigError(f"prune.ratio must be in [0, {MAX_PRUNE_RATIO}], got {prune.ratio}")
        for key, value in (("prune.backbone_ratio", prune.backbone_ratio), ("prune.neck_ratio", prune.neck_ratio)):
            if value != -1.0 and not 0.0 <= value <= MAX_PRUNE_RATIO:
                raise ConfigError(f"{key} must be in [0, {MAX_PRUNE_RATIO}] or -1 (same as prune.ratio), got {value}")
        if not 0 <= prune.finetune_epochs <= 1000:
            raise ConfigError(f"prune.finetune_epochs must be between 0 and 1000, got {prune.finetune_epochs}")
        if not 0.0 < prune.lr <= 1.0:
            raise ConfigError(f"prune.lr must be in (0, 1], got {prune.lr}")

    def _check_distill(self) -> None:
        kd = self.distill
        for key, value in (("distill.student_width", kd.student_width), ("distill.student_depth", kd.student_depth)):
            if not 0.0 < value <= 1.0:
                raise ConfigError(f"{key} must be in (0, 1] (a multiple of the teacher's), got {value}")
        _check_choice("distill.init", kd.init, ("teacher", "scratch"))
        if not 1.0 <= kd.temperature <= 8.0:
            raise ConfigError(f"distill.temperature must be in [1, 8], got {kd.temperature}")
        if not 0.0 <= kd.alpha <= 1.0:
            raise ConfigError(f"distill.alpha must be in [0, 1], got {kd.alpha}")
        if not 1 <= kd.epochs <= 10_000:
            raise ConfigError(f"distill.epochs must be between 1 and 10000, got {kd.epochs}")
        if not 0.0 < kd.lr <= 1.0:
            raise ConfigError(f"distill.lr must be in (0, 1], got {kd.lr}")

    def training_knobs(self) -> list[str]:
        """The knobs set here that need training (QAT, pruning recovery, a student, KD)."""
        flat, defaults = self.to_dict(), Candidate().to_dict()
        inactive = inactive_knobs(flat)
        return [k for k in TRAINING_KNOBS if k not in inactive and flat[k] != defaults[k]]

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
                raise ConfigError(f"unknown knob '{key}'{_did_you_mean(key, list(current))}")
            current[key] = parse_value(key, raw)
        return _unflatten(current)

    def stage_hash(self, keys: tuple[str, ...], *, salt: str = "") -> str:
        """Stable hash of the given knobs (plus ``salt``, e.g. the model digest): a stage's cache key."""
        flat = self.to_dict()
        defaults = Candidate().to_dict()
        inactive = inactive_knobs(flat)  # a knob with no effect must not split the cache
        values = {k: defaults[k] if k in inactive else flat[k] for k in sorted(keys)}
        payload = json.dumps({"salt": salt, **values}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def inactive_knobs(values: dict[str, Any]) -> set[str]:
    """Knobs that have no effect for these values (the INT8 knobs of an FP32/FP16 candidate, the pruning
    knobs of an unpruned one, the recovery learning rate without recovery epochs).

    Example:
        >>> sorted(inactive_knobs({"quant.precision": "fp16"}))[:1]
        ['prune.backbone_ratio']
    """
    names = knob_names()
    inactive: set[str] = set()
    if values.get("quant.precision") != "int8":
        inactive |= {k for k in names if k.startswith("quant.") and k != "quant.precision"}
    pruned = values.get("prune.method", "none") != "none"
    recovering = pruned and bool(values.get("prune.finetune_epochs", 0))
    if not pruned:
        inactive |= {k for k in names if k.startswith("prune.") and k != "prune.method"}
    elif not recovering:
        inactive.add("prune.lr")
    student = bool(values.get("distill.student_yaml")) or any(
        values.get(k, 1.0) != 1.0 for k in ("distill.student_width", "distill.student_depth")
    )
    if not student:
        inactive |= {"distill.init", "distill.epochs", "distill.lr"}
    if not (student or recovering):
        inactive |= {"distill.alpha", "distill.temperature"}
    elif not values.get("distill.alpha", 0.0):
        inactive.add("distill.temperature")
    return inactive


def knob_names() -> list[str]:
    """Every dotted knob name."""
    return list(Candidate().to_dict())


def parse_value(key: str, raw: Any) -> Any:
    """Convert ``raw`` (often a string from the command line) to the type of knob ``key``."""
    default = Candidate().to_dict()[key]
    if isinstance(raw, str):
        text = raw.strip()
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
            raise ConfigError(f"{key}={raw!r} is not a {type(default).__name__}") from None
        return text
    if isinstance(default, float) and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if type(raw) is not type(default):
        raise ConfigError(f"{key}={raw!r} is not a {type(default).__name__}")
    return raw


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key}={value!r} is not one of {', '.join(choices)}{_did_you_mean(value, list(choices))}")


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


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
    return Candidate(
        **top,
        quant=QuantConfig(**nested.get("quant", {})),
        prune=PruneConfig(**nested.get("prune", {})),
        distill=DistillConfig(**nested.get("distill", {})),
    )
