"""Score a model as it is in memory (mid-training), through the same evaluator as every artifact: what the
search's early stopping reads at each rung."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from paretodet.models import Detector, get_family
from paretodet.objectives._accuracy import evaluate_map

if TYPE_CHECKING:
    import numpy as np

    from paretodet.data import ImageTruth

__all__ = ["score_detector"]


class _ModuleRunner:
    """A :class:`~paretodet.runtimes.Runner` over a family's inference module, in PyTorch on the CPU."""

    def __init__(self, net: object, *, family: str, threads: int) -> None:
        self.net, self.family, self.threads = net, family, threads

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        import torch

        with torch.inference_mode():
            out = self.net(torch.from_numpy(batch))  # type: ignore[operator]
        outputs = out if isinstance(out, (list, tuple)) else [out]
        return [o.detach().float().numpy() for o in outputs]


def _copy(model: Any) -> Any:
    """A deep copy of a module mid-training: tensors it keeps from the last step (a trainer's or a KD hook's
    activations, which are not graph leaves and refuse ``deepcopy``) are copied detached."""
    import torch

    memo: dict[int, Any] = {}

    def detach(value: Any) -> None:
        if isinstance(value, torch.Tensor) and not value.is_leaf:
            memo[id(value)] = value.detach().clone()
        elif isinstance(value, (list, tuple)):
            for item in value:
                detach(item)
        elif isinstance(value, dict):
            for item in value.values():
                detach(item)

    for module in model.modules():
        for value in vars(module).values():
            detach(value)
    return copy.deepcopy(model, memo)


def score_detector(detector: Detector, truths: Sequence[ImageTruth], *, imgsz: int, threads: int = 2) -> float:
    """mAP50-95 of ``detector``'s model as it is now (a copy on the CPU in eval mode: training goes on
    untouched) on the images of ``truths``, at ``imgsz``.

    Example:
        >>> score_detector(detector, truths[:32], imgsz=320)  # doctest: +SKIP
        0.214
    """
    import torch

    model = _copy(detector.model).cpu().eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    twin = detector.with_model(model, source=detector.source, digest=detector.digest)
    net = get_family(detector.family).inference_module(twin, imgsz=imgsz)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        runner = _ModuleRunner(net, family=detector.family, threads=threads)
        return float(evaluate_map(runner, truths, names=detector.names, imgsz=imgsz).map50_95)
    finally:
        torch.set_num_threads(previous)
