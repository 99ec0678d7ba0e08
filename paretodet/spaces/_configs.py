"""The nested configs of a Candidate (``quant.*``, ``prune.*``, ``distill.*``): each knob declared once, as
a field made with :func:`~paretodet.spaces._knobs.knob`, plus the conditions under which knobs act."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from paretodet.compress import MAX_PRUNE_RATIO, PRUNE_METHODS, STRUCTURED_METHODS, int8_engine_names
from paretodet.runtimes import runtime_spec
from paretodet.spaces._knobs import Condition, knob

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
STUDENT = Condition("a student is trained", lambda v: v.on("distill"), training=True)
KD = Condition("a student or recovery is trained", lambda v: STUDENT(v) or RECOVERING(v), training=True)
KD_ON = Condition("trained with distill.alpha > 0", lambda v: KD(v) and bool(v["distill.alpha"]), training=True)


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
    )
    engine: str = knob(
        "qdq",
        help="int8: qdq (ONNX Runtime QDQ, runs on onnxruntime and openvino) or nncf (openvino)",
        stages=("int8",),
        choices=int8_engine_names,
        when=INT8,
        technique="quant",
        keyed_at_default=False,
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
    )
    calibration: str = knob(
        "minmax",
        help="int8 qdq: activation range estimation",
        stages=("calibration", "int8"),
        choices=CALIBRATIONS,
        when=QDQ,
        technique="quant",
    )
    calib_images: int = knob(
        64,
        help="int8: training images used for calibration",
        stages=("calibration", "int8"),
        low=1,
        high=100_000,
        when=INT8,
        technique="quant",
    )
    per_channel: bool = knob(
        False,
        help="int8 qdq: per-output-channel weight scales (nncf: always)",
        stages=("qat", "int8"),
        when=QDQ,
        technique="quant",
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
    )
    ratio: float = knob(
        0.3,
        help="fraction of each conv's channels (weights) removed",
        stages=_PRUNED,
        low=0.0,
        high=MAX_PRUNE_RATIO,
        when=PRUNED,
        technique="prune",
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
    )
    skip: str = knob(
        "",
        help="modules never pruned, e.g. model.0,model.9",
        stages=_PRUNED,
        text="comma-separated module names",
        when=PRUNED,
        technique="prune",
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
    )

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
    )
    init: str = knob(
        "teacher",
        help="student starts from the teacher's most important channels or random",
        stages=("student",),
        choices=("teacher", "scratch"),
        when=STUDENT,
        technique="distill",
    )
    temperature: float = knob(
        4.0,
        help="softening temperature of class logits and DFL bins",
        stages=("student", "recover"),
        low=1.0,
        high=8.0,
        when=KD_ON,
        technique="distill",
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
    )
    feature_weight: float = knob(
        0.0,
        help="weight of channel-wise neck-feature distillation within alpha's share (0 = off)",
        stages=("student", "recover"),
        low=0.0,
        high=100.0,
        when=KD_ON,
        technique="distill",
        keyed_at_default=False,
    )
    epochs: int = knob(
        30,
        help="student training epochs",
        stages=("student",),
        low=1,
        high=10_000,
        when=STUDENT,
        technique="distill",
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
    )

    def has_student(self) -> bool:
        """Whether a student is trained at all (a switch knob is off its default)."""
        return any(getattr(self, f.name) != f.default for f in dataclasses.fields(self) if f.metadata["knob"].switch)
