"""Distillation through detections: a teacher of any family teaches an SSD-style student of another.

Two detectors of different families share no anchor grid, head or feature layout, so the only signal both
understand is a detection: a box and a class score. For each training batch the teacher (through its family's
deployment path: ``inference_module`` + ``decode``, on the same letterboxed images the student sees) gives its
detections; each one is matched to the student's anchors the way the student matches ground truth (its own
matcher: IoU >= its threshold, plus each box's best anchor), and on the matched anchors:

- class KD: the teacher's score ``s`` for class ``c``, softened with temperature ``T`` as a Bernoulli logit
  (``q = sigmoid(logit(s) / T)``), is the target distribution ``q`` on ``c`` and ``1 - q`` on background; the
  student's class logits are softened with the same ``T`` (softmax); KL(target || student) * ``T^2``, summed
  over matched anchors and divided by their number (as SSD's own loss is);
- box KD: smooth L1 between the student's box regression and the teacher's box encoded against the anchor
  (the student's own box coder), weighted by ``q``, divided by the same count.

``loss = (1 - alpha) * task + alpha * (class KD + box KD)``. Teacher detections below ``MIN_SCORE`` are not
used, nor are those narrower or lower than ``MIN_BOX_SIDE`` pixels: the teacher's boxes are clipped to the
image, so a box predicted beyond an edge comes out with zero width or height, and the box coder's
``log(width / anchor width)`` would make it an infinite regression target (ground-truth boxes are held to the
same rule). Students: torchvision SSD / SSDlite (``head`` giving ``cls_logits`` and ``bbox_regression``, an
``anchor_generator``, a ``proposal_matcher`` and a ``box_coder``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from paretodet.errors import ConfigError
from paretodet.models._teacher_detections import TeacherDetections, check_same_classes, soften_scores

if TYPE_CHECKING:
    from paretodet.models._base import Detector

__all__ = ["SSD_PARTS", "DetectionKD", "is_ssd_style", "softened_targets"]

SSD_PARTS = ("head", "anchor_generator", "proposal_matcher", "box_coder")  # what a student here must have


def is_ssd_style(model: nn.Module) -> bool:
    """Whether ``model`` has the parts this distillation reads (:data:`SSD_PARTS`)."""
    return all(hasattr(model, part) for part in SSD_PARTS)


def softened_targets(scores: torch.Tensor, labels: torch.Tensor, num_classes: int, temperature: float) -> torch.Tensor:
    """Target distributions (n, num_classes) over [background, labels...]: ``q`` on each label, ``1 - q`` on
    background, with ``q = sigmoid(logit(score) / T)``.

    Example:
        >>> softened_targets(torch.tensor([0.9]), torch.tensor([2]), 3, 1.0)
        tensor([[0.1000, 0.0000, 0.9000]])
    """
    q = soften_scores(scores, temperature)
    target = torch.zeros((len(scores), num_classes))
    target[:, 0] = 1 - q
    target[torch.arange(len(scores)), labels] = q
    return target


@dataclass
class _Captured:
    head: dict[str, torch.Tensor] | None = None
    anchors: list[torch.Tensor] | None = None


class DetectionKD:
    """The training criterion of an SSD-style torchvision ``student`` taught by ``teacher`` (any family).

    Call it with the training batch's letterboxed images ``(B, 3, S, S)``, a function computing the student's
    own task loss on that batch (which runs the student's forward pass) and the student's label of each
    dataset class; it returns the total loss and its parts.
    """

    def __init__(self, student: nn.Module, teacher: Detector, *, temperature: float, alpha: float, imgsz: int) -> None:
        for attr in SSD_PARTS:
            if not hasattr(student, attr):
                raise ConfigError(
                    f"distilling through detections needs an SSD-style student (it has no {attr}): use an SSD or "
                    "SSDlite student, or distill.alpha=0"
                )
        if not 1.0 <= temperature <= 100.0 or not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"need temperature >= 1 and alpha in [0, 1], got T={temperature} alpha={alpha}")
        label_map = getattr(student, "paretodet_label_map", None)
        if label_map:
            check_same_classes(teacher, count=max(label_map) + 1)
        self.teacher = TeacherDetections(teacher, imgsz=imgsz)
        self.temperature, self.alpha = temperature, alpha
        self.captured = _Captured()
        self._handles = [
            student.head.register_forward_hook(self._keep_head),  # type: ignore[union-attr]
            student.anchor_generator.register_forward_hook(self._keep_anchors),  # type: ignore[union-attr]
        ]
        self.student = student

    def _keep_head(self, _module: nn.Module, _inputs: Any, output: dict[str, torch.Tensor]) -> None:
        self.captured.head = output

    def _keep_anchors(self, _module: nn.Module, _inputs: Any, output: list[torch.Tensor]) -> None:
        self.captured.anchors = output

    def stats(self) -> dict[str, float]:
        """What the teacher cost so far (see :meth:`TeacherDetections.stats`)."""
        return self.teacher.stats()

    def remove(self) -> None:
        """Stop watching the student."""
        for handle in self._handles:
            handle.remove()

    def __call__(
        self, images: torch.Tensor, task_loss: Callable[[], torch.Tensor], class_to_label: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        task = task_loss()
        if self.alpha == 0.0:
            return task, {"task": float(task.detach()), "kd_cls": 0.0, "kd_box": 0.0}
        head, anchors = self.captured.head, self.captured.anchors
        if head is None or anchors is None:
            raise ConfigError("the student's forward pass did not run its head: is it an SSD-style detector?")
        dets = self.teacher(images)
        cls_kd, box_kd = self._terms(head, anchors, dets, class_to_label)
        kd = cls_kd + box_kd
        total = (1.0 - self.alpha) * task + self.alpha * kd
        return total, {"task": float(task.detach()), "kd_cls": float(cls_kd.detach()), "kd_box": float(box_kd.detach())}

    def _terms(
        self,
        head: dict[str, torch.Tensor],
        anchors: list[torch.Tensor],
        dets: list[np.ndarray],
        class_to_label: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        from torchvision.ops import box_iou

        student: Any = self.student
        t = self.temperature
        num_classes = head["cls_logits"].shape[-1]
        device = head["cls_logits"].device  # the student's
        cls_sum = torch.zeros((), device=device)
        box_sum = torch.zeros((), device=device)
        matched = 0
        for logits, regression, anchors_i, det in zip(
            head["cls_logits"], head["bbox_regression"], anchors, dets, strict=True
        ):
            if not len(det):
                continue
            det_t = torch.from_numpy(np.ascontiguousarray(det)).float().to(device)
            labels = class_to_label[det_t[:, 5].long()]
            usable = labels > 0
            det_t, labels = det_t[usable], labels[usable]
            if not len(det_t):
                continue
            idx = student.proposal_matcher(box_iou(det_t[:, :4], anchors_i))
            pos = torch.where(idx >= 0)[0]
            if not len(pos):
                continue
            which = idx[pos]
            target = softened_targets(det_t[which, 4], labels[which], num_classes, t)
            log_student = F.log_softmax(logits[pos] / t, dim=-1)
            cls_sum = cls_sum + (target * (torch.log(target.clamp_min(1e-12)) - log_student)).sum() * t * t
            encoded = student.box_coder.encode_single(det_t[which, :4], anchors_i[pos])
            weight = target.gather(1, labels[which][:, None]).squeeze(1)
            box = F.smooth_l1_loss(regression[pos], encoded, reduction="none").sum(1)
            box_sum = box_sum + (box * weight).sum()
            matched += len(pos)
        count = max(1, matched)
        return cls_sum / count, box_sum / count
