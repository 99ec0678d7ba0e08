"""YOLOv5's anchor-based detection loss, and distillation for its anchor-based outputs, written for paretodet.

The loss follows the published YOLOv5 recipe:

- **Assignment.** A ground-truth box goes to every anchor of a level whose width and height ratios to the box
  are all within ``anchor_t`` (4 by default), in the box centre's grid cell and in the one or two
  neighbouring cells nearest to the centre (centre offsets span -0.5..1.5 cells).
- **Box.** ``1 - CIoU`` of the decoded box (``xy = 2 sigmoid - 0.5``, ``wh = (2 sigmoid)^2 * anchor``).
- **Objectness.** Binary cross-entropy against the CIoU of the assigned prediction (0 elsewhere), with the
  per-level balance 4.0 / 1.0 / 0.4 (small objects weigh more).
- **Class.** Binary cross-entropy per class on assigned predictions.

Gains and options (``box``, ``obj``, ``cls``, ``anchor_t``, ``cls_pw``, ``obj_pw``, ``fl_gamma``,
``label_smoothing``) come from the checkpoint's ``hyp`` where it stores them, else from YOLOv5's defaults.
YOLOv5 stores them already scaled for the model's classes and training size; the objectness gain is scaled
by ``(imgsz / training size)^2`` when training at another size, as YOLOv5 does.

Distillation (``YoloV5DistillationLoss``) pairs a student and a teacher with the same anchors on the same grid
(a pruned model and the model it came from): objectness and class logits are softened with the temperature and
matched by a Bernoulli KL divergence (scaled by ``T^2``), and the student's box offsets follow the teacher's,
weighted by the teacher's objectness. ``total = (1 - alpha) * task + alpha * KD``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from paretodet.errors import ConfigError
from paretodet.models._kd_terms import bernoulli_kl

__all__ = [
    "LevelTargets",
    "YoloV5Gains",
    "YoloV5DistillationLoss",
    "YoloV5Loss",
    "assign_targets",
    "check_v5_pair",
]

DEFAULT_TRAIN_IMGSZ = 640  # YOLOv5 trains its P5 models at 640 px unless told otherwise


@dataclass(frozen=True)
class YoloV5Gains:
    """Loss gains and options, named as in YOLOv5's ``hyp`` files (defaults: YOLOv5's ``hyp.scratch-low``)."""

    box: float = 0.05
    obj: float = 1.0
    cls: float = 0.5
    anchor_t: float = 4.0
    cls_pw: float = 1.0
    obj_pw: float = 1.0
    fl_gamma: float = 0.0
    label_smoothing: float = 0.0

    @classmethod
    def from_model(cls, model: nn.Module) -> YoloV5Gains:
        """The gains stored in ``model.hyp`` (a YOLOv5 checkpoint's), defaults for what it does not store."""
        hyp = getattr(model, "hyp", None)
        stored = hyp if isinstance(hyp, dict) else {}
        return cls(**{f.name: float(stored[f.name]) for f in fields(cls) if f.name in stored})


def level_balance(levels: int) -> tuple[float, ...]:
    """Objectness weight per level, finest first (YOLOv5's balance for P3-P5, extended for P3-P7)."""
    return (4.0, 1.0, 0.4) if levels == 3 else (4.0, 1.0, 0.25, 0.06, 0.02)[:levels]


@dataclass(frozen=True)
class LevelTargets:
    """The predictions one level must match: their indices and targets (box in grid units, relative to the cell).

    Attributes:
        image / anchor / gy / gx: (m,) indices into the level's ``(B, na, H, W, no)`` prediction.
        box: (m, 4) target ``x y`` offset from the cell's corner and ``w h``, in grid cells.
        cls: (m,) class ids.
        anchor_wh: (m, 2) the assigned anchors' sizes in grid cells.
    """

    image: torch.Tensor
    anchor: torch.Tensor
    gy: torch.Tensor
    gx: torch.Tensor
    box: torch.Tensor
    cls: torch.Tensor
    anchor_wh: torch.Tensor


def assign_targets(
    targets: torch.Tensor, anchors: torch.Tensor, *, grid: tuple[int, int], anchor_t: float
) -> LevelTargets:
    """Assign ground truth to one level's anchors and cells.

    Args:
        targets: (n, 6) ``image, class, x, y, w, h`` with the box normalised to [0, 1].
        anchors: (na, 2) this level's anchor sizes in grid cells.
        grid: the level's ``(H, W)``.
        anchor_t: the largest width or height ratio between a box and an anchor that may match.

    Example:
        >>> t = torch.tensor([[0, 1, 0.5, 0.5, 0.2, 0.2]])
        >>> assign_targets(t, torch.tensor([[2.0, 2.0]]), grid=(10, 10), anchor_t=4.0).gx.tolist()
        [5, 4, 5]
    """
    h, w = grid
    scale = targets.new_tensor([w, h])
    xy, wh = targets[:, 2:4] * scale, targets[:, 4:6] * scale
    ratio = wh[None] / anchors[:, None]  # (na, n, 2)
    matched = torch.max(ratio, 1.0 / ratio).amax(2) < anchor_t
    anchor, target = matched.nonzero(as_tuple=True)
    centre = xy[target]
    cell = centre.floor()
    frac = centre - cell
    # the centre's cell, and the neighbour on each axis whose border the centre is nearer to
    choices = [
        (torch.ones_like(frac[:, 0], dtype=torch.bool), (0, 0)),
        ((frac[:, 0] < 0.5) & (centre[:, 0] > 1), (-1, 0)),
        ((frac[:, 0] > 0.5) & (centre[:, 0] < w - 1), (1, 0)),
        ((frac[:, 1] < 0.5) & (centre[:, 1] > 1), (0, -1)),
        ((frac[:, 1] > 0.5) & (centre[:, 1] < h - 1), (0, 1)),
    ]
    picks = [(mask.nonzero(as_tuple=True)[0], offset) for mask, offset in choices]
    index = torch.cat([p for p, _ in picks])
    offset = torch.cat([cell.new_tensor(o).expand(len(p), 2) for p, o in picks])
    cells = cell[index] + offset
    gx = cells[:, 0].clamp(0, w - 1).long()
    gy = cells[:, 1].clamp(0, h - 1).long()
    t = target[index]
    box = torch.cat((centre[index] - cells, wh[t]), 1)
    return LevelTargets(
        image=targets[t, 0].long(),
        anchor=anchor[index],
        gy=gy,
        gx=gx,
        box=box,
        cls=targets[t, 1].long(),
        anchor_wh=anchors[anchor[index]],
    )


def _bce(logits: torch.Tensor, target: torch.Tensor, *, pos_weight: float, gamma: float) -> torch.Tensor:
    """Mean binary cross-entropy with logits; a focal modulation ``(1 - p_t)^gamma`` when ``gamma > 0``."""
    weight = logits.new_tensor([pos_weight])
    loss = F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight, reduction="none")
    if gamma > 0:
        p = logits.sigmoid()
        p_t = target * p + (1 - target) * (1 - p)
        loss = loss * (1.0 - p_t) ** gamma * (target * 0.25 + (1 - target) * 0.75)
    return loss.mean()


