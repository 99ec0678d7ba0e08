"""C2f with its split made explicit: the prunable equivalent of Ultralytics' ``C2f`` block.

``C2f.cv1`` produces ``2c`` channels that ``forward`` chunks into two halves. A dependency-graph pruner cannot
remove channels through that ``chunk``/``split`` consistently, so :class:`C2fSplit` computes the two halves
with two separate convolutions (``cv0`` and ``cv1``) whose weights are the halves of the original ``cv1``.
Its outputs are identical to the original's; BatchNorm ``eps`` and ``momentum`` (which Ultralytics sets
outside the state dict) are copied explicitly.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

__all__ = ["LEGACY_C2F_PATHS", "C2fSplit", "split_c2f_blocks"]


class C2fSplit(nn.Module):
    """``C2f`` with two convolutions in place of one convolution followed by a channel split."""

    def __init__(self, c2f: Any) -> None:
        super().__init__()
        half = c2f.c
        self.c = half
        self.cv0 = _half_conv(c2f.cv1, slice(0, half))
        self.cv1 = _half_conv(c2f.cv1, slice(half, 2 * half))
        self.cv2 = copy.deepcopy(c2f.cv2)
        self.m = copy.deepcopy(c2f.m)
        for attr in ("i", "f", "type", "np"):  # Ultralytics' graph bookkeeping on each module of model.model
            if hasattr(c2f, attr):
                setattr(self, attr, getattr(c2f, attr))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same computation as ``C2f.forward``."""
        y = [self.cv0(x), self.cv1(x)]
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


def _half_conv(conv: Any, rows: slice) -> nn.Module:
    """A copy of an Ultralytics ``Conv`` (conv + BN + act) keeping only output channels ``rows``."""
    half: Any = copy.deepcopy(conv)
    old_conv: Any = conv.conv
    new_conv = conv_like(old_conv, in_channels=old_conv.in_channels, out_channels=rows.stop - rows.start)
    with torch.no_grad():
        new_conv.weight.copy_(old_conv.weight[rows])
        if old_conv.bias is not None and new_conv.bias is not None:
            new_conv.bias.copy_(old_conv.bias[rows])
    half.conv = new_conv
    if hasattr(conv, "bn"):
        old_bn: Any = conv.bn
        new_bn = nn.BatchNorm2d(
            rows.stop - rows.start,
            eps=old_bn.eps,
            momentum=old_bn.momentum,
            affine=old_bn.affine,
            track_running_stats=old_bn.track_running_stats,
        )
        with torch.no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                source = getattr(old_bn, name)
                if source is not None:
                    getattr(new_bn, name).copy_(source[rows])
            if old_bn.num_batches_tracked is not None and new_bn.num_batches_tracked is not None:
                new_bn.num_batches_tracked.copy_(old_bn.num_batches_tracked)
        half.bn = new_bn
    return half


def conv_like(conv: Any, *, in_channels: int, out_channels: int) -> nn.Conv2d:
    """A new convolution with ``conv``'s kernel, stride, padding, dilation, groups and bias setting."""
    return nn.Conv2d(
        in_channels,
        out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        conv.groups,
        bias=conv.bias is not None,
    )


def split_c2f_blocks(model: nn.Module) -> tuple[nn.Module, int]:
    """A copy of an Ultralytics detection model with every ``C2f`` (or subclass computing the same way, such as
    YOLO11's ``C3k2``) replaced by :class:`C2fSplit`.

    Returns the copy and how many blocks were replaced.
    """
    from ultralytics.nn.modules.block import C2f

    net = copy.deepcopy(model)
    replaced = 0
    module: Any
    for name, module in list(net.named_modules()):
        if isinstance(module, C2f) and type(module).forward is C2f.forward:  # C2f, C3k2 and kin
            parent_name, _, attr = name.rpartition(".")
            parent = net.get_submodule(parent_name) if parent_name else net
            new = C2fSplit(module).train(module.training)
            if isinstance(parent, nn.ModuleList | nn.Sequential):
                parent[int(attr)] = new
            else:
                setattr(parent, attr, new)
            replaced += 1
    return net, replaced


# where C2fSplit lived before: pruned checkpoints written then (stage caches, exports) name these paths
LEGACY_C2F_PATHS = ("paretodet.compress._c2f.C2fSplit", "paretodet.models._ultralytics_c2f.C2fSplit")
