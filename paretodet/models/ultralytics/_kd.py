"""Knowledge distillation: a smaller student learns from the teacher's softened outputs.

YOLOv8-style heads score each class with its own sigmoid, so class distillation softens the logits of both
models with a temperature ``T`` and uses a binary cross-entropy against the teacher's softened probabilities
(reported as the Bernoulli KL divergence, which has the same gradient and is 0 when the two agree), scaled by
``T^2``. Box distillation matches the DFL distributions (a softmax over ``reg_max`` bins per box side) with the
same temperature, weighted by the teacher's confidence at each anchor. Both models share the anchor grid
(same strides), so anchors match one to one. With ``feature_weight > 0`` the neck features the heads read are
distilled too (channel-wise distillation through projectors, see :mod:`paretodet.models.ultralytics._features`). The
loss is the Ultralytics detection loss subclassed: ``total = (1 - alpha) * task + alpha * KD`` with
``KD = cls_gain * class KD + dfl_gain * box KD + feature_weight * CWD``; ``alpha = 0`` is plain training.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from paretodet.errors import ConfigError, ModelError
from paretodet.models._base import StudentSpec
from paretodet.models._kd_terms import bernoulli_kl
from paretodet.models.ultralytics._features import PROJECTORS, FeatureTap, cwd_loss

__all__ = ["StudentSpec", "check_pair", "distillation_loss", "distillation_terms", "make_student"]


def make_student(teacher: nn.Module, spec: StudentSpec) -> nn.Module:
    """A new Ultralytics detection model: the teacher's architecture at a smaller scale (or ``spec.yaml``).

    Example:
        >>> student = make_student(detector.model, StudentSpec(width=0.5))  # doctest: +SKIP
    """
    from ultralytics.nn.tasks import DetectionModel

    nc = int(getattr(teacher.model[-1], "nc", 0))  # type: ignore[index]
    if spec.yaml is not None:
        cfg = _read_student_yaml(spec.yaml, nc)
    else:
        cfg = copy.deepcopy(getattr(teacher, "yaml", None) or {})
        if not cfg.get("backbone"):
            raise ModelError("the teacher has no model YAML to scale: give the student as distill.student_yaml")
        scales = cfg.get("scales") or {}
        scale = cfg.get("scale") or (next(iter(scales)) if scales else None)
        depth, width, max_channels = (
            scales[scale] if scale in scales else (cfg.get("depth_multiple", 1.0), cfg.get("width_multiple", 1.0), 1024)
        )
        cfg.update({"scales": {"s": [depth * spec.depth, width * spec.width, max_channels]}, "scale": "s", "nc": nc})
        cfg.pop("depth_multiple", None)
        cfg.pop("width_multiple", None)
    torch.manual_seed(spec.seed)
    student: Any = DetectionModel(cfg, nc=nc, verbose=False)
    student.names = copy.deepcopy(getattr(teacher, "names", {}))
    check_pair(student, teacher)
    if spec.init == "teacher":
        from paretodet.models.ultralytics._student import init_from_teacher

        init_from_teacher(student, teacher)
    return student.float().cpu().eval()


def _read_student_yaml(path: Path, nc: int) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise ConfigError(f"student YAML not found: {path} (pass an existing model YAML)")
    try:
        cfg = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError:
        raise ConfigError(f"student YAML {path} is malformed: fix its syntax") from None
    if not isinstance(cfg, dict) or "backbone" not in cfg or "head" not in cfg:
        raise ConfigError(f"student YAML {path} is not an Ultralytics model YAML (no backbone/head)")
    if "nc" in cfg and int(cfg["nc"]) != nc:
        raise ConfigError(f"student YAML {path} has nc={cfg['nc']} but the teacher has {nc} classes: set nc: {nc}")
    cfg["nc"] = nc
    scales = cfg.get("scales") or {}
    if scales and not cfg.get("scale"):
        cfg["scale"] = _scale_from_name(path.stem, scales)
    return cfg


def _scale_from_name(stem: str, scales: dict[str, Any]) -> str:
    """Ultralytics' convention: ``yolov8s.yaml`` means scale ``s`` (the first scale otherwise)."""
    return stem[-1] if stem[-1:] in scales else next(iter(scales))


def check_pair(student: nn.Module, teacher: nn.Module) -> None:
    """Refuse a student whose head does not match the teacher's anchors one to one."""
    s_head: Any = student.model[-1]  # type: ignore[index]
    t_head: Any = teacher.model[-1]  # type: ignore[index]
    for attr in ("nc", "reg_max", "nl"):
        if getattr(s_head, attr, None) != getattr(t_head, attr, None):
            raise ConfigError(
                f"student and teacher heads differ in {attr} ({getattr(s_head, attr, None)} vs "
                f"{getattr(t_head, attr, None)}): the student must predict the teacher's classes on the same grid"
            )
    if not torch.equal(s_head.stride, t_head.stride):
        raise ConfigError(
            f"student strides {s_head.stride.tolist()} differ from the teacher's {t_head.stride.tolist()}"
        )


