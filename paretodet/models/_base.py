"""The detector seam: what differs between detector families, declared once per family.

Lifecycle of a family (one registry entry, see :mod:`paretodet.models._families`):

1. ``claims(source)`` says whether it loads what the user named (a path, a name, ``torchvision:BUILDER``);
   ``load`` returns a :class:`Detector` (FP32, eval, CPU) and ``save`` writes a checkpoint ``load`` reads back.
2. Deployment: ``inference_module`` wraps the model for export (input: a letterboxed RGB ``(1, 3, S, S)``
   float tensor in [0, 1]; outputs: ``output_names``); ``decode`` turns those raw outputs, as any runtime
   returns them, into ``(n, 6)`` detections ``x0 y0 x1 y1 score cls`` in input pixels.
3. INT8: ``quantizable_blocks`` names the blocks of its ONNX graph that may be quantized (and that
   mixed precision ranks); ``fp32_nodes`` are the nodes that always stay FP32 (decode, box coding, NMS);
   ``calibration_trim`` leaves the calibration images with the most extreme activations out of calibration.
4. Pruning: ``prunable_copy`` prepares a copy, ``prune_parts`` maps each prunable convolution to its
   part (``backbone``/``neck``), ``prune_trace`` gives the module and inputs Torch-Pruning traces, so the
   consumers of a pruned convolution (heads included) follow.
5. Training: ``finetune`` trains with the family's own loss, or with the criterion ``distillation(teacher,
   settings)`` builds where the family supports ``kd`` (a teacher of the same family or, through detections,
   of another); ``loss_batches`` / ``batch_loss`` feed Taylor pruning's gradients. ``training_recipe`` is how
   the family trains as data (optimizer, learning-rate rule, warm-up, loss gains ... and the trainer packages'
   versions): the trainer reads the same recipe, and every stage that trains hashes it into its cache key.

``techniques`` lists what the family supports (``supported_techniques(detector)`` narrows it per model); the
search drops the rest from its space.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np
    import torch

    from paretodet.data import DatasetInfo

__all__ = [
    "ALL_TECHNIQUES",
    "Detector",
    "DetectorFamily",
    "EpochCallback",
    "KDSettings",
    "StudentSpec",
    "TrainRecipe",
    "package_versions",
]

# what a family may support: quantization, its mitigations, pruning, recovery, students and distillation (with
# a feature-imitation term: kd_features)
ALL_TECHNIQUES: frozenset[str] = frozenset(
    {"fp16", "int8", "qat", "mixed_precision", "prune", "unstructured", "recover", "student", "kd", "kd_features"}
)

EpochCallback = Callable[[int, int, Any], None]  # (epochs done, total, current model)


def package_versions(*packages: str) -> dict[str, str]:
    """The ``__version__`` of each package (imported), by name: what a trained stage's cache key records of the
    code that trained it.

    Example:
        >>> package_versions("torch")  # doctest: +SKIP
        {'torch': '2.4.1+cpu'}
    """
    import importlib

    return {name: str(getattr(importlib.import_module(name), "__version__", "unknown")) for name in packages}


@dataclass
class Detector:
    """A loaded detection model.

    Attributes:
        model: the family's ``nn.Module`` (FP32, eval mode, on CPU).
        names: class names, index = class id.
        source: what the user named (path or model name).
        digest: a content hash of the source (cache keys use it).
        trainable: whether paretodet can train it (has a training loss): False for original YOLOv5 files.
        family: the registry name of its detector family.
        extra: family-specific facts that travel with the model (e.g. a torchvision builder name).
        names_known: False when the source holds no class names (a bare state dict: ``names`` are placeholders
            the dataset's names replace when the class counts match).
        train_imgsz: the input size the model was trained at, as its family reads it (None: unknown); search
            presets centre their input sizes on it.
    """

    model: torch.nn.Module
    names: tuple[str, ...]
    source: str
    digest: str
    trainable: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)
    names_known: bool = True
    train_imgsz: int | None = None
    _: KW_ONLY
    family: str

    @property
    def nc(self) -> int:
        """Number of classes."""
        return len(self.names)

    def params(self) -> int:
        """Number of parameters."""
        return sum(p.numel() for p in self.model.parameters())

    def with_model(self, model: torch.nn.Module, *, source: str, digest: str) -> Detector:
        """The same family, classes and extras around another (transformed) model."""
        return Detector(
            model=model,
            names=self.names,
            source=source,
            digest=digest,
            trainable=self.trainable,
            family=self.family,
            extra=dict(self.extra),
            names_known=self.names_known,
            train_imgsz=self.train_imgsz,
        )


@dataclass(frozen=True)
class StudentSpec:
    """How to build a student: width/depth multipliers of the teacher's scale, or a model YAML.

    Attributes:
        width / depth: multipliers of the teacher's width and depth (0.5 = half the channels).
        yaml: a model YAML to use instead (its ``nc`` must match the teacher's).
        init: ``scratch`` (random) or ``teacher`` (the teacher shrunk to the student's shapes: its most important
            channels and evenly spaced repeats, see the family's student init).
        seed: seed of the random initialisation.
    """

    width: float = 0.5
    depth: float = 1.0
    yaml: Path | None = None
    init: str = "scratch"
    seed: int = 0

    def __post_init__(self) -> None:
        from paretodet.errors import ConfigError

        if not 0.0 < self.width <= 4.0 or not 0.0 < self.depth <= 4.0:
            raise ConfigError(f"student width and depth must be in (0, 4], got width={self.width} depth={self.depth}")
        if self.init not in ("scratch", "teacher"):
            raise ConfigError(f"student init '{self.init}' is not one of scratch, teacher")


@dataclass(frozen=True)
class TrainRecipe:
    """How a family trains: epochs, learning rate (None: the family's default), batch, seed, and the device
    (``cpu``, ``cuda``, ``cuda:N``; see ``check_device``)."""

    epochs: int = 1
    lr: float | None = None
    batch: int = 16
    seed: int = 0
    device: str = "cpu"


@dataclass(frozen=True)
class KDSettings:
    """How a model learns from a teacher: temperature, the teacher's share ``alpha``, the feature-term weight
    (within the teacher's share), the training input size, and whether a teacher whose class names differ from
    the student's is matched by class id (``ignore_class_names``; else refused, see ``check_same_classes``)."""

    temperature: float
    alpha: float
    imgsz: int
    feature_weight: float = 0.0
    ignore_class_names: bool = False


class DetectorFamily(ABC):
    """One detector family (see the module docstring for the lifecycle)."""

    name: ClassVar[str]
    techniques: ClassVar[frozenset[str]]
    output_names: ClassVar[tuple[str, ...]]
    checkpoint_suffix: ClassVar[str] = ".pt"
    # the largest structured pruning ratio a model of this family keeps useful accuracy after with no recovery
    # epochs (measured, see BENCHMARKS.md); a search samples no one-shot structured pruning above it (None: no cap)
    one_shot_prune_limit: ClassVar[float | None] = None
    # the same with recovery epochs: the largest ratio a search's few recovery epochs bring back (None: no cap)
    recovered_prune_limit: ClassVar[float | None] = None
    # AdamW learning rate of quantization-aware fine-tuning (measured per family, see BENCHMARKS.md)
    qat_lr: ClassVar[float] = 1e-4
    # the share of INT8 calibration images left out of calibration: those whose activations run furthest above
    # the other images' (INT8 engines score them on the FP32 model); for families whose models meet rare images
    # that would set every activation range
    calibration_trim: ClassVar[float] = 0.0

    # -- loading -----------------------------------------------------------------------------------------
    @abstractmethod
    def claims(self, source: str) -> bool:
        """Whether this family loads ``source`` (checked in registry order; cheap, never unpickles code)."""

    @abstractmethod
    def load(self, source: str, *, trust_model: bool = False, weights: Path | None = None) -> Detector:
        """The detector ``source`` names; ModelError (one line) when it cannot be loaded."""

    @abstractmethod
    def save(self, detector: Detector, path: Path) -> None:
        """Write a checkpoint of ``detector`` that :meth:`load` reads back (``path`` is written as-is)."""

    def checkpoint_classes(self) -> dict[type, tuple[str, ...]]:
        """paretodet's own module classes this family's checkpoints pickle, each with the older paths
        (``module.Class``) that files written before a move name: allowed in weights-only loads, resolved in
        full ones (none by default)."""
        return {}

    # -- deployment --------------------------------------------------------------------------------------
    @abstractmethod
    def inference_module(self, detector: Detector, *, imgsz: int) -> torch.nn.Module:
        """An FP32 eval copy for export/running: ``forward(x)`` -> the raw outputs named ``output_names``."""

    @abstractmethod
    def decode(self, outputs: Sequence[np.ndarray], *, conf: float, iou: float, max_det: int) -> np.ndarray:
        """``(n, 6)`` float32 ``x0 y0 x1 y1 score cls`` (input pixels) from one image's raw outputs."""

    def onnx_metadata(self, detector: Detector, *, imgsz: int, precision: str, opset: int) -> dict[str, Any]:
        """Metadata written into the family's ONNX files (default: names and input size)."""
        return {"names": dict(enumerate(detector.names)), "imgsz": [imgsz, imgsz], "family": self.name}

    def run_snippet(self, model_file: str) -> list[str]:
        """Python lines that run an exported ``model_file`` of this family (for an export's README)."""
        if model_file.endswith(".onnx"):
            return [
                "import onnxruntime as ort",
                "",
                f'session = ort.InferenceSession("{model_file}")',
                "# input 'images': letterboxed RGB, float32 (1, 3, S, S) in [0, 1]",
                f"{', '.join(self.output_names)} = session.run(None, {{'images': x}})",
            ]
        if model_file.endswith(".xml"):
            return [
                "import openvino as ov",
                "",
                "# the precision hint the trial was timed with is config.yaml's precision_hint",
                f'compiled = ov.Core().compile_model("{model_file}", "CPU", {{"INFERENCE_PRECISION_HINT": "f32"}})',
                "# input: letterboxed RGB, float32 (1, 3, S, S) in [0, 1]",
                f"{', '.join(self.output_names)} = compiled(x).values()",
            ]
        return [
            "from paretodet.models import load_detector",
            "",
            f'detector = load_detector("{model_file}")  # detector.model is the torch module',
        ]

    # -- INT8 --------------------------------------------------------------------------------------------
    @abstractmethod
    def quantizable_blocks(self, onnx_model: Any) -> dict[str, list[str]]:
        """Block name -> ONNX node names, in graph order, of what INT8 may quantize."""

    @abstractmethod
    def fp32_nodes(self, onnx_model: Any) -> list[str]:
        """ONNX nodes that always stay FP32 (decode, box coding, NMS ...)."""

    # -- pruning -----------------------------------------------------------------------------------------
    def prunable_copy(self, model: torch.nn.Module, *, structured: bool) -> torch.nn.Module:
        """A copy of ``model`` ready to prune (default: a deep copy)."""
        return copy.deepcopy(model)

    @abstractmethod
    def prune_parts(self, model: torch.nn.Module) -> dict[str, str]:
        """Prunable convolution (module name) -> part (``backbone`` or ``neck``); heads are never listed."""

    @abstractmethod
    def prune_trace(self, model: torch.nn.Module, *, imgsz: int) -> tuple[torch.nn.Module, Any]:
        """The module Torch-Pruning traces (``model`` or a wrapper holding it) and its example inputs."""

    def check_forward(self, model: torch.nn.Module, *, imgsz: int) -> None:
        """Run a pruned model once (raises what breaks)."""
        import torch

        module, inputs = self.prune_trace(model, imgsz=imgsz)
        with torch.no_grad():
            module(inputs)

    # -- training ----------------------------------------------------------------------------------------
    @abstractmethod
    def finetune(
        self,
        model: torch.nn.Module,
        data: DatasetInfo,
        *,
        imgsz: int,
        recipe: TrainRecipe,
        workdir: Path,
        on_epoch: EpochCallback | None = None,
        criterion: Callable[[Any], Any] | None = None,
    ) -> torch.nn.Module:
        """Train ``model`` on ``data``'s train split with the family's loss; return the trained model (eval)."""

    def training_recipe(self) -> dict[str, Any]:
        """How this family trains, as JSON-able data: everything :meth:`finetune` (and the family's losses) read
        besides a run's own inputs (model, data, input size, :class:`TrainRecipe`), under ``recipe``, and the
        versions of the packages that train, under ``versions``. The trainer reads the same recipe object, and
        every stage that trains (student, recovery, QAT) hashes this into its cache key: a changed recipe or an
        upgraded trainer trains again. Default: torch's version only (a family with settings adds them).

        Example:
            >>> sorted(get_family("ultralytics").training_recipe())  # doctest: +SKIP
            ['recipe', 'versions']
        """
        return {"recipe": {}, "versions": package_versions("torch")}

    def recovery_lr(self, nc: int) -> float | None:
        """The learning rate this family's recipe fits to fine-tuning a model on data of ``nc`` classes (the rate
        its recovery of a pruned model trains at best), or None where the recipe fits none (the default). A
        search centres its ``prune.lr`` range on it, and the recovery probes train at it (see the spaces'
        ``fit_to_model``).

        Example:
            >>> get_family("yolov5").recovery_lr(80), get_family("ultralytics").recovery_lr(80)  # doctest: +SKIP
            (0.000119, None)
        """
        return None

    def supported_techniques(self, detector: Detector) -> frozenset[str]:
        """What this detector supports (the family's ``techniques``, narrowed where one model can do less)."""
        return self.techniques

    def techniques_with_teacher(self, detector: Detector, teacher_family: str) -> frozenset[str]:
        """What this detector supports when ``distill.teacher`` is a model of ``teacher_family``: by default a
        teacher of another family teaches nothing (no ``kd``, no ``kd_features``)."""
        techniques = self.supported_techniques(detector)
        return techniques if teacher_family == self.name else techniques - {"kd", "kd_features"}

    def distillation(self, teacher: Detector, settings: KDSettings) -> Callable[[Any], Any]:
        """The criterion factory ``finetune`` takes to train a model of this family with ``teacher``'s
        knowledge; ConfigError (one line) when this family cannot learn from that teacher."""
        from paretodet.errors import ConfigError

        raise ConfigError(f"{self.name} detectors cannot be distilled: set distill.alpha=0")

    def make_student(self, teacher: Detector, spec: StudentSpec) -> torch.nn.Module:
        """A smaller model of this family built from ``teacher`` as ``spec`` says (the ``student`` technique);
        ConfigError (one line) for a family that has no students."""
        from paretodet.errors import ConfigError

        raise ConfigError(f"{self.name} detectors have no students: keep distill.student_width=1")

    def prepare_distillation(
        self, student: torch.nn.Module, teacher: Detector, settings: KDSettings, *, seed: int
    ) -> None:
        """What ``student`` must carry before it trains with :meth:`distillation` (in place; default nothing)."""
        return None

    @abstractmethod
    def loss_batches(self, data: DatasetInfo, *, imgsz: int, count: int) -> list[Any]:
        """``count`` training batches for :meth:`batch_loss` (Taylor pruning's gradients)."""

    @abstractmethod
    def batch_loss(self, model: torch.nn.Module, batch: Any) -> torch.Tensor:
        """The scalar training loss of ``model`` (train mode) on one batch."""
