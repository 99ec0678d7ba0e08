"""The torchvision detector family: SSD, Faster R-CNN, RetinaNet and FCOS from ``torchvision.models.detection``.

A user names a builder (``torchvision:fasterrcnn_mobilenet_v3_large_320_fpn``) with or without a weights file,
or a paretodet checkpoint of one. Every model is built with ``nn.BatchNorm2d`` (torchvision's pretrained
builders use ``FrozenBatchNorm2d``, which Torch-Pruning cannot prune; in eval mode both compute the same),
and keeps a label map: torchvision label -> paretodet class index (-1: background, COCO's "N/A" slots).
paretodet-trained models use label = class + 1 (0 is background) for every kind.

A checkpoint is a plain dict (strings, numbers, lists, tensors), read with ``weights_only=True``: loading one
never runs code. Pruned models load too: module shapes are fitted to the saved tensors before loading.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from paretodet.base import file_digest
from paretodet.errors import ConfigError, ModelError
from paretodet.models._base import (
    Detector,
    DetectorFamily,
    EpochCallback,
    KDSettings,
    StudentSpec,
    TrainRecipe,
    package_versions,
)
from paretodet.models.torchvision._load import (
    BUILDERS,
    builder_spec,
    check_imgsz,
    classes_of,
    construct,
    download,
    from_state,
    label_count,
    list_builders,
    num_outputs,
    placeholder_names,
    read_weights,
    state_digest,
    text_digest,
)
from paretodet.models.torchvision._onnx import (
    TorchvisionInference,
    fp32_node_names,
    quantizable_node_blocks,
    set_input_size,
)
from paretodet.models.torchvision._train import TORCHVISION_RECIPE, TorchvisionRecipe

if TYPE_CHECKING:
    from paretodet.data import DatasetInfo

__all__ = ["BUILDERS", "PREFIX", "TorchvisionFamily", "build_torchvision", "list_builders"]

PREFIX = "torchvision:"
MARKER = "paretodet_family"
FAMILY = "torchvision"
FORMAT_VERSION = 1


def build_torchvision(
    builder: str,
    *,
    names: Sequence[str],
    imgsz: int | None = None,
    pretrained_backbone: bool = False,
    weights: Path | None = None,
) -> Detector:
    """A fresh detector for ``names`` (random heads; labels = class + 1), or ``weights`` (a state dict of the
    same builder and class count) loaded into it. ``pretrained_backbone`` downloads torchvision's ImageNet
    backbone (online only); ``imgsz`` sets the model's own transform to that input size.

    Example:
        >>> det = build_torchvision("ssdlite320_mobilenet_v3_large", names=("cat", "dog"))  # doctest: +SKIP
    """
    builder_spec(builder)
    names = tuple(str(n) for n in names)
    if not names:
        raise ModelError(f"torchvision:{builder} needs at least one class name")
    label_map: tuple[int, ...] = (-1, *range(len(names)))
    if weights is not None:
        state, saved = read_weights(Path(weights))
        if saved.get("names") is not None:
            if tuple(saved["names"]) != names:
                raise ModelError(f"weights {weights} are for classes {list(saved['names'])[:5]}, not {list(names)[:5]}")
            label_map = tuple(int(v) for v in saved.get("label_map") or label_map)
        model = from_state(builder, state, label_map, saved.get("conv_groups", {}), where=str(weights))
        model.paretodet_frozen_bn = bool(saved.get("frozen_bn", True))  # type: ignore[assignment]
        source, digest = f"{PREFIX}{builder}", file_digest(Path(weights))
    else:
        model = construct(builder, len(label_map), pretrained_backbone=pretrained_backbone)
        source, digest = f"{PREFIX}{builder}", state_digest(model)
    if imgsz is not None:
        set_input_size(model, imgsz)
    return _detector(model, builder, names, label_map, source=source, digest=digest)


class TorchvisionFamily(DetectorFamily):
    """torchvision's detection models behind the detector seam (see :mod:`paretodet.models._base`).

    Example:
        >>> fam = TorchvisionFamily()
        >>> fam.claims("torchvision:ssdlite320_mobilenet_v3_large"), fam.claims("yolov8n.pt")
        (True, False)
    """

    name: ClassVar[str] = FAMILY
    techniques: ClassVar[frozenset[str]] = frozenset(
        {"fp16", "int8", "mixed_precision", "prune", "unstructured", "recover"}
    )
    output_names: ClassVar[tuple[str, ...]] = ("boxes", "scores", "classes")
    # ~3% of the demo SSDlite's images (bright pastel backgrounds) drive the activations of its last MobileNetV3
    # stages, heads and extra layers 100-2,000x above the median image; one among 64 calibration images set every
    # range there and INT8 kept 6% of the FP32 mAP50-95 (BENCHMARKS.md, issue 35): calibrate on the other 90%
    calibration_trim: ClassVar[float] = 0.1
    # how this family fine-tunes (SGD, warm-up, cosine decay ...): the trainer reads it, trained stages' cache
    # keys hash it (training_recipe)
    recipe: ClassVar[TorchvisionRecipe] = TORCHVISION_RECIPE

    # -- loading -----------------------------------------------------------------------------------------
    def claims(self, source: str) -> bool:
        """``torchvision:BUILDER`` names, and ``.pt`` files holding a paretodet torchvision checkpoint."""
        if source.startswith(PREFIX):
            return True
        path = Path(source).expanduser()
        if path.suffix.lower() != ".pt" or not path.is_file():
            return False
        try:  # memory-mapped: only the pickled dict is read, no tensor data, no code
            ckpt = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # any unreadable or non-weights-only file is someone else's
            return False
        return isinstance(ckpt, dict) and ckpt.get(MARKER) == FAMILY

    def load(self, source: str, *, trust_model: bool = False, weights: Path | None = None) -> Detector:
        """A builder name (with ``weights``, else torchvision's default weights) or a paretodet checkpoint.

        Nothing here unpickles code, so ``trust_model`` changes nothing.
        """
        if not source.startswith(PREFIX):
            path = Path(source).expanduser()
            state, saved = read_weights(path)
            if saved.get(MARKER) != FAMILY or "builder" not in saved:
                raise ModelError(f"{path} is not a paretodet torchvision checkpoint")
            return self._from_saved(str(saved["builder"]), state, saved, source=source, digest=file_digest(path))
        builder = source[len(PREFIX) :]
        builder_spec(builder)
        if weights is None:
            state, url = download(builder)
            return self._from_saved(builder, state, {}, source=source, digest=text_digest(url))
        state, saved = read_weights(Path(weights))
        if saved.get("builder") not in (None, builder):
            raise ModelError(f"weights {weights} are for torchvision:{saved['builder']}, not {source}")
        return self._from_saved(builder, state, saved, source=source, digest=file_digest(Path(weights)))

    def _from_saved(
        self, builder: str, state: Mapping[str, torch.Tensor], saved: Mapping[str, Any], *, source: str, digest: str
    ) -> Detector:
        num_labels = label_count(builder, state, where=source)
        names, label_map = classes_of(builder, num_labels, saved, where=source)
        model = from_state(builder, state, label_map, saved.get("conv_groups", {}), where=source)
        # trained weights fine-tune with frozen batch-norm statistics (small batches), as torchvision does
        model.paretodet_frozen_bn = bool(saved.get("frozen_bn", True))  # type: ignore[assignment]
        size = saved.get("train_imgsz")
        return _detector(
            model, builder, names, label_map, source=source, digest=digest, train_imgsz=int(size) if size else None
        )

    def save(self, detector: Detector, path: Path) -> None:
        """Write ``{paretodet_family, builder, names, label_map, state_dict, ...}`` (weights-only loadable)."""
        model = detector.model
        ckpt = {
            MARKER: FAMILY,
            "format_version": FORMAT_VERSION,
            "builder": str(detector.extra["builder"]),
            "names": [str(n) for n in detector.names],
            "label_map": [int(v) for v in label_map_of(detector)],
            "conv_groups": {n: int(m.groups) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)},
            "frozen_bn": bool(getattr(model, "paretodet_frozen_bn", False)),
            "train_imgsz": detector.train_imgsz,
            "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        }
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save(ckpt, str(path))

    # -- deployment --------------------------------------------------------------------------------------
    def inference_module(self, detector: Detector, *, imgsz: int) -> nn.Module:
        """FP32 eval wrapper (see :class:`TorchvisionInference`): no resize, score 0.001, 300 detections."""
        check_imgsz(str(detector.extra["builder"]), imgsz)
        return TorchvisionInference(detector.model, label_map_of(detector), imgsz=imgsz)

    def decode(self, outputs: Sequence[np.ndarray], *, conf: float, iou: float, max_det: int) -> np.ndarray:
        """``(n, 6)`` float32 detections above ``conf``, best ``max_det`` first (NMS already ran in the model,
        per class with the model's own IoU; ``iou`` is not used)."""
        boxes = np.asarray(outputs[0], dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(outputs[1], dtype=np.float32).reshape(-1)
        classes = np.asarray(outputs[2]).reshape(-1)
        keep = (scores > conf) & (classes >= 0)
        boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
        order = np.argsort(-scores, kind="stable")[:max_det]
        return np.concatenate(
            [boxes[order], scores[order, None], classes[order, None].astype(np.float32)], axis=1
        ).astype(np.float32)

    def onnx_metadata(self, detector: Detector, *, imgsz: int, precision: str, opset: int) -> dict[str, Any]:
        """The default metadata plus the builder."""
        meta = super().onnx_metadata(detector, imgsz=imgsz, precision=precision, opset=opset)
        meta["builder"] = str(detector.extra["builder"])
        return meta

    # -- INT8 --------------------------------------------------------------------------------------------
    def quantizable_blocks(self, onnx_model: Any) -> dict[str, list[str]]:
        """Conv/Gemm nodes grouped by module (``backbone.body.layer1.0``, ``backbone.fpn.inner_blocks.0``,
        ``head.classification_head``, ``roi_heads.box_head`` ...), in graph order."""
        return quantizable_node_blocks(_onnx(onnx_model))

    def fp32_nodes(self, onnx_model: Any) -> list[str]:
        """Every other node: normalization, anchors, box coding, RoI ops, NMS, gathers."""
        return fp32_node_names(_onnx(onnx_model))

    # -- pruning -----------------------------------------------------------------------------------------
    def prunable_copy(self, model: nn.Module, *, structured: bool) -> nn.Module:
        """A float CPU eval copy whose parameters all require gradients."""
        net = copy.deepcopy(model).float().cpu().eval()
        for param in net.parameters():
            param.requires_grad_(True)
        return net

    def prune_parts(self, model: nn.Module) -> dict[str, str]:
        """Ordinary (non-grouped) convolutions: the backbone body -> ``backbone``; FPN and SSD's extra layers
        -> ``neck``. Heads (RPN, RoI heads, SSD/RetinaNet/FCOS heads) are never listed; depthwise convolutions
        follow the convolution that feeds them, so they are no pruning roots."""
        from paretodet.models.torchvision._prune import conv_parts

        return conv_parts(model)

    def prune_trace(self, model: nn.Module, *, imgsz: int) -> tuple[nn.Module, Any]:
        """A wrapper running the backbone and every head on an image tensor (see
        :class:`~paretodet.models.torchvision._prune.PruneTrace` for why not the model itself) and a fixed
        example input."""
        from paretodet.models.torchvision._prune import PruneTrace, example_input

        return PruneTrace(model, imgsz=imgsz), example_input(imgsz)

    def check_forward(self, model: nn.Module, *, imgsz: int) -> None:
        """The traced path and the full eval forward (anchors, decode, NMS) run on the pruned model."""
        super().check_forward(model, imgsz=imgsz)
        from paretodet.models.torchvision._prune import example_input

        labels = getattr(model, "paretodet_label_map", None) or (-1, *range(num_outputs(model)))
        with torch.no_grad():
            TorchvisionInference(model, labels, imgsz=imgsz)(example_input(imgsz))

    # -- training ----------------------------------------------------------------------------------------
    def finetune(
        self,
        model: nn.Module,
        data: DatasetInfo,
        *,
        imgsz: int,
        recipe: TrainRecipe,
        workdir: Path,
        on_epoch: EpochCallback | None = None,
        criterion: Callable[[Any], Any] | None = None,
    ) -> nn.Module:
        """SGD on torchvision's own detection losses (see :func:`paretodet.models.torchvision._train.finetune`)."""
        from paretodet.models.torchvision._train import finetune

        return finetune(
            model,
            data,
            imgsz=imgsz,
            recipe=recipe,
            workdir=workdir,
            on_epoch=on_epoch,
            criterion=criterion,
            settings=self.recipe,
        )

    def training_recipe(self) -> dict[str, Any]:
        """This family's ``recipe`` and the versions of torch and torchvision (whose losses it trains on)."""
        import dataclasses

        return {"recipe": dataclasses.asdict(self.recipe), "versions": package_versions("torch", "torchvision")}

    def supported_techniques(self, detector: Detector) -> frozenset[str]:
        """SSD-style models (anchors, a matcher, a box coder) also learn from teachers (``kd``), from scratch or
        from their own weights (no narrower students: ``student`` stays out)."""
        from paretodet.models.torchvision._kd import is_ssd_style

        return self.techniques | {"kd"} if is_ssd_style(detector.model) else self.techniques

    def techniques_with_teacher(self, detector: Detector, teacher_family: str) -> frozenset[str]:
        """An SSD-style model learns from a teacher of any family through its detections."""
        return self.supported_techniques(detector)

    def distillation(self, teacher: Detector, settings: KDSettings) -> Callable[[Any], Any]:
        """Distillation through the teacher's detections (a teacher of any family; see
        ``compress._detection_kd``); no feature term (the two networks share no feature layout)."""
        from paretodet.models.torchvision._kd import DetectionKD

        if settings.feature_weight:
            raise ConfigError(
                "torchvision students learn from the teacher's detections only: set distill.feature_weight=0"
            )

        def criterion(student: Any) -> Any:
            return DetectionKD(
                student, teacher, temperature=settings.temperature, alpha=settings.alpha, imgsz=settings.imgsz
            )

        return criterion

    def make_student(self, teacher: Detector, spec: StudentSpec) -> nn.Module:
        """The teacher's own architecture with fresh random weights (``spec.seed``): a student of the same size
        that learns from ``distill.teacher`` for its whole schedule. torchvision builders have no width or depth
        multipliers, so narrower students are refused in one line."""
        from paretodet.models.torchvision._load import construct

        if spec.yaml is not None or spec.width != 1.0 or spec.depth != 1.0 or spec.init != "scratch":
            raise ConfigError(
                "torchvision students are the model's own architecture trained from scratch: keep "
                "distill.student_width=1 and distill.student_depth=1, no distill.student_yaml, distill.init=scratch"
            )
        torch.manual_seed(spec.seed)
        label_map = label_map_of(teacher)
        model = construct(str(teacher.extra["builder"]), len(label_map))
        model.paretodet_label_map = label_map  # type: ignore[assignment]
        if teacher.train_imgsz:
            set_input_size(model, teacher.train_imgsz)
        return model.eval()

    def loss_batches(self, data: DatasetInfo, *, imgsz: int, count: int) -> list[Any]:
        """``count`` letterboxed training batches (no augmentation)."""
        from paretodet.models.torchvision._train import loss_batches

        return loss_batches(data, imgsz=imgsz, count=count)

    def batch_loss(self, model: nn.Module, batch: Any) -> torch.Tensor:
        """Sum of torchvision's training losses on ``batch`` (batch norm statistics left untouched)."""
        from paretodet.models.torchvision._train import batch_loss

        return batch_loss(model, batch)


# --------------------------------------------------------------------------------------------- helpers


def label_map_of(detector: Detector) -> tuple[int, ...]:
    """torchvision label -> class index (-1: no class) of ``detector``."""
    value = detector.extra.get("label_map") or getattr(detector.model, "paretodet_label_map", None)
    return tuple(int(v) for v in value) if value else (-1, *range(detector.nc))


def _detector(
    model: nn.Module,
    builder: str,
    names: tuple[str, ...],
    label_map: Sequence[int],
    *,
    source: str,
    digest: str,
    train_imgsz: int | None = None,
) -> Detector:
    """The detector around ``model``; its training size is ``train_imgsz`` (a checkpoint's) or the size its
    transform resizes to (the builder's default, or what ``build_torchvision`` set)."""
    model.paretodet_label_map = tuple(int(v) for v in label_map)  # type: ignore[assignment]  # for training
    model.eval()
    transform: Any = getattr(model, "transform", None)
    fixed = getattr(transform, "fixed_size", None)
    sizes = fixed or getattr(transform, "min_size", None) or (None,)
    train_imgsz = train_imgsz or (int(max(sizes)) if sizes[0] else None)
    return Detector(
        model=model,
        names=names,
        source=source,
        digest=digest,
        trainable=True,
        family=FAMILY,
        extra={"builder": builder, "label_map": tuple(int(v) for v in label_map)},
        names_known=names != placeholder_names(len(names)),
        train_imgsz=train_imgsz,
    )


def _onnx(onnx_model: Any) -> Any:
    if isinstance(onnx_model, str | Path):
        import onnx

        return onnx.load(str(onnx_model), load_external_data=False)
    return onnx_model