def _head(model: nn.Module) -> Any:
    head: Any = model.model[-1]  # type: ignore[index]
    if not hasattr(head, "anchors") or not hasattr(head, "na"):
        raise ConfigError("the YOLOv5 loss needs a model whose last layer is YOLOv5's anchor-based Detect head")
    return head


class YoloV5Loss:
    """The training criterion of a YOLOv5 model: ``(preds, batch) -> (loss * batch size, loss items)``, as
    Ultralytics' trainer calls ``model.loss`` (``preds``: the head's training outputs, one ``(B, na, H, W, no)``
    map per level; ``batch``: ``img``, ``batch_idx``, ``cls``, normalised xywh ``bboxes``)."""

    def __init__(self, model: nn.Module) -> None:
        head = _head(model)
        self.gains = YoloV5Gains.from_model(model)
        self.nc = int(head.nc)
        self.train_imgsz = int(getattr(model, "paretodet_train_imgsz", DEFAULT_TRAIN_IMGSZ) or DEFAULT_TRAIN_IMGSZ)
        self.head = head

    def __call__(self, preds: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The summed loss times the batch size, and its detached ``box_loss``, ``obj_loss``, ``cls_loss``."""
        raw = preds[1] if isinstance(preds, tuple) else preds
        lbox, lobj, lcls = self.terms(raw, batch)
        g = self.gains
        imgsz = max(batch["img"].shape[-2:])
        parts = torch.stack((lbox * g.box, lobj * g.obj * (imgsz / self.train_imgsz) ** 2, lcls * g.cls))
        return parts.sum() * raw[0].shape[0], dict(zip(("box_loss", "obj_loss", "cls_loss"), parts.detach()))

    def terms(self, raw: list[torch.Tensor], batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """The ungained box, objectness and class terms of one batch."""
        g = self.gains
        device = raw[0].device
        targets = torch.cat(
            (batch["batch_idx"].view(-1, 1), batch["cls"].view(-1, 1), batch["bboxes"].view(-1, 4)), 1
        ).to(device=device, dtype=torch.float32)
        positive, negative = 1.0 - 0.5 * g.label_smoothing, 0.5 * g.label_smoothing
        zero = torch.zeros((), device=device)
        lbox, lobj, lcls = zero, zero, zero
        anchors_all = self.head.anchors.to(device)
        for level, (pred, weight) in enumerate(zip(raw, level_balance(len(raw)), strict=True)):
            pred = pred.float()
            tobj = torch.zeros(pred.shape[:4], device=device)
            assigned = assign_targets(
                targets, anchors_all[level], grid=(pred.shape[2], pred.shape[3]), anchor_t=g.anchor_t
            )
            if len(assigned.image):
                ps = pred[assigned.image, assigned.anchor, assigned.gy, assigned.gx]
                pxy = ps[:, :2].sigmoid() * 2 - 0.5
                pwh = (ps[:, 2:4].sigmoid() * 2) ** 2 * assigned.anchor_wh
                iou = _ciou(torch.cat((pxy, pwh), 1), assigned.box)
                lbox = lbox + (1.0 - iou).mean()
                tobj[assigned.image, assigned.anchor, assigned.gy, assigned.gx] = iou.detach().clamp(0)
                if self.nc > 1:
                    cls_target = torch.full_like(ps[:, 5:], negative)
                    cls_target[torch.arange(len(ps), device=device), assigned.cls] = positive
                    lcls = lcls + _bce(ps[:, 5:], cls_target, pos_weight=g.cls_pw, gamma=g.fl_gamma)
            lobj = lobj + _bce(pred[..., 4], tobj, pos_weight=g.obj_pw, gamma=g.fl_gamma) * weight
        return lbox, lobj, lcls


def _ciou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Complete IoU of paired ``xywh`` boxes (Ultralytics' implementation), shape (m,)."""
    from ultralytics.utils.metrics import bbox_iou

    return bbox_iou(pred, target, xywh=True, CIoU=True).squeeze(-1)


def check_v5_pair(student: nn.Module, teacher: nn.Module) -> None:
    """Refuse a teacher whose anchor-based head does not match the student's anchors one to one."""
    s_head, t_head = _head(student), _head(teacher)
    for attr in ("nc", "nl", "na"):
        if getattr(s_head, attr) != getattr(t_head, attr):
            raise ConfigError(
                f"student and teacher YOLOv5 heads differ in {attr} ({getattr(s_head, attr)} vs "
                f"{getattr(t_head, attr)}): distil from the model the student was pruned from"
            )
    if not torch.equal(s_head.stride.float(), t_head.stride.float()) or not torch.allclose(
        s_head.anchors.float(), t_head.anchors.float()
    ):
        raise ConfigError("student and teacher YOLOv5 heads differ in strides or anchors: they must share the grid")


class YoloV5DistillationLoss(YoloV5Loss):
    """``(1 - alpha) * YOLOv5 loss + alpha * KD`` from a frozen teacher with the same anchors (module docstring)."""

    def __init__(self, student: nn.Module, teacher: nn.Module, *, temperature: float, alpha: float) -> None:
        super().__init__(student)
        if not 1.0 <= temperature <= 100.0 or not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"need temperature >= 1 and alpha in [0, 1], got T={temperature} alpha={alpha}")
        check_v5_pair(student, teacher)
        device = next(student.parameters()).device
        self.teacher = copy.deepcopy(teacher).float().eval().to(device)
        for param in self.teacher.parameters():
            param.requires_grad_(False)
        self.temperature, self.alpha = temperature, alpha

    def __call__(self, preds: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The mixed loss times the batch size; items add ``kd_obj``, ``kd_cls``, ``kd_box``."""
        task, items = super().__call__(preds, batch)
        raw = preds[1] if isinstance(preds, tuple) else preds
        if self.alpha == 0.0:
            zero = torch.zeros((), device=task.device)
            return task, {**items, "kd_obj": zero, "kd_cls": zero, "kd_box": zero}
        self.teacher.eval()
        with torch.no_grad():
            _, t_raw = self.teacher(batch["img"])
        obj_term, cls_term, box_term = self.kd_terms(raw, t_raw)
        g = self.gains
        kd = obj_term * g.obj + cls_term * g.cls + box_term * g.box
        total = (1.0 - self.alpha) * task + self.alpha * kd * raw[0].shape[0]
        terms = {"kd_obj": obj_term.detach(), "kd_cls": cls_term.detach(), "kd_box": box_term.detach()}
        return total, {**items, **terms}

    def kd_terms(self, student: list[torch.Tensor], teacher: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """Objectness, class and box distillation terms (the first two scaled by ``T^2``)."""
        t2 = self.temperature**2
        obj_term = cls_term = box_term = torch.zeros((), device=student[0].device)
        for s, t, balance in zip(student, teacher, level_balance(len(student)), strict=True):
            s, t = s.float(), t.float()
            obj_term = obj_term + bernoulli_kl(s[..., 4], t[..., 4], temperature=self.temperature).mean() * balance * t2
            weight = t[..., 4].sigmoid()  # where the teacher sees an object
            norm = weight.sum().clamp(min=1.0)
            if self.nc > 1:
                kl = bernoulli_kl(s[..., 5:], t[..., 5:], temperature=self.temperature).sum(-1)
                cls_term = cls_term + (kl * weight).sum() / norm * t2
            offsets = (s[..., :4].sigmoid() - t[..., :4].sigmoid()).pow(2).sum(-1)
            box_term = box_term + (offsets * weight).sum() / norm
        return obj_term, cls_term, box_term
