"""Whether this host can run the GPU runtimes: each probe returns None, or why not in one line."""

from __future__ import annotations

import importlib.util

__all__ = ["cuda_provider_missing", "tensorrt_provider_missing", "torch_cuda_missing"]


def _ort_provider_missing(provider: str, runtime: str) -> str | None:
    import onnxruntime as ort

    if provider not in ort.get_available_providers():
        return (
            f"runtime={runtime} needs ONNX Runtime's {provider}, which this onnxruntime build lacks: "
            f"install onnxruntime-gpu (pip install 'paretodet[gpu]') on a host with an NVIDIA GPU"
        )
    return _no_gpu(runtime)


def _no_gpu(runtime: str) -> str | None:
    if importlib.util.find_spec("torch") is not None:
        import torch

        if not torch.cuda.is_available():
            return f"runtime={runtime} needs an NVIDIA GPU with CUDA, and this host has none: use a CPU runtime"
    return None


def cuda_provider_missing() -> str | None:
    """None when ONNX Runtime's CUDA execution provider can run here."""
    return _ort_provider_missing("CUDAExecutionProvider", "onnxruntime-cuda")


def tensorrt_provider_missing() -> str | None:
    """None when ONNX Runtime's TensorRT execution provider can run here."""
    return _ort_provider_missing("TensorrtExecutionProvider", "tensorrt")


def torch_cuda_missing() -> str | None:
    """None when PyTorch sees a CUDA GPU."""
    return _no_gpu("torch-cuda")
