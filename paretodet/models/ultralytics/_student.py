"""A student started from its teacher: the teacher's most important channels and evenly spaced repeats.

A student built at a smaller width/depth has the teacher's layer graph with fewer channels per convolution and
fewer repeats per block. :func:`init_from_teacher` shrinks a copy of the teacher to exactly the student's
shapes and copies the result into the student:

1. depth: every repeated block (C2f/C3k2 ``m``, C3 ``m``) keeps the student's number of repeats, evenly spaced
   over the teacher's (first and last kept), and C2f's output convolution keeps the input channels of the
   repeats that remain;
2. width: for each convolution wider than the student's, Torch-Pruning's dependency graph gives the group of
   coupled channels (concatenations, residual adds, consumers), which is scored by its weights' magnitude
   (L2 over the group, Torch-Pruning's ``GroupMagnitudeImportance``) and the lowest-scoring channels are
   removed until the convolution has the student's width;
3. every student tensor whose shape now matches its shrunk teacher tensor is copied; any other keeps its
   random initialisation (reported, so a caller can see how much of the student was inherited).

C2f blocks are shrunk in their split form (:class:`~paretodet.models.C2fSplit`) and merged back into the
student's single ``cv1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from paretodet.errors import ExportError
from paretodet.models.ultralytics._c2f import C2fSplit, conv_like, split_c2f_blocks

__all__ = ["InitReport", "init_from_teacher", "spaced_indices"]


@dataclass(frozen=True)
class InitReport:
    """What the student inherited.

    Attributes:
        copied / total: student tensors copied from the shrunk teacher / all student tensors.
        copied_params / total_params: the same in parameter (element) counts.
        groups_pruned: channel groups the width step removed.
        repeats_dropped: repeated blocks the depth step removed.
    """

    copied: int
    total: int
    copied_params: int
    total_params: int
    groups_pruned: int
    repeats_dropped: int

    @property
    def inherited(self) -> float:
        """Share of the student's elements that came from the teacher."""
        return self.copied_params / self.total_params if self.total_params else 0.0


def spaced_indices(total: int, keep: int) -> list[int]:
    """``keep`` indices evenly spaced over ``range(total)``, first and last included.

    Example:
        >>> spaced_indices(6, 3)
        [0, 2, 5]
    """
    if keep >= total:
        return list(range(total))
    if keep <= 1:
        return [0][:keep]
    return sorted({round(i * (total - 1) / (keep - 1)) for i in range(keep)})


def init_from_teacher(student: nn.Module, teacher: nn.Module, *, imgsz: int = 160) -> InitReport:
    """Copy into ``student`` (in place) the teacher's weights shrunk to the student's shapes; see the module
    docstring. Both are Ultralytics detection models of one architecture family (the student's YAML scaled).

    Example:
        >>> report = init_from_teacher(student, teacher.model)  # doctest: +SKIP
        >>> report.inherited > 0.9  # doctest: +SKIP
        True
    """
    net, _ = split_c2f_blocks(teacher)
    net = net.float().cpu().eval()
    for param in net.parameters():
        param.requires_grad_(True)  # the dependency graph is traced through autograd
    targets = _student_shapes(student)
    dropped = _drop_repeats(net, student)
    groups = _shrink_width(net, targets, imgsz=imgsz)
    return _copy_into(student, net, groups=groups, dropped=dropped)


def _student_shapes(student: nn.Module) -> dict[str, int]:
    """Output channels of each student convolution, named as in the split teacher (C2f ``cv1`` -> ``cv0``/``cv1``)."""
    from ultralytics.nn.modules.block import C2f

    shapes: dict[str, int] = {}
    c2f_names = {n for n, m in student.named_modules() if isinstance(m, C2f) and type(m).forward is C2f.forward}
    for name, module in student.named_modules():
        if not isinstance(module, nn.Conv2d):
            continue
        block, _, rest = name.partition(".cv1.")
        if block in c2f_names and rest == "conv":
            shapes[f"{block}.cv0.conv"] = shapes[name] = module.out_channels // 2
        else:
            shapes[name] = module.out_channels
    return shapes