def distillation_terms(
    student: dict[str, torch.Tensor], teacher: dict[str, torch.Tensor], *, temperature: float, reg_max: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Class and box (DFL) distillation terms of one batch, each a scalar already scaled by ``T^2``.

    ``student`` / ``teacher`` are Ultralytics training outputs: ``scores`` (B, nc, A) logits and ``boxes``
    (B, 4 * reg_max, A) DFL logits.
    """
    t = temperature
    s_scores, t_scores = student["scores"].float(), teacher["scores"].float()
    q = torch.sigmoid(t_scores / t)
    kl_cls = bernoulli_kl(s_scores, t_scores, temperature=t)  # per anchor and class
    weight = q.amax(1)  # (B, A): how much the teacher believes an object is there
    norm = weight.sum().clamp(min=1.0)
    cls_term = kl_cls.sum() / norm * t * t
    b, _, a = s_scores.shape
    s_dist = student["boxes"].float().view(b, 4, reg_max, a)
    t_dist = teacher["boxes"].float().view(b, 4, reg_max, a)
    kl_box = F.kl_div(F.log_softmax(s_dist / t, 2), F.log_softmax(t_dist / t, 2), reduction="none", log_target=True)
    box_term = (kl_box.sum(2).mean(1) * weight).sum() / norm * t * t
    return cls_term, box_term


def distillation_loss(
    student: nn.Module, teacher: nn.Module, *, temperature: float, alpha: float, feature_weight: float = 0.0
) -> Any:
    """The criterion for ``student``: Ultralytics' detection loss subclassed with class and DFL distillation
    from the frozen ``teacher`` (``(1 - alpha) * task + alpha * KD``), plus channel-wise feature distillation
    when ``feature_weight > 0`` (the student must carry projectors: ``attach_feature_projectors``)."""
    return _loss_class()(student, teacher, temperature=temperature, alpha=alpha, feature_weight=feature_weight)


@functools.cache
def _loss_class() -> Any:
    """The subclass is defined on first use, so importing paretodet does not import Ultralytics."""
    from ultralytics.utils.loss import v8DetectionLoss

    class _DistillationLoss(v8DetectionLoss):
        def __init__(
            self, student: nn.Module, teacher: nn.Module, *, temperature: float, alpha: float, feature_weight: float
        ) -> None:
            super().__init__(student)
            if not 1.0 <= temperature <= 100.0 or not 0.0 <= alpha <= 1.0 or feature_weight < 0:
                raise ConfigError(
                    f"need temperature >= 1, alpha in [0, 1] and feature_weight >= 0, got T={temperature} "
                    f"alpha={alpha} feature_weight={feature_weight}"
                )
            check_pair(student, teacher)
            self.teacher = copy.deepcopy(teacher).float().eval().to(self.device)  # the student's device
            for param in self.teacher.parameters():
                param.requires_grad_(False)
            self.temperature, self.alpha, self.feature_weight = temperature, alpha, feature_weight
            self.projectors: Any = getattr(student, PROJECTORS, None)
            if feature_weight and alpha:
                if self.projectors is None:
                    raise ConfigError("feature distillation needs projectors: call attach_feature_projectors first")
                self.student_tap, self.teacher_tap = FeatureTap(student), FeatureTap(self.teacher)

        def loss(self, preds: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
            task, items = super().loss(preds, batch)
            batch_size = preds["boxes"].shape[0]
            if self.alpha == 0.0:
                zero = torch.zeros((), device=task.device)
                return task.sum(), {**items, "kd_cls": zero, "kd_box": zero, "kd_feat": zero}
            self.teacher.eval()
            with torch.no_grad():
                t_preds = self.parse_output(self.teacher(batch["img"]))
            cls_term, box_term = distillation_terms(preds, t_preds, temperature=self.temperature, reg_max=self.reg_max)
            hyp: Any = self.hyp  # the task loss gains weigh the matching KD terms
            kd = cls_term * hyp.cls + box_term * hyp.dfl
            feat_term = torch.zeros((), device=task.device)
            if self.feature_weight:
                projected = [p(f) for p, f in zip(self.projectors, self.student_tap.features, strict=True)]
                feat_term = cwd_loss(projected, self.teacher_tap.features)
                kd = kd + self.feature_weight * feat_term
            total = (1.0 - self.alpha) * task.sum() + self.alpha * kd * batch_size
            terms = {"kd_cls": cls_term.detach(), "kd_box": box_term.detach(), "kd_feat": feat_term.detach()}
            return total, {**items, **terms}

    return _DistillationLoss
