"""Pruning: NNI's pruners choose what to remove; Torch-Pruning removes structured channels physically.

Structured methods (``l1``, ``l2``, ``fpgm``, ``taylor``) drop whole output channels of the backbone's and
neck's convolutions (which convolutions belong to which part is the detector family's call, see
:mod:`paretodet.models`). NNI 3.0's own ``ModelSpeedup`` fails on current torch (its tracer), so the channel
masks NNI computes are applied by Torch-Pruning's dependency graph instead, traced on the module the family
names, which also removes the coupled input channels of every consumer (concat, residual add, the next
convolution, the heads). Ultralytics C2f blocks are first replaced by
:class:`~paretodet.models.ultralytics._c2f.C2fSplit` (output-identical) so their channel split is prunable.

The unstructured method (``level``) zeroes the smallest weights in place: the network keeps its shapes, so
it is no faster and its file is no smaller; only a compressed copy of the file is (the ``compressed_bytes``
metric measures that). The detection head is never pruned.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from paretodet.base import heavy_work
from paretodet.compress._choices import MAX_PRUNE_RATIO, PRUNE_METHODS, STRUCTURED_METHODS
from paretodet.errors import ConfigError, ExportError, first_line

if TYPE_CHECKING:
    from paretodet.data import DatasetInfo
    from paretodet.models import DetectorFamily

__all__ = [
    "MAX_PRUNE_RATIO",
    "PRUNE_METHODS",
    "STRUCTURED_METHODS",
    "PruneReport",
    "PruneSpec",
    "prune_model",
    "structured_prune",
]


@dataclass(frozen=True)
class PruneSpec:
    """What to prune.

    Attributes:
        method: l1 / l2 / fpgm / taylor (structured: output channels) or level (unstructured: single weights).
        ratio: fraction of each convolution's channels (or weights) to remove.
        backbone_ratio / neck_ratio: per-part overrides of ``ratio`` (None: use ``ratio``).
        skip: module names (e.g. ``model.0``, ``model.4.m.0``) whose convolutions stay unpruned.
        round_to: structured only: each pruned convolution keeps a multiple of this many channels (NNI's
            choice is trimmed, restoring the removed channels of largest weight norm): CPU kernels run such
            shapes much faster (measured: ratio 0.3 ran 0.80x the teacher's latency rounded, 0.94x unrounded).
    """

    method: str
    ratio: float
    backbone_ratio: float | None = None
    neck_ratio: float | None = None
    skip: tuple[str, ...] = ()
    round_to: int = 8

    def __post_init__(self) -> None:
        if self.method not in PRUNE_METHODS:
            raise ConfigError(f"unknown pruning method '{self.method}': use one of {', '.join(PRUNE_METHODS)}")
        for label, value in (
            ("ratio", self.ratio),
            ("backbone_ratio", self.backbone_ratio),
            ("neck_ratio", self.neck_ratio),
        ):
            if value is not None and not 0.0 <= value <= MAX_PRUNE_RATIO:
                raise ConfigError(f"pruning {label} must be in [0, {MAX_PRUNE_RATIO}], got {value}")
        if self.round_to < 1:
            raise ConfigError(f"pruning round_to must be >= 1, got {self.round_to}")


@dataclass(frozen=True)
class PruneReport:
    """What pruning did.

    Attributes:
        params_before / params_after: parameter counts (unstructured pruning keeps the count).
        groups_pruned: structured only: channel groups physically removed.
        convs_considered: convolutions the pruner was allowed to touch.
        zero_fraction: fraction of convolution weights that are exactly zero afterwards.
    """

    params_before: int
    params_after: int
    groups_pruned: int
    convs_considered: int
    zero_fraction: float


def structured_prune(
    model: nn.Module, *, method: str, ratio: float, family: str, imgsz: int = 160
) -> tuple[nn.Module, PruneReport]:
    """Shorthand for :func:`prune_model` with one global ratio (no data: not for ``taylor``)."""
    return prune_model(model, PruneSpec(method=method, ratio=ratio), imgsz=imgsz, family=family)


@heavy_work()  # not while another process on this host times latency
def prune_model(
    model: nn.Module,
    spec: PruneSpec,
    *,
    imgsz: int = 320,
    data: DatasetInfo | Path | None = None,
    seed: int = 0,
    family: str,
) -> tuple[nn.Module, PruneReport]:
    """A pruned copy of a detection model of ``family`` (an Ultralytics model's C2f blocks made prunable).

    ``taylor`` scores channels by first-order Taylor importance from gradients of the family's detection loss
    on a few training batches of ``data`` (a dataset or a data YAML) at ``imgsz``.

    Example:
        >>> pruned, report = prune_model(detector.model, PruneSpec("l2", 0.3), family=detector.family)  # doctest: +SKIP
    """
    from paretodet.models import get_family

    detector_family = get_family(family)
    net = detector_family.prunable_copy(model, structured=spec.method in STRUCTURED_METHODS)
    net = net.float().cpu().eval()
    for param in net.parameters():
        param.requires_grad_(True)
    parts = detector_family.prune_parts(net)
    _check_skip(net, spec.skip)
    config_list: list[dict[str, Any]] = []
    targets: list[str] = []
    for part, part_ratio in (("backbone", spec.backbone_ratio), ("neck", spec.neck_ratio)):
        ratio = spec.ratio if part_ratio is None else part_ratio
        names = [n for n, p in parts.items() if p == part and not _skipped(n, spec.skip)]
        if names and ratio > 0:
            config_list.append({"op_names": names, "op_types": ["Conv2d"], "sparse_ratio": ratio})
            targets.extend(names)
    considered = len(targets)
    before = _count(net)
    if not config_list:
        return net, PruneReport(before, before, 0, 0, _zero_fraction(net))
    torch.manual_seed(seed)
    masks = _nni_masks(net, spec.method, config_list, imgsz=imgsz, data=data, family=detector_family)
    if spec.method == "level":
        with torch.no_grad():
            for name, mask in masks.items():
                if "weight" in mask:
                    conv: Any = net.get_submodule(name)
                    conv.weight.mul_(mask["weight"].to(conv.weight.dtype))
        return net.eval(), PruneReport(before, before, 0, considered, _zero_fraction(net))
    groups = _remove_channels(net, masks, targets, imgsz=imgsz, round_to=spec.round_to, family=detector_family)
    _check_forward(net, imgsz, spec, family=detector_family)
    return net.eval(), PruneReport(before, _count(net), groups, considered, _zero_fraction(net))


def _skipped(name: str, skip: Sequence[str]) -> bool:
    return any(name == s or name.startswith(s + ".") for s in skip)


def _check_skip(net: nn.Module, skip: Sequence[str]) -> None:
    known = [n for n, _ in net.named_modules() if n]
    for name in skip:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else " (module names look like model.4 or model.4.m.0)"
            raise ConfigError(f"prune.skip names '{name}', which is not a module of this model{hint}")


def _count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _zero_fraction(net: nn.Module) -> float:
    weights = [m.weight for m in net.modules() if isinstance(m, nn.Conv2d)]
    total = sum(w.numel() for w in weights)
    return float(sum(int((w == 0).sum()) for w in weights) / total) if total else 0.0


def _nni_masks(
    net: nn.Module,
    method: str,
    config_list: list[dict[str, Any]],
    *,
    imgsz: int,
    data: DatasetInfo | Path | None,
    family: DetectorFamily,
) -> dict[str, dict[str, torch.Tensor]]:
    """Masks chosen by the NNI pruner of ``method`` (the model is unwrapped again afterwards)."""
    from nni.compression.pruning import FPGMPruner, L1NormPruner, L2NormPruner, LevelPruner

    pruner: Any
    if method == "taylor":
        pruner = _taylor_pruner(net, config_list, imgsz=imgsz, data=data, family=family)
    else:
        cls = {"l1": L1NormPruner, "l2": L2NormPruner, "fpgm": FPGMPruner, "level": LevelPruner}[method]
        pruner = cls(net, config_list)
    try:
        _, masks = pruner.compress()
    finally:
        pruner.unwrap_model()
    return masks


TAYLOR_STEPS = 8


def _taylor_pruner(
    net: nn.Module,
    config_list: list[dict[str, Any]],
    *,
    imgsz: int,
    data: DatasetInfo | Path | None,
    family: DetectorFamily,
) -> Any:
    """NNI's TaylorPruner fed with detection-loss gradients from a few training batches."""
    import nni
    from nni.compression import TorchEvaluator
    from nni.compression.pruning import TaylorPruner

    from paretodet.data import DatasetInfo, load_data_yaml

    if data is None:
        raise ConfigError("prune.method=taylor needs training images (a data YAML with a train split)")
    info = data if isinstance(data, DatasetInfo) else load_data_yaml(data)
    if info.train is None:
        raise ConfigError(f"prune.method=taylor needs training images: {info.yaml_path} has no train split")
    batches = family.loss_batches(info, imgsz=imgsz, count=TAYLOR_STEPS)
    if not batches:
        raise ConfigError(f"prune.method=taylor found no training images in {info.yaml_path}: add a train split")

    def training_step(batch: Any, model: Any) -> torch.Tensor:
        return family.batch_loss(model, batch)

    def training_func(
        model: Any, optimizers: Any, training_step: Any, lr_schedulers: Any = None, max_steps: Any = None, *_: Any
    ) -> None:
        model.train()
        steps = len(batches) if max_steps is None else max_steps
        for step in range(steps):  # a small train split is cycled until NNI has its gradient steps
            optimizers.zero_grad()
            training_step(batches[step % len(batches)], model).backward()
            optimizers.step()
        model.eval()

    optimizer = nni.trace(torch.optim.SGD)(net.parameters(), lr=0.0)  # gradients only: weights stay put
    evaluator = TorchEvaluator(training_func, optimizer, training_step)
    return TaylorPruner(net, config_list, evaluator, training_steps=TAYLOR_STEPS)


def _remove_channels(
    net: nn.Module,
    masks: dict[str, dict[str, torch.Tensor]],
    names: list[str],
    *,
    imgsz: int,
    family: DetectorFamily,
    round_to: int = 1,
) -> int:
    """Remove the masked output channels (and their coupled channels) with Torch-Pruning; return group count."""
    import torch_pruning as tp

    traced, example = family.prune_trace(net, imgsz=imgsz)
    try:
        graph = tp.DependencyGraph().build_dependency(traced, example_inputs=example)
    except Exception as exc:
        raise ExportError(f"cannot trace the model's channel dependencies: {first_line(exc)}") from exc
    groups = 0
    out_pruned: set[int] = set()  # convs whose output channels a coupled group already pruned
    for name in names:
        conv = net.get_submodule(name)
        weight_mask = masks.get(name, {}).get("weight")
        if weight_mask is None or id(conv) in out_pruned:
            continue  # NNI's indices for a conv coupled to one pruned before would be stale
        removed = _rounded_removal(conv, weight_mask.flatten(1).sum(1) == 0, round_to)
        if not removed:
            continue
        group = graph.get_pruning_group(conv, tp.prune_conv_out_channels, idxs=removed)
        if graph.check_pruning_group(group):
            out_pruned.update(id(dep.target.module) for dep, _ in group if dep.handler == tp.prune_conv_out_channels)
            group.prune()
            groups += 1
    return groups


def _rounded_removal(conv: Any, removed_mask: torch.Tensor, round_to: int) -> list[int]:
    """Indices to remove so that the kept channel count is a multiple of ``round_to`` (never fewer kept than
    the mask keeps): the removed channels of largest weight L2 norm are restored."""
    total = int(removed_mask.numel())
    kept = total - int(removed_mask.sum())
    target = min(total, -(-max(kept, 1) // round_to) * round_to)
    removed = torch.nonzero(removed_mask).flatten()
    if target > kept and len(removed):
        norms = conv.weight.detach().flatten(1).norm(dim=1)[removed]
        restore = torch.argsort(norms, descending=True)[: target - kept]
        keep_back = torch.zeros(len(removed), dtype=torch.bool)
        keep_back[restore] = True
        removed = removed[~keep_back]
    return removed.tolist()


def _check_forward(net: nn.Module, imgsz: int, spec: PruneSpec, *, family: DetectorFamily) -> None:
    """Run the pruned model once; on failure name the innermost module that broke."""
    with _module_tracker(net) as stack:
        try:
            family.check_forward(net, imgsz=imgsz)
        except RuntimeError as exc:
            where = stack[-1] if stack else "the model"
            raise ExportError(
                f"pruning broke module '{where}' ({first_line(exc)}): this model cannot be pruned with "
                f"method={spec.method} ratio={spec.ratio}; exclude it with prune.skip={where}"
            ) from exc


@contextmanager
def _module_tracker(net: nn.Module) -> Iterator[list[str]]:
    """Keep the names of the modules whose forward is running (innermost last)."""
    stack: list[str] = []

    def enter(name: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any) -> None:
            stack.append(name)

        return hook

    def leave(_module: nn.Module, _inputs: Any, _output: Any) -> None:
        stack.pop()

    handles = []
    for name, module in net.named_modules():
        if name:
            handles.append(module.register_forward_pre_hook(enter(name)))
            handles.append(module.register_forward_hook(leave))
    try:
        yield stack
    finally:
        for handle in handles:
            handle.remove()