def _drop_repeats(net: nn.Module, student: nn.Module) -> int:
    """Keep the student's number of repeats in each block of ``net``, evenly spaced; return how many went."""
    dropped = 0
    student_modules = dict(student.named_modules())
    for name, module in list(net.named_modules()):
        repeats = getattr(module, "m", None)
        peer = student_modules.get(name)
        peer_repeats = getattr(peer, "m", None)
        if not isinstance(repeats, nn.Sequential | nn.ModuleList) or peer_repeats is None:
            continue
        if len(peer_repeats) >= len(repeats):
            continue
        keep = spaced_indices(len(repeats), len(peer_repeats))
        if isinstance(module, C2fSplit):
            _keep_c2f_inputs(module, keep)
        kept = [repeats[i] for i in keep]
        module.m = nn.ModuleList(kept) if isinstance(repeats, nn.ModuleList) else nn.Sequential(*kept)
        dropped += len(repeats) - len(keep)
    return dropped


def _keep_c2f_inputs(block: C2fSplit, keep: list[int]) -> None:
    """C2f's output convolution reads [cv0, cv1, m0, m1, ...] concatenated: keep the slices of kept repeats."""
    c = block.c
    slices = [slice(0, 2 * c)] + [slice((2 + i) * c, (3 + i) * c) for i in keep]
    conv: Any = block.cv2.conv
    rows = torch.cat([torch.arange(s.start, s.stop) for s in slices])
    new = conv_like(conv, in_channels=len(rows), out_channels=conv.out_channels)
    with torch.no_grad():
        new.weight.copy_(conv.weight[:, rows])
        if conv.bias is not None and new.bias is not None:
            new.bias.copy_(conv.bias)
    block.cv2.conv = new


def _shrink_width(net: nn.Module, targets: dict[str, int], *, imgsz: int) -> int:
    """Prune each convolution of ``net`` wider than its target down to it; return the groups pruned."""
    import torch_pruning as tp

    example = torch.rand(1, 3, imgsz, imgsz)
    try:
        graph = tp.DependencyGraph().build_dependency(net, example_inputs=example)
    except Exception as exc:
        raise ExportError(f"cannot trace the teacher's channel dependencies to build a student: {exc}") from exc
    importance = tp.importance.GroupMagnitudeImportance(p=2)
    groups = 0
    for name, module in list(net.named_modules()):
        target = targets.get(name)
        if not isinstance(module, nn.Conv2d) or target is None or module.out_channels <= target:
            continue
        everything = list(range(module.out_channels))
        group = graph.get_pruning_group(module, tp.prune_conv_out_channels, idxs=everything)
        scores = importance(group)
        if scores is None:
            scores = module.weight.detach().flatten(1).norm(dim=1)
        drop = torch.argsort(scores)[: module.out_channels - target].tolist()
        group = graph.get_pruning_group(module, tp.prune_conv_out_channels, idxs=drop)
        if graph.check_pruning_group(group):
            group.prune()
            groups += 1
    return groups


def _copy_into(student: nn.Module, net: nn.Module, *, groups: int, dropped: int) -> InitReport:
    """Copy every tensor of the shrunk teacher ``net`` whose shape matches the student's."""
    source = net.state_dict()
    copied = copied_params = total_params = 0
    state = student.state_dict()
    with torch.no_grad():
        for name, tensor in state.items():
            total_params += tensor.numel()
            other = _source_tensor(source, name)
            if other is None or other.shape != tensor.shape:
                continue
            tensor.copy_(other)
            copied += 1
            copied_params += tensor.numel()
    return InitReport(copied, len(state), copied_params, total_params, groups, dropped)


def _source_tensor(source: dict[str, torch.Tensor], name: str) -> torch.Tensor | None:
    """The shrunk teacher's tensor for student tensor ``name`` (a C2f ``cv1`` is its split halves joined)."""
    block, marker, rest = name.partition(".cv1.")
    first, second = source.get(f"{block}.cv0.{rest}"), source.get(name)
    if not marker or first is None or second is None:
        return source.get(name)
    if rest.endswith("num_batches_tracked"):
        return first
    return torch.cat([first, second])
