"""Distillation into an Ultralytics (YOLOv8-style) student from a teacher of another family, through detections.

A torchvision teacher shares no anchor grid with a YOLO head, so the two cannot be matched anchor by anchor as
:mod:`paretodet.models.ultralytics._kd` does. Instead the teacher's detections on the batch's training images
(:class:`~paretodet.models._teacher_detections.TeacherDetections`) become soft targets for the student's own
assignment: Ultralytics' task-aligned assigner assigns the student's anchors to the teacher's boxes as it does
to ground truth, and

- class KD: the assigner's target scores are scaled by the teacher's softened confidence
  ``q = sigmoid(logit(s) / T)`` of the assigned box; binary cross-entropy between the student's logits
  softened by ``T`` and these targets (every unassigned anchor targets 0: the teacher saw nothing there),
  times ``T^2``;
- box KD: Ultralytics' IoU and DFL box losses towards the teacher's boxes, weighted by the same targets.

Each term carries the task loss's gain (``box``, ``cls``, ``dfl``), and ``loss = (1 - alpha) * task +
alpha * KD``, as in every distillation of paretodet.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from paretodet.errors import ConfigError
from paretodet.models._teacher_detections import TeacherDetections, check_same_classes, soften_scores

if TYPE_CHECKING:
    from paretodet.models._base import Detector

__all__ = ["cross_family_loss", "padded_scores", "teacher_targets"]


def teacher_targets(dets: list[np.ndarray], imgsz: tuple[int, int], device: torch.device) -> dict[str, torch.Tensor]:
    """The teacher's detections as an Ultralytics target batch (``batch_idx``, ``cls``, normalised xywh
    ``bboxes``) plus each box's ``score``.

    Example:
        >>> t = teacher_targets([np.array([[0, 0, 32, 16, 0.9, 2]])], (64, 64), torch.device("cpu"))
        >>> t["bboxes"].tolist(), t["cls"].tolist(), t["score"].tolist()  # doctest: +ELLIPSIS
        ([[0.25, 0.125, 0.5, 0.25]], [[2.0]], [0.899...])
    """
    rows = [np.concatenate([np.full((len(d), 1), i), d], axis=1) for i, d in enumerate(dets) if len(d)]
    table = torch.from_numpy(np.concatenate(rows).astype(np.float32)) if rows else torch.zeros((0, 7))
    h, w = imgsz
    x0, y0, x1, y1 = table[:, 1], table[:, 2], table[:, 3], table[:, 4]
    xywh = torch.stack([(x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h], dim=1)
    return {
        "batch_idx": table[:, 0].to(device),
        "cls": table[:, 6:7].to(device),
        "bboxes": xywh.to(device),
        "score": table[:, 5].to(device),
    }


def padded_scores(rows: torch.Tensor, batch_size: int, width: int) -> torch.Tensor:
    """Each image's teacher scores (column 6 of ``rows``, image index in column 0), padded as Ultralytics'
    ``preprocess`` pads the boxes: ``(batch_size, width)``.

    Example:
        >>> padded_scores(torch.tensor([[1, 0, 0, 0, 0, 0, 0.9]]), 2, 1).tolist()
        [[0.0], [0.8999999761581421]]
    """
    out = torch.zeros(batch_size, width, device=rows.device)
    for i in range(batch_size):
        mine = rows[rows[:, 0] == i, 6]
        out[i, : len(mine)] = mine
    return out


def cross_family_loss(
    student: nn.Module,
    teacher: Detector,
    *,
    temperature: float,
    alpha: float,
    imgsz: int,
    ignore_class_names: bool = False,
) -> Any:
    """The criterion for an Ultralytics ``student`` taught by ``teacher`` (another family) through its detections:
    Ultralytics' detection loss subclassed (see the module docstring). The teacher must predict the student's
    classes (``ignore_class_names``: matched by id even where their names differ)."""
    if not 1.0 <= temperature <= 100.0 or not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"need temperature >= 1 and alpha in [0, 1], got T={temperature} alpha={alpha}")
    check_same_classes(teacher, names=getattr(student, "names", None), ignore=ignore_class_names)
    return _loss_class()(student, TeacherDetections(teacher, imgsz=imgsz), temperature=temperature, alpha=alpha)


@functools.cache
def _loss_class() -> Any:
    """Defined on first use, so importing paretodet does not import Ultralytics."""
    from ultralytics.utils.loss import v8DetectionLoss
    from ultralytics.utils.tal import make_anchors

    class _CrossFamilyLoss(v8DetectionLoss):
        def __init__(self, student: nn.Module, teacher: TeacherDetections, *, temperature: float, alpha: float) -> None:
            super().__init__(student)
            self.teacher, self.temperature, self.alpha = teacher, temperature, alpha

        def stats(self) -> dict[str, float]:
            """What the teacher cost so far."""
            return self.teacher.stats()

        def loss(self, preds: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
            task, items = super().loss(preds, batch)
            if self.alpha == 0.0:
                zero = torch.zeros((), device=task.device)
                return task.sum(), {**items, "kd_cls": zero, "kd_box": zero}
            batch_size = preds["boxes"].shape[0]
            size = tuple(int(v) for v in batch["img"].shape[2:])
            targets = teacher_targets(self.teacher(batch["img"]), (size[0], size[1]), self.device)
            box_term, cls_term, dfl_term = self._kd_terms(preds, targets)
            hyp: Any = self.hyp
            kd = box_term * hyp.box + cls_term * hyp.cls + dfl_term * hyp.dfl
            total = (1.0 - self.alpha) * task.sum() + self.alpha * kd * batch_size
            return total, {**items, "kd_cls": cls_term.detach(), "kd_box": (box_term + dfl_term).detach()}

        def _kd_terms(
            self, preds: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            """Box (IoU), class and DFL terms towards the teacher's detections, assigned as ground truth is."""
            t = self.temperature
            pred_distri = preds["boxes"].permute(0, 2, 1).contiguous()
            pred_scores = preds["scores"].permute(0, 2, 1).contiguous()
            anchor_points, stride_tensor = make_anchors(preds["feats"], self.stride, 0.5)
            dtype, batch_size = pred_scores.dtype, pred_scores.shape[0]
            stride: Any = self.stride
            imgsz = torch.tensor(preds["feats"][0].shape[2:], device=self.device, dtype=dtype) * stride[0]
            rows = torch.cat(
                (targets["batch_idx"].view(-1, 1), targets["cls"], targets["bboxes"], targets["score"].view(-1, 1)), 1
            )
            padded = self.preprocess(rows[:, :6], batch_size, scale_tensor=imgsz[[1, 0, 1, 0]])
            gt_labels, gt_bboxes = padded.split((1, 4), 2)
            scores = padded_scores(rows, batch_size, padded.shape[1])
            mask_gt = gt_bboxes.sum(2, keepdim=True).gt_(0.0)
            pred_bboxes = self.bbox_decode(anchor_points, pred_distri)
            _, target_bboxes, target_scores, fg_mask, target_gt_idx = self.assigner(
                pred_scores.detach().sigmoid(),
                (pred_bboxes.detach() * stride_tensor).type(gt_bboxes.dtype),
                anchor_points * stride_tensor,
                gt_labels,
                gt_bboxes,
                mask_gt,
            )
            q = soften_scores(scores, t) if scores.numel() else scores
            weight = q.gather(1, target_gt_idx) * fg_mask if q.numel() else torch.zeros_like(fg_mask, dtype=dtype)
            soft = target_scores * weight.unsqueeze(-1)
            soft_sum = soft.sum().clamp(min=1)
            cls_term = self.bce(pred_scores / t, soft.to(dtype)).sum() / soft_sum * t * t
            box_term, dfl_term = self.bbox_loss(
                pred_distri,
                pred_bboxes,
                anchor_points,
                target_bboxes / stride_tensor,
                soft,
                soft_sum,
                fg_mask,
                imgsz,
                stride_tensor,
            )
            return box_term, cls_term, dfl_term

    return _CrossFamilyLoss
