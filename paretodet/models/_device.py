"""The training device: ``cpu`` or a CUDA GPU (``cuda`` / ``cuda:N``), checked before any work starts."""

from __future__ import annotations

import re

from paretodet.errors import ConfigError

__all__ = ["check_device"]

_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


def check_device(device: str) -> str:
    """``device`` when this host has it; ConfigError in one line otherwise.

    Example:
        >>> check_device("cpu")
        'cpu'
    """
    if not _DEVICE.match(device):
        raise ConfigError(f"--device {device!r} is not cpu, cuda or cuda:N")
    if device == "cpu":
        return device
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: torch sees no CUDA GPU on this host: use --device cpu")
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise ConfigError(f"--device {device}: this host has {torch.cuda.device_count()} CUDA GPU(s), numbered from 0")
    return device
