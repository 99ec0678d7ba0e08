"""Distillation terms several families share."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["bernoulli_kl"]


def bernoulli_kl(student: torch.Tensor, teacher: torch.Tensor, *, temperature: float) -> torch.Tensor:
    """Elementwise KL divergence between the teacher's and the student's sigmoid probabilities of logits
    softened by ``temperature`` (0 where they agree; the gradient of a BCE against the teacher's).

    Example:
        >>> float(bernoulli_kl(torch.tensor([2.0]), torch.tensor([2.0]), temperature=2.0)[0])
        0.0
    """
    s, t = student.float() / temperature, teacher.float() / temperature
    q = torch.sigmoid(t)
    return q * (F.logsigmoid(t) - F.logsigmoid(s)) + (1 - q) * (F.logsigmoid(-t) - F.logsigmoid(-s))
