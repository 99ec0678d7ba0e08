"""Why a training run diverged, in one line: which loss term went non-finite and what to do about it.

A loss that is non-finite before any weight update cannot be the learning rate's doing: it comes from a target
(a ground-truth box, or a teacher's) that the loss cannot take. After updates, the weights ran away.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["diverged_reason"]

# terms a distillation criterion adds to the task loss, and what each one reads from the teacher
_KD_TERMS = {"kd_cls": "class distillation", "kd_box": "box distillation"}


def diverged_reason(parts: Mapping[str, float], *, epoch: int, updates: int, lr: float) -> str:
    """The message of a diverged training step: the non-finite terms of ``parts`` (loss term -> value),
    then advice for that cause; ``updates``: weight updates made before this step.

    Example:
        >>> diverged_reason({"classification": 1.2, "kd_box": float("inf")}, epoch=1, updates=0, lr=0.001)[:72]
        'training diverged in epoch 1: the box distillation term (kd_box) is inf '
    """
    bad = {name: value for name, value in parts.items() if not math.isfinite(value)}
    named = ", ".join(f"the {_term(name)} is {value}" for name, value in bad.items()) or "the total loss is not finite"
    fine = ", ".join(f"{name} {value:.3g}" for name, value in parts.items() if name not in bad)
    text = f"training diverged in epoch {epoch}: {named}" + (f" (finite: {fine})" if fine else "")
    kd = any(name in _KD_TERMS for name in bad)
    if updates == 0:
        source = "the teacher's detections" if kd else "a training box"
        fix = (
            "train without the teacher (distill.alpha=0) and report this"
            if kd
            else "check the data's labels for boxes of zero width or height"
        )
        cause = f"before any weight update, so not the learning rate: {source} gave a target the loss cannot take"
        return f"{text}; {cause}: {fix}"
    fix = f"lower the learning rate (lr={lr:g})" + (" or distill.alpha" if kd else "")
    return f"{text} after {updates} weight updates: {fix}"


def _term(name: str) -> str:
    if name in _KD_TERMS:
        return f"{_KD_TERMS[name]} term ({name})"
    return f"task loss term {name}"
