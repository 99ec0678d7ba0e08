"""Feature distillation on the neck: channel-wise distillation (CWD) of the features the detection head reads.

Channel-wise distillation (Shu et al., ICCV 2021) turns each channel of a feature map into a distribution over
its spatial positions (a softmax over H x W with temperature ``tau``) and minimises the KL divergence from the
teacher's channel distributions to the student's, averaged over channels and images and scaled by ``tau^2``.
It asks the student to put its activation mass where the teacher does, channel by channel, without matching
raw magnitudes. The student's neck is narrower than the teacher's, so a 1x1 convolution per level (the
*projector*) maps the student's channels to the teacher's; projectors train with the student (they are a
submodule while training, so the trainer's optimizer sees them) and are removed from the trained model.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from paretodet.errors import ConfigError

__all__ = [
    "PROJECTORS",
    "FeatureTap",
    "attach_feature_projectors",
    "cwd_loss",
    "detach_feature_projectors",
    "neck_channels",
]

PROJECTORS = "kd_projectors"


def neck_channels(model: nn.Module) -> list[int]:
    """Channels of each feature level the model's Ultralytics detection head reads."""
    head: Any = model.model[-1]  # type: ignore[index]
    branches = getattr(head, "cv2", None)
    if branches is None:
        raise ConfigError("feature distillation needs an Ultralytics detection head (model.model[-1].cv2)")
    return [int(next(m for m in branch.modules() if isinstance(m, nn.Conv2d)).in_channels) for branch in branches]


def attach_feature_projectors(student: nn.Module, teacher: nn.Module, *, seed: int = 0) -> None:
    """Give ``student`` one 1x1 projector per neck level (student channels -> teacher channels), in place."""
    pairs = list(zip(neck_channels(student), neck_channels(teacher), strict=True))
    generator = torch.Generator().manual_seed(seed)
    projectors = nn.ModuleList()
    for s_ch, t_ch in pairs:
        conv = nn.Conv2d(s_ch, t_ch, 1)
        with torch.no_grad():
            bound = 1.0 / s_ch**0.5
            conv.weight.copy_(torch.empty_like(conv.weight).uniform_(-bound, bound, generator=generator))
            if conv.bias is not None:
                conv.bias.zero_()
        projectors.append(conv)
    setattr(student, PROJECTORS, projectors)


def detach_feature_projectors(model: nn.Module) -> None:
    """Remove the training-only projectors from ``model`` (no-op without them)."""
    if hasattr(model, PROJECTORS):
        delattr(model, PROJECTORS)


class FeatureTap:
    """Keeps the feature maps the detection head of ``model`` received in its latest forward pass."""

    def __init__(self, model: nn.Module) -> None:
        self.features: list[torch.Tensor] = []
        head: Any = model.model[-1]  # type: ignore[index]
        self._handle = head.register_forward_pre_hook(self._keep)

    def _keep(self, _module: nn.Module, inputs: tuple[Any, ...]) -> None:
        self.features = list(inputs[0])  # a copy: the head replaces the list's items in place

    def remove(self) -> None:
        """Stop watching the head."""
        self._handle.remove()


def cwd_loss(student: list[torch.Tensor], teacher: list[torch.Tensor], *, tau: float = 1.0) -> torch.Tensor:
    """Channel-wise distillation loss, mean over levels of KL(teacher || student) per channel, scaled by tau^2.

    ``student`` must already have the teacher's channels (projected). Example:
        >>> x = [torch.randn(2, 8, 4, 4)]
        >>> float(cwd_loss(x, x))
        0.0
    """
    if len(student) != len(teacher) or not student:
        raise ConfigError(f"feature distillation needs matching levels, got {len(student)} and {len(teacher)}")
    total = torch.zeros((), device=student[0].device)
    for s, t in zip(student, teacher, strict=True):
        if s.shape != t.shape:
            raise ConfigError(f"feature shapes differ: student {tuple(s.shape)} vs teacher {tuple(t.shape)}")
        log_s = F.log_softmax(s.float().flatten(2) / tau, dim=-1)
        log_t = F.log_softmax(t.float().flatten(2) / tau, dim=-1)
        total = total + (log_t.exp() * (log_t - log_s)).sum(-1).mean() * tau * tau
    return total / len(student)
