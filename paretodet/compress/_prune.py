"""Structured pruning: NNI's pruners choose the channels, Torch-Pruning removes them physically.

NNI 3.0's own ``ModelSpeedup`` fails on current torch (its tracer), so the masks NNI computes are applied by
Torch-Pruning's dependency graph instead, which also removes the coupled input channels of every consumer.
C2f blocks are first replaced by :class:`~paretodet.compress._c2f.C2fSplit` (output-identical) so the
channel split is prunable. The detection head is never pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from paretodet.compress._c2f import split_c2f_blocks
from paretodet.errors import ConfigError, ExportError

__all__ = ["PRUNE_METHODS", "PruneReport", "structured_prune"]

PRUNE_METHODS: tuple[str, ...] = ("l1", "l2", "fpgm")


@dataclass(frozen=True)
class PruneReport:
    """What pruning did: parameters before/after and how many channel groups were removed."""

    params_before: int
    params_after: int
    groups_pruned: int
    convs_considered: int


def _nni_pruner(method: str) -> Any:
    from nni.compression.pruning import FPGMPruner, L1NormPruner, L2NormPruner

    return {"l1": L1NormPruner, "l2": L2NormPruner, "fpgm": FPGMPruner}[method]


def structured_prune(model: nn.Module, *, method: str, ratio: float, imgsz: int = 160) -> tuple[nn.Module, PruneReport]:
    """A physically smaller copy of an Ultralytics detection model with ``ratio`` of each backbone/neck conv's
    output channels removed (chosen by the NNI ``method`` pruner).

    Example:
        >>> pruned, report = structured_prune(detector.model, method="l2", ratio=0.3)  # doctest: +SKIP
    """
    import torch_pruning as tp

    if method not in PRUNE_METHODS:
        raise ConfigError(f"unknown pruning method '{method}': use one of {', '.join(PRUNE_METHODS)}")
    if not 0.0 <= ratio <= 0.9:
        raise ConfigError(f"pruning ratio must be in [0, 0.9], got {ratio}")
    net, _ = split_c2f_blocks(model)
    net = net.float().cpu().eval()
    for param in net.parameters():
        param.requires_grad_(True)
    head = len(net.model) - 1  # type: ignore[arg-type]
    names = [n for n, m in net.named_modules() if isinstance(m, nn.Conv2d) and not n.startswith(f"model.{head}.")]
    before = sum(p.numel() for p in net.parameters())
    if ratio == 0.0 or not names:
        return net, PruneReport(before, before, 0, len(names))
    pruner = _nni_pruner(method)(net, [{"op_names": names, "op_types": ["Conv2d"], "sparse_ratio": ratio}])
    _, masks = pruner.compress()
    pruner.unwrap_model()
    example = torch.rand(1, 3, imgsz, imgsz)
    try:
        graph = tp.DependencyGraph().build_dependency(net, example_inputs=example)
    except Exception as exc:
        raise ExportError(f"cannot trace the model's channel dependencies: {str(exc).splitlines()[0]}") from exc
    groups = 0
    out_pruned: set[int] = set()  # convs whose output channels a coupled group already pruned
    for name in names:
        conv = net.get_submodule(name)
        weight_mask = masks.get(name, {}).get("weight")
        if weight_mask is None or id(conv) in out_pruned:
            continue  # NNI's indices for a conv coupled to one pruned before would be stale
        removed = torch.nonzero(weight_mask.flatten(1).sum(1) == 0).flatten().tolist()
        if not removed:
            continue
        group = graph.get_pruning_group(conv, tp.prune_conv_out_channels, idxs=removed)
        if graph.check_pruning_group(group):
            out_pruned.update(id(dep.target.module) for dep, _ in group if dep.handler == tp.prune_conv_out_channels)
            group.prune()
            groups += 1
    after = sum(p.numel() for p in net.parameters())
    net.eval()
    try:
        with torch.no_grad():
            net(example)
    except RuntimeError as exc:
        raise ExportError(
            f"pruning broke the graph ({str(exc).splitlines()[0]}): this model cannot be pruned "
            f"with method={method} ratio={ratio}"
        ) from exc
    return net, PruneReport(before, after, groups, len(names))
