"""Quantization-aware fine-tuning (QAT) to recover accuracy that INT8 post-training quantization lost.

The BN-fused detector gets fake quantization where ONNX Runtime's QDQ INT8 model will quantize: each
convolution's input (uint8, asymmetric, moving-average min/max) and weight (int8, symmetric, per tensor or
per output channel), except in the head's decode and in blocks kept FP32. It is fine-tuned for a few epochs
with the Ultralytics trainer (the prepared model is kept, not rebuilt from YAML), then the fake quantizers
are removed and the adapted FP32 weights go through the very same static-quantization export as PTQ.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from paretodet.models import EpochCallback, FinetuneRecipe, finetune

__all__ = ["FakeQuantConv", "QatRecipe", "block_of_module", "prepare_qat", "qat_finetune", "strip_qat"]


@dataclass(frozen=True)
class QatRecipe:
    """Fine-tuning settings: AdamW at a small constant learning rate (``lrf`` 1: no decay), no warm-up, no mosaic
    (the Ultralytics trainer's other settings at :class:`FinetuneRecipe`'s defaults, see :meth:`trainer_recipe`)."""

    epochs: int = 2
    lr: float = 1e-4
    batch: int = 16
    seed: int = 0
    device: str = "cpu"
    lrf: float = 1.0

    def trainer_recipe(self) -> FinetuneRecipe:
        """All the Ultralytics trainer reads for this fine-tuning (what a QAT stage's cache key hashes)."""
        return FinetuneRecipe(
            epochs=self.epochs, lr=self.lr, lrf=self.lrf, batch=self.batch, seed=self.seed, device=self.device
        )


class FakeQuantConv(nn.Module):
    """A convolution whose input and weight pass through fake quantization during training."""

    def __init__(self, conv: nn.Conv2d, *, per_channel: bool) -> None:
        super().__init__()
        from torch.ao.quantization import FakeQuantize, MovingAverageMinMaxObserver
        from torch.ao.quantization.observer import MovingAveragePerChannelMinMaxObserver

        self.conv = conv
        self.act_fq = FakeQuantize(
            observer=MovingAverageMinMaxObserver,
            quant_min=0,
            quant_max=255,
            dtype=torch.quint8,
            qscheme=torch.per_tensor_affine,
        )
        if per_channel:
            self.weight_fq = FakeQuantize(
                observer=MovingAveragePerChannelMinMaxObserver,
                quant_min=-127,
                quant_max=127,
                dtype=torch.qint8,
                qscheme=torch.per_channel_symmetric,
                ch_axis=0,
            )
        else:
            self.weight_fq = FakeQuantize(
                observer=MovingAverageMinMaxObserver,
                quant_min=-127,
                quant_max=127,
                dtype=torch.qint8,
                qscheme=torch.per_tensor_symmetric,
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolution of the fake-quantized input with the fake-quantized weight."""
        return self.conv._conv_forward(self.act_fq(x), self.weight_fq(self.conv.weight), self.conv.bias)


def block_of_module(name: str, head_index: int) -> str | None:
    """The quantization block of a module name (``model.22.cv2.0.1.conv`` -> ``model.22.cv2.0``); None for
    the head's decode (``model.22.dfl``) and for modules outside ``model.N``."""
    parts = name.split(".")
    if len(parts) < 2 or parts[0] != "model" or not parts[1].isdigit():
        return None
    if int(parts[1]) != head_index:
        return f"model.{parts[1]}"
    if len(parts) >= 4 and parts[2] in ("cv2", "cv3", "m"):
        return f"model.{parts[1]}.{parts[2]}.{parts[3]}"
    return None


def prepare_qat(
    model: nn.Module, *, per_channel: bool, fp32_blocks: Sequence[str] = (), fake_quant: bool = True
) -> nn.Module:
    """A BN-fused copy of an Ultralytics detection model with fake quantization on quantized convolutions
    (``fake_quant=False``: the fused copy alone, the equal-compute baseline of QAT)."""
    net: Any = copy.deepcopy(model).float().cpu()
    net = net.fuse(verbose=False) if "verbose" in net.fuse.__code__.co_varnames else net.fuse()
    head_index = len(net.model) - 1
    targets = []
    for name, module in net.named_modules():
        block = block_of_module(name, head_index)
        if fake_quant and isinstance(module, nn.Conv2d) and block is not None and block not in fp32_blocks:
            targets.append(name)
    for name in targets:
        parent_name, _, attr = name.rpartition(".")
        parent = net.get_submodule(parent_name)
        setattr(parent, attr, FakeQuantConv(getattr(parent, attr), per_channel=per_channel))
    with torch.no_grad():  # weight observers take their per-channel shapes now, before a trainer copies the
        for module in net.modules():  # model for its EMA (whose buffers would otherwise stay one-element)
            if isinstance(module, FakeQuantConv):
                module.weight_fq(module.conv.weight)
    for param in net.parameters():
        param.requires_grad_(True)
    return net


def strip_qat(model: nn.Module) -> nn.Module:
    """Replace every :class:`FakeQuantConv` by its (fine-tuned) convolution."""
    net = copy.deepcopy(model).float().cpu()
    targets = [name for name, m in net.named_modules() if isinstance(m, FakeQuantConv)]
    for name in targets:
        parent_name, _, attr = name.rpartition(".")
        parent = net.get_submodule(parent_name) if parent_name else net
        setattr(parent, attr, getattr(parent, attr).conv)
    return net.eval()


def qat_finetune(
    model: nn.Module,
    data_yaml: Path,
    *,
    imgsz: int,
    per_channel: bool,
    fp32_blocks: Sequence[str],
    workdir: Path,
    recipe: QatRecipe,
    fake_quant: bool = True,
    on_epoch: EpochCallback | None = None,
) -> nn.Module:
    """Fine-tune ``model`` with fake quantization; return the fused FP32 model with the adapted weights.

    ``fake_quant=False`` runs the same fine-tuning without fake quantization (the equal-compute baseline).
    """
    prepared = prepare_qat(model, per_channel=per_channel, fp32_blocks=fp32_blocks, fake_quant=fake_quant)
    trained = finetune(
        prepared,
        data_yaml,
        imgsz=imgsz,
        recipe=recipe.trainer_recipe(),
        workdir=workdir,
        name="qat",
        on_epoch=on_epoch,
    )
    return strip_qat(trained)
