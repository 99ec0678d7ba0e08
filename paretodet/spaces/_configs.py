"""The nested configs of a Candidate (``quant.*``, ``prune.*``, ``distill.*``): each knob declared once, as
a field made with :func:`~paretodet.spaces._knobs.knob`, plus the conditions under which knobs act and the words
that say the knobs combined in one phrase (``INT8 percentile``, ``20 ep KD-recovered (alpha 0.5)``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretodet.compress import MAX_PRUNE_RATIO, PRUNE_METHODS, STRUCTURED_METHODS, int8_engine_names
from paretodet.runtimes import runtime_spec
from paretodet.spaces._knobs import Condition, KnobValues, knob, say, value_text

if TYPE_CHECKING:
    from paretodet.compress import PruneSpec

__all__ = [
    "CALIBRATIONS",
    "PRECISIONS",
    "PRUNE_CHOICES",
    "PRUNE_METHOD_NAMES",
    "DistillConfig",
    "PruneConfig",
    "QuantConfig",
]

PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")
CALIBRATIONS: tuple[str, ...] = ("minmax", "entropy", "percentile")
PRUNE_CHOICES: tuple[str, ...] = ("none", *PRUNE_METHODS)
# how reports name each pruning method
PRUNE_METHOD_NAMES = {"l1": "L1", "l2": "L2", "fpgm": "FPGM", "taylor": "Taylor", "level": "unstructured (level)"}
_PRUNED = ("prune", "recover")  # the stages every pruning knob feeds

# when knobs act (``v`` reads a missing knob as its default; ``v.on(t)``: a switch knob of technique t is set)
INT8 = Condition("quant.precision is int8", lambda v: v["quant.precision"] == "int8")
QDQ = Condition("int8 by ONNX Runtime's QDQ quantizer", lambda v: INT8(v) and v["quant.engine"] == "qdq")
NNCF = Condition("int8 by NNCF", lambda v: INT8(v) and v["quant.engine"] == "nncf")
HINTED = Condition("the runtime takes a precision hint", lambda v: bool(runtime_spec(v["runtime"]).hints))
PRUNED = Condition("the model is pruned", lambda v: v.on("prune"))
RECOVERING = Condition(
    "pruned, with recovery epochs", lambda v: PRUNED(v) and bool(v["prune.finetune_epochs"]), training=True
)


def untaught_copy(width: float, depth: float, yaml: str, init: str, alpha: float) -> bool:
    """Whether a "student" would be the searched model itself trained again on its labels (full width and depth,
    no YAML, init teacher, alpha 0): that teaches nothing, so no student is trained (``distill.teacher`` may
    still teach recovery)."""
    return width == depth == 1.0 and not yaml and init == "teacher" and not alpha


def _trains_student(v: KnobValues) -> bool:
    names = ("student_width", "student_depth", "student_yaml", "init", "alpha")
    return v.on("distill") and not untaught_copy(*(v[f"distill.{n}"] for n in names))


STUDENT = Condition("a student is trained", _trains_student, training=True)
KD = Condition("a student or recovery is trained", lambda v: STUDENT(v) or RECOVERING(v), training=True)
KD_ON = Condition("trained with distill.alpha > 0", lambda v: KD(v) and bool(v["distill.alpha"]), training=True)


# the words of knobs whose phrase states other knobs too (``worded_by``), or depends on them
def _precision_words(precision: str, v: KnobValues) -> str:
    """``FP16``; ``INT8``, plus the engine and calibration when set (``INT8 NNCF``, ``INT8 percentile``)."""
    if precision != "int8":
        return precision.upper()
    engine = f" {str(v['quant.engine']).upper()}" if v.changed("quant.engine") else ""
    return f"INT8{engine}" + (f" {v['quant.calibration']}" if v.changed("quant.calibration") else "")


def _pruning_words(method: str, v: KnobValues) -> str:
    """``L2 pruning 0.3``: the method and its ratio."""
    return f"{PRUNE_METHOD_NAMES.get(method, method)} pruning {value_text(v['prune.ratio'])}"


def _recovery_words(epochs: int, v: KnobValues) -> str:
    """``one-shot``, ``20 ep fine-tuned`` or ``20 ep KD-recovered (alpha 0.5)``."""
    if not epochs:
        return "one-shot"
    return f"{epochs} ep " + (f"KD-recovered ({_kd_words(v)})" if v["distill.alpha"] else "fine-tuned")


def _student_words(width: float, v: KnobValues) -> str:
    """``student w0.5 d0.33, 30 ep`` (or the student's YAML) when a student is trained."""
    if not v.on("distill"):
        return ""
    yaml = v["distill.student_yaml"]
    head = f"student {yaml}" if yaml else f"student w{value_text(width)} d{value_text(v['distill.student_depth'])}"
    return f"{head}, {v['distill.epochs']} ep"


def _student_kd_words(alpha: float, v: KnobValues) -> str:
    """``KD (alpha 0.5, T 2)`` or ``no KD`` for a student (recovery alone: the recovery's words say it)."""
    if not v.on("distill"):
        return ""
    return f"KD ({_kd_words(v)})" if alpha else "no KD"


def _kd_words(v: KnobValues) -> str:
    """``alpha 0.5``, plus ``T 2`` when the temperature is set."""
    temperature = f", T {value_text(v['distill.temperature'])}" if v.changed("distill.temperature") else ""
    return f"alpha {value_text(v['distill.alpha'])}{temperature}"


def _fp_blocks_words(blocks: int, v: KnobValues) -> str:
    """``1 FP32 block``, ``2 FP32 blocks``."""
    return f"{blocks} FP32 block{'s' if blocks != 1 else ''}"


def _max_drop_words(drop: float, v: KnobValues) -> str:
    """``accuracy control <= 0.5 pt`` (the largest mAP50-95 drop, in points)."""
    return f"accuracy control <= {100 * drop:.2g} pt"


@dataclass(frozen=True)
class QuantConfig:
    """Quantization knobs (``quant.*``); all but ``precision`` apply to int8 only.

    Attributes:
        precision: fp32, fp16 (FP16 weights, FP32 IO) or int8.
        engine: what quantizes to INT8: qdq (ONNX Runtime's static QDQ quantizer; the QDQ file also runs on
            OpenVINO) or nncf (NNCF post-training quantization of an OpenVINO model).
        max_drop: nncf: with > 0, NNCF's accuracy control keeps layers in FP32 until the mAP50-95 drop on
            held-out training images is at most this (absolute, 0.005 = 0.5 point); 0 = plain NNCF PTQ.
        calibration: qdq: activation range estimation: minmax, entropy or percentile.
        calib_images: training images used for calibration.
        per_channel: per-output-channel weight scales.
        fp_layers: how many of the most sensitive blocks stay FP32 (the head's decode always does).
        qat_epochs: quantization-aware fine-tuning epochs before the INT8 export (0 = plain PTQ).
    """

    precision: str = knob(
        "fp32",
        help="weights/compute precision (each runtime takes its own: paretodet spaces)",
        stages=("export",),
        choices=PRECISIONS,
        technique="quant",
        switch=True,
        needs=(("fp16", "fp16"), ("int8", "int8")),
        words=_precision_words,
    )
    engine: str = knob(
        "qdq",
        help="int8: qdq (ONNX Runtime QDQ, runs on onnxruntime and openvino) or nncf (openvino)",
        stages=("int8",),
        choices=int8_engine_names,
        when=INT8,
        technique="quant",
        keyed_at_default=False,
        worded_by="quant.precision",
    )
    max_drop: float = knob(
        0.0,
        help="int8 nncf: accuracy control's largest mAP50-95 drop (0 = plain PTQ)",
        stages=("int8",),
        low=0.0,
        high=1.0,
        when=NNCF,
        technique="quant",
        keyed_at_default=False,
        words=_max_drop_words,
    )
    calibration: str = knob(
        "minmax",
        help="int8 qdq: activation range estimation",
        stages=("calibration", "int8"),
        choices=CALIBRATIONS,
        when=QDQ,
        technique="quant",
        worded_by="quant.precision",
    )
    calib_images: int = knob(
        64,
        help="int8: training images used for calibration",
        stages=("calibration", "int8"),
        low=1,
        high=100_000,
        when=INT8,
        technique="quant",
        words=say("{} calibration images"),
    )
    per_channel: bool = knob(
        False,
        help="int8 qdq: per-output-channel weight scales (nncf: always)",
        stages=("qat", "int8"),
        when=QDQ,
        technique="quant",
        words=say("per-channel"),
    )
    fp_layers: int = knob(
        0,
        help="int8: most sensitive blocks kept FP32 (mixed precision)",
        stages=("qat", "int8"),
        low=0,
        high=1000,
        when=INT8,
        technique="quant",
        needs="mixed_precision",
        words=_fp_blocks_words,
    )
    qat_epochs: int = knob(
        0,
        help="int8: quantization-aware fine-tuning epochs (0 = PTQ)",
        stages=("qat", "int8"),
        low=0,
        high=1000,
        when=INT8,
        trains=True,
        technique="quant",
        needs="qat",
        words=say("{} ep QAT"),
    )


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

    method: str = knob(
        "none",
        help="pruner (level = unstructured weights)",
        stages=_PRUNED,
        choices=PRUNE_CHOICES,
        technique="prune",
        switch=True,
        needs=(*((m, "prune") for m in STRUCTURED_METHODS), ("level", "unstructured")),
        words=_pruning_words,
    )
    ratio: float = knob(
        0.3,
        help="fraction of each conv's channels (weights) removed",
        stages=_PRUNED,
        low=0.0,
        high=MAX_PRUNE_RATIO,
        when=PRUNED,
        technique="prune",
        worded_by="prune.method",
    )
    backbone_ratio: float = knob(
        -1.0,
        help="backbone's own ratio (-1 = prune.ratio)",
        stages=_PRUNED,
        low=0.0,
        high=MAX_PRUNE_RATIO,
        extra=(-1.0,),
        when=PRUNED,
        technique="prune",
        words=say("backbone {}"),
    )
    neck_ratio: float = knob(
        -1.0,
        help="neck's own ratio (-1 = prune.ratio); the head is kept",
        stages=_PRUNED,
        low=0.0,
        high=MAX_PRUNE_RATIO,
        extra=(-1.0,),
        when=PRUNED,
        technique="prune",
        words=say("neck {}"),
    )
    skip: str = knob(
        "",
        help="modules never pruned, e.g. model.0,model.9",
        stages=_PRUNED,
        text="comma-separated module names",
        when=PRUNED,
        technique="prune",
        words=say("skip {}"),
    )
    finetune_epochs: int = knob(
        0,
        help="recovery fine-tuning epochs after pruning",
        stages=("recover",),
        low=0,
        high=1000,
        when=PRUNED,
        trains=True,
        technique="prune",
        needs="recover",
        words=_recovery_words,
        words_at_default=True,
    )
    lr: float = knob(
        0.0005,
        help="recovery learning rate (AdamW, linear decay to a tenth)",
        stages=("recover",),
        low=0.0,
        low_open=True,
        high=1.0,
        when=RECOVERING,
        technique="prune",
        words=say("lr {}"),
    )

    def skip_names(self) -> tuple[str, ...]:
        """The ``skip`` module names as a tuple."""
        return tuple(name.strip() for name in self.skip.split(",") if name.strip())

    def part_ratio(self, part: str) -> float | None:
        """The ratio of ``backbone`` or ``neck`` (None: the global ratio)."""
        value = self.backbone_ratio if part == "backbone" else self.neck_ratio
        return None if value < 0 else value

    def spec(self) -> PruneSpec:
        """What the pruning driver (``paretodet.compress.prune_model``) takes, read off these knobs (the
        recovery knobs are not pruning's: they train the pruned model afterwards).

        Example:
            >>> PruneConfig(method="l2", ratio=0.3, neck_ratio=0.5).spec()
            PruneSpec(method='l2', ratio=0.3, backbone_ratio=None, neck_ratio=0.5, skip=(), round_to=8)
        """
        from paretodet.compress import PruneSpec

        return PruneSpec(
            method=self.method,
            ratio=self.ratio,
            backbone_ratio=self.part_ratio("backbone"),
            neck_ratio=self.part_ratio("neck"),
            skip=self.skip_names(),
        )


@dataclass(frozen=True)
class DistillConfig:
    """Knowledge-distillation knobs (``distill.*``).

    A student is trained when ``student_width`` or ``student_depth`` is below 1 or ``student_yaml`` or
    ``teacher`` is set;
    ``temperature`` and ``alpha`` also drive pruning recovery (the unpruned teacher teaches the pruned model).

    Attributes:
        student_width / student_depth: multipliers of the teacher's width / depth (1 = the teacher's).
        student_yaml: a model YAML for the student instead (same classes as the teacher).
        teacher: a model (path or name, any detector family) that teaches instead of the searched model; set
            alone (full width and depth), the searched model itself is trained with it for ``epochs``.
        init: ``teacher`` (start from the teacher's weights where shapes allow) or ``scratch``.
        temperature: softening temperature T of class logits and DFL distributions, in [1, 8].
        alpha: weight of the distillation loss (0 = plain training on the labels).
        feature_weight: weight of channel-wise distillation of the neck features within the KD share (0 = off).
        epochs / lr: student training epochs and learning rate (AdamW, linear decay to a tenth).
    """

    student_width: float = knob(
        1.0,
        help="student width / teacher width (1 and depth 1: no student)",
        stages=("student",),
        low=0.0,
        low_open=True,
        high=1.0,
        trains=True,
        technique="distill",
        switch=True,
        needs="student",
        words=_student_words,
        words_at_default=True,
    )
    student_depth: float = knob(
        1.0,
        help="student depth / teacher depth",
        stages=("student",),
        low=0.0,
        low_open=True,
        high=1.0,
        trains=True,
        technique="distill",
        switch=True,
        needs="student",
        worded_by="distill.student_width",
    )
    student_yaml: str = knob(
        "",
        help="a model YAML for the student instead (same classes)",
        stages=("student",),
        text="path or empty",
        trains=True,
        technique="distill",
        switch=True,
        needs="student",
        worded_by="distill.student_width",
    )
    teacher: str = knob(
        "",
        help="the teacher to learn from, any family (empty: the searched model); alone, it trains the searched "
        "model itself with it for distill.epochs",
        stages=("student", "recover"),
        text="model path or name, or empty",
        trains=True,
        technique="distill",
        switch=True,
        needs="kd",
        keyed_at_default=False,
        words=say("teacher {}"),
    )
    init: str = knob(
        "teacher",
        help="student starts from the teacher's most important channels or random",
        stages=("student",),
        choices=("teacher", "scratch"),
        when=STUDENT,
        technique="distill",
        words=say("from {}"),
    )
    temperature: float = knob(
        4.0,
        help="softening temperature of class logits and DFL bins",
        stages=("student", "recover"),
        low=1.0,
        high=8.0,
        when=KD_ON,
        technique="distill",
        worded_by="distill.alpha",
    )
    alpha: float = knob(
        0.0,
        help="KD weight for student training and recovery (0 = labels only)",
        stages=("student", "recover"),
        low=0.0,
        high=1.0,
        when=KD,
        technique="distill",
        needs="kd",
        words=_student_kd_words,
        words_at_default=True,
    )
    feature_weight: float = knob(
        0.0,
        help="weight of channel-wise neck-feature distillation within alpha's share (0 = off)",
        stages=("student", "recover"),
        low=0.0,
        high=100.0,
        when=KD_ON,
        technique="distill",
        needs="kd_features",
        keyed_at_default=False,
        words=say("CWD weight {}"),
    )
    epochs: int = knob(
        30,
        help="student training epochs",
        stages=("student",),
        low=1,
        high=10_000,
        when=STUDENT,
        technique="distill",
        worded_by="distill.student_width",
    )
    lr: float = knob(
        0.001,
        help="student learning rate (Ultralytics: AdamW, linear decay to a tenth; torchvision: SGD, cosine)",
        stages=("student",),
        low=0.0,
        low_open=True,
        high=1.0,
        when=STUDENT,
        technique="distill",
        words=say("lr {}"),
    )

    def has_student(self) -> bool:
        """Whether a student is trained at all: a switch knob is off its default, except ``teacher`` alone with
        ``alpha`` 0 and ``init`` teacher (the searched model would only be trained again on its labels; the
        teacher then teaches pruning recovery only).

        Example:
            >>> DistillConfig(teacher="big.pt").has_student(), DistillConfig(teacher="big.pt", alpha=0.5).has_student()
            (False, True)
        """
        switched = any(
            getattr(self, f.name) != f.default for f in dataclasses.fields(self) if f.metadata["knob"].switch
        )
        copy = untaught_copy(self.student_width, self.student_depth, self.student_yaml, self.init, self.alpha)
        return switched and not copy
