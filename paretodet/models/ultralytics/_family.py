"""The Ultralytics family (YOLOv8/v11-style ``DetectionModel``): its entry behind the detector seam.

Export: the fused model with its ``Detect`` head in export mode, one output ``(1, 4 + nc, anchors)`` (xywh in
pixels, class scores). Decode: Ultralytics' own NMS. INT8: ``/model.N/`` blocks, the head's decode FP32.
Pruning: backbone = the model YAML's backbone layers, neck = the rest before the head. Training: Ultralytics'
``DetectionTrainer`` on a YOLO-layout view of the data.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from paretodet.models._base import (
    ALL_TECHNIQUES,
    Detector,
    DetectorFamily,
    EpochCallback,
    KDSettings,
    StudentSpec,
    TrainRecipe,
    package_versions,
)
from paretodet.models.ultralytics._recipe import FinetuneRecipe

if TYPE_CHECKING:
    import numpy as np
    import torch

    from paretodet.data import DatasetInfo

__all__ = ["UltralyticsFamily"]

_SUFFIXES = (".pt", ".yaml", ".yml")


class UltralyticsFamily(DetectorFamily):
    """Ultralytics checkpoints and model YAMLs, local or named (``yolov8n.pt``, downloaded by Ultralytics)."""

    name: ClassVar[str] = "ultralytics"
    techniques: ClassVar[frozenset[str]] = ALL_TECHNIQUES
    output_names: ClassVar[tuple[str, ...]] = ("output0",)
    # the demo YOLOv8n keeps 72-91% of its mAP50-95 one-shot at 0.2, 0-25% at 0.3 (benchmarks/one_shot_limit.py)
    one_shot_prune_limit: ClassVar[float | None] = 0.2
    # how the Ultralytics trainer fine-tunes this family (AdamW at 5e-4, no warm-up, no mosaic); the trainer reads
    # it and trained stages' cache keys hash it (training_recipe)
    recipe: ClassVar[FinetuneRecipe] = FinetuneRecipe()

    def claims(self, source: str) -> bool:
        """Any ``.pt`` / ``.yaml`` path or bare name (the loader reports a missing or foreign file)."""
        return Path(source).suffix.lower() in _SUFFIXES

    def checkpoint_classes(self) -> dict[type, tuple[str, ...]]:
        """:class:`C2fSplit`, the prunable C2f that pruned checkpoints hold."""
        from paretodet.models.ultralytics._c2f import LEGACY_C2F_PATHS, C2fSplit

        return {C2fSplit: LEGACY_C2F_PATHS}

    def load(self, source: str, *, trust_model: bool = False, weights: Path | None = None) -> Detector:
        """See :func:`paretodet.models.ultralytics._load.load_ultralytics`."""
        from paretodet.errors import ModelError
        from paretodet.models.ultralytics._load import load_ultralytics

        if weights is not None:
            raise ModelError(f"--weights is for builder names (torchvision:...); {source} holds its own weights")
        return load_ultralytics(source, trust_model=trust_model)

    def save(self, detector: Detector, path: Path) -> None:
        """An ordinary Ultralytics checkpoint (FP32, unfused) that ``YOLO(path)`` reloads."""
        import torch

        model = copy.deepcopy(detector.model).float().eval().cpu()
        for param in model.parameters():
            param.requires_grad_(False)
        setattr(model, "criterion", None)  # noqa: B010 - a loss object (Taylor pruning's) is not part of the model
        ckpt: dict[str, Any] = {"model": model, "names": dict(enumerate(detector.names)), "source": detector.source}
        torch.save(ckpt, path)

    def inference_module(self, detector: Detector, *, imgsz: int) -> torch.nn.Module:
        """The fused model whose forward returns the raw ``(1, 4 + nc, anchors)`` tensor."""
        from paretodet.models.ultralytics._onnx import inference_module

        return inference_module(detector.model)

    def decode(self, outputs: Sequence[np.ndarray], *, conf: float, iou: float, max_det: int) -> np.ndarray:
        """Ultralytics NMS (class-aware, multi-label) over the raw output."""
        import numpy as np
        import torch
        from ultralytics.utils.nms import non_max_suppression

        preds = torch.from_numpy(np.ascontiguousarray(outputs[0], dtype=np.float32))
        out = non_max_suppression(preds, conf, iou, multi_label=True, max_det=max_det, max_time_img=1e6)
        return out[0][:, :6].numpy()

    def onnx_metadata(self, detector: Detector, *, imgsz: int, precision: str, opset: int) -> dict[str, Any]:
        """Ultralytics' own ONNX metadata keys (``YOLO(file.onnx)`` reads them), plus the family."""
        from paretodet.models.ultralytics._onnx import ultralytics_metadata

        return {**ultralytics_metadata(detector, imgsz=imgsz, precision=precision, opset=opset), "family": self.name}

    def run_snippet(self, model_file: str) -> list[str]:
        """Ultralytics runs ONNX and checkpoints itself (the ONNX metadata names the classes); an OpenVINO IR runs
        on OpenVINO."""
        if model_file.endswith(".xml"):
            return super().run_snippet(model_file)
        return [
            "from ultralytics import YOLO",
            "",
            f'results = YOLO("{model_file}").predict("image.jpg")  # boxes labelled with the class names',
        ]

    def quantizable_blocks(self, onnx_model: Any) -> dict[str, list[str]]:
        """``model.K`` blocks and the head's conv branches (``model.H.cv2.i`` ...)."""
        from paretodet.models.ultralytics._onnx import quantizable_blocks

        return quantizable_blocks(onnx_model)

    def fp32_nodes(self, onnx_model: Any) -> list[str]:
        """The detection head's decode (DFL, anchors, strides, sigmoid, concat)."""
        from paretodet.models.ultralytics._onnx import head_decode_nodes

        return head_decode_nodes(onnx_model)

    def prunable_copy(self, model: torch.nn.Module, *, structured: bool) -> torch.nn.Module:
        """C2f blocks split into two convolutions (output-identical) so their channel split is prunable."""
        from paretodet.models.ultralytics._c2f import split_c2f_blocks

        return split_c2f_blocks(model)[0] if structured else copy.deepcopy(model)

    def prune_parts(self, model: torch.nn.Module) -> dict[str, str]:
        """Convolutions of the YAML's backbone layers -> backbone, of the later layers before the head -> neck."""
        from torch import nn

        from paretodet.errors import ExportError

        layers: Any = getattr(model, "model", None)
        if not isinstance(layers, nn.Sequential | nn.ModuleList) or len(layers) < 2:
            raise ExportError(
                "pruning needs an Ultralytics-style model (model.model layers ending in a detection head)"
            )
        head = len(layers) - 1
        yaml_cfg = getattr(model, "yaml", None) or {}
        n_backbone = len(yaml_cfg.get("backbone", ())) or head
        parts: dict[str, str] = {}
        for name, module in model.named_modules():
            bits = name.split(".")
            if not isinstance(module, nn.Conv2d) or len(bits) < 2 or bits[0] != "model" or not bits[1].isdigit():
                continue
            index = int(bits[1])
            if index < head:
                parts[name] = "backbone" if index < n_backbone else "neck"
        return parts

    def prune_trace(self, model: torch.nn.Module, *, imgsz: int) -> tuple[torch.nn.Module, Any]:
        """The model itself on one random image (its head's input convolutions follow pruned channels)."""
        import torch

        return model, torch.rand(1, 3, imgsz, imgsz)

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
        """Ultralytics' trainer on the model itself, as this family's ``recipe`` says (see ``_train.finetune``)."""
        from paretodet.data import ultralytics_data_yaml
        from paretodet.models.ultralytics._train import finetune

        return finetune(
            model,
            ultralytics_data_yaml(data, workdir),
            imgsz=imgsz,
            recipe=self.trainer_recipe(recipe, data),
            workdir=workdir,
            name="train",
            on_epoch=on_epoch,
            criterion=criterion,
        )

    def trainer_recipe(self, recipe: TrainRecipe, data: DatasetInfo) -> FinetuneRecipe:
        """The Ultralytics trainer's settings for ``recipe``: this family's ``recipe`` for that run (``lr`` None:
        the family's default rate, fitted to ``data``'s classes where the recipe says so)."""
        return self.recipe.for_run(recipe, nc=data.nc)

    def recovery_lr(self, nc: int) -> float | None:
        """The rate this family's ``recipe`` fits to ``nc`` classes (its ``lr_fit``; None without one)."""
        return self.recipe.fitted_lr(nc)

    def training_recipe(self) -> dict[str, Any]:
        """This family's ``recipe`` (the Ultralytics trainer's settings; its loss gains are Ultralytics' defaults)
        and the versions of torch and Ultralytics, whose trainer runs it."""
        return {"recipe": dataclasses.asdict(self.recipe), "versions": package_versions("torch", "ultralytics")}

    def techniques_with_teacher(self, detector: Detector, teacher_family: str) -> frozenset[str]:
        """A teacher of another family teaches through its detections: ``kd`` without the feature term."""
        techniques = self.supported_techniques(detector)
        return techniques if teacher_family == self.name else techniques - {"kd_features"}

    def distillation(self, teacher: Detector, settings: KDSettings) -> Callable[[Any], Any]:
        """From an Ultralytics teacher: class, DFL and (``feature_weight``) neck-feature distillation, anchor by
        anchor (see ``models.ultralytics._kd``); the student must carry projectors for the feature term. From a
        teacher of another family: its detections as soft targets of the student's own assignment (see
        ``models.ultralytics._xkd``), with no feature term (the two networks share no feature layout)."""
        from paretodet.errors import ConfigError

        if teacher.family != self.name:
            if settings.feature_weight:
                raise ConfigError(
                    f"a {teacher.family} teacher teaches an Ultralytics student through its detections only (no "
                    "shared feature layout): set distill.feature_weight=0"
                )
            from paretodet.models.ultralytics._xkd import cross_family_loss

            def detections_criterion(student: Any) -> Any:
                return cross_family_loss(
                    student,
                    teacher,
                    temperature=settings.temperature,
                    alpha=settings.alpha,
                    imgsz=settings.imgsz,
                    ignore_class_names=settings.ignore_class_names,
                )

            return detections_criterion

        from paretodet.models.ultralytics._kd import distillation_loss

        def criterion(student: Any) -> Any:
            return distillation_loss(
                student,
                teacher.model,
                temperature=settings.temperature,
                alpha=settings.alpha,
                feature_weight=settings.feature_weight,
            )

        return criterion

    def make_student(self, teacher: Detector, spec: StudentSpec) -> torch.nn.Module:
        """The teacher's architecture at ``spec``'s width and depth (or ``spec.yaml``), started from the teacher's
        most important channels (``init=teacher``) or at random (see ``models.ultralytics._kd``)."""
        from paretodet.models.ultralytics._kd import make_student

        return make_student(teacher.model, spec)

    def prepare_distillation(
        self, student: torch.nn.Module, teacher: Detector, settings: KDSettings, *, seed: int
    ) -> None:
        """With a feature term (``feature_weight``), one 1x1 projector per neck level, student to teacher channels."""
        if settings.feature_weight > 0:
            from paretodet.models.ultralytics._features import attach_feature_projectors

            attach_feature_projectors(student, teacher.model, seed=seed)

    def loss_batches(self, data: DatasetInfo, *, imgsz: int, count: int) -> list[Any]:
        """Letterboxed training batches in the trainer's format."""
        import tempfile

        from paretodet.data import ultralytics_data_yaml
        from paretodet.models.ultralytics._train import training_batches

        with tempfile.TemporaryDirectory(prefix="paretodet-taylor-") as tmp:
            return training_batches(ultralytics_data_yaml(data, Path(tmp)), imgsz=imgsz, count=count)

    def batch_loss(self, model: torch.nn.Module, batch: Any) -> torch.Tensor:
        """The model's own detection loss (its gains read from ``model.args``)."""
        from ultralytics.cfg import get_cfg

        if not hasattr(getattr(model, "args", None), "box"):  # a checkpoint's args are a dict, the loss reads gains
            setattr(model, "args", get_cfg())  # noqa: B010 - from model.args as a namespace
        loss, _ = model.loss(batch)  # type: ignore[operator]
        return loss.sum()
