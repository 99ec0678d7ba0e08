"""--device: cpu always; a CUDA device only where torch sees one; anything else is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretodet.errors import ConfigError
from paretodet.models._device import check_device
from paretodet.search import SearchConfig


def test_cpu_and_malformed_devices() -> None:
    assert check_device("cpu") == "cpu"
    with pytest.raises(ConfigError, match="--device 'gpu' is not cpu, cuda or cuda:N"):
        check_device("gpu")
    with pytest.raises(ConfigError, match="is not cpu, cuda or cuda:N"):
        SearchConfig(model="m.pt", data=Path("d.yaml"), workdir=Path("w"), device="cuda0")


def test_cuda_without_a_gpu_is_one_line() -> None:
    import torch

    if torch.cuda.is_available():
        assert check_device("cuda") == "cuda"
        with pytest.raises(ConfigError, match="numbered from 0"):
            check_device(f"cuda:{torch.cuda.device_count()}")
        return
    with pytest.raises(ConfigError, match=r"^--device cuda:1: torch sees no CUDA GPU on this host: use --device cpu$"):
        check_device("cuda:1")
