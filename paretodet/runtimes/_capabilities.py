"""What this host offers the runtimes: whether it can run the GPU ones (each probe returns None, or why not in
one line) and which precision hints OpenVINO's CPU plugin takes here."""

from __future__ import annotations

import functools
import importlib.util

__all__ = ["cpu_precision_hints", "cuda_provider_missing", "tensorrt_provider_missing", "torch_cuda_missing"]


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


# OpenVINO's CPU capabilities -> the precision hints they make available (f32 always is)
_HINT_CAPABILITY = {"bf16": "BF16", "f16": "FP16"}


@functools.cache  # the host's CPU does not change while a process runs; a Core costs tens of ms
def cpu_precision_hints() -> tuple[str, ...]:
    """The ``INFERENCE_PRECISION_HINT`` values OpenVINO's CPU plugin offers on this host (``f32`` first)."""
    import openvino as ov

    capabilities = set(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    return ("f32", *(hint for hint, cap in _HINT_CAPABILITY.items() if cap in capabilities))
