"""Runners: open an artifact on the runtime it ships on, with a fixed thread count.

A runner maps a ``(1, 3, S, S)`` float32 array to the artifact's raw outputs (a list of arrays, in the order
of its family's ``output_names``); the family's ``decode`` turns them into detections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from paretodet.errors import ConfigError, ModelError, first_line
from paretodet.runtimes._artifact import Artifact
from paretodet.runtimes._registry import RuntimeSpec, add_runtime, runtime_spec

__all__ = ["Runner", "RuntimeEntry", "open_runner", "register_runtime", "runtime_entry"]

RuntimeEntry = RuntimeSpec  # the registry entry of a runtime (see paretodet.runtimes.RuntimeSpec)


class Runner(Protocol):
    """Lifecycle: opened once per artifact by :func:`open_runner`, called many times, then dropped.

    Built-in runners also carry ``precision_hint`` and ``provider``: what the runtime reports it computes in
    and where (recorded with every latency; a runner without them records empty strings).
    """

    threads: int
    family: str

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        """Raw outputs for one input batch."""
        ...


def register_runtime(
    name: str, opener: Callable[[Artifact, int], Runner], *, package: str | None = None, **spec: Any
) -> None:
    """Register a runtime next to the built-ins: ``opener(artifact, threads)`` returns a :class:`Runner`;
    ``package`` is the distribution whose version latency records name; ``spec`` holds the other
    :class:`~paretodet.runtimes.RuntimeSpec` fields (precisions, INT8 engines, where its file comes from ...).
    A name registered again replaces the earlier entry (a built-in too).

    Example:
        >>> register_runtime("tflite", open_tflite, package="tflite-runtime")  # doctest: +SKIP
    """
    add_runtime(RuntimeSpec(name=name, label=spec.pop("label", name), runner=opener, package=package, **spec))


def runtime_entry(name: str) -> RuntimeSpec:
    """The registry entry of runtime ``name``; ConfigError naming the known ones when it is unknown."""
    return runtime_spec(name)


def open_runner(artifact: Artifact, *, threads: int) -> Runner:
    """Open ``artifact`` on its runtime with ``threads`` intra-op threads (one clear line when this host cannot
    run that runtime)."""
    if threads < 1:
        raise ConfigError(f"threads must be >= 1, got {threads}")
    return runtime_spec(artifact.runtime).open(artifact, threads)


class OrtRunner:
    """ONNX Runtime on one execution provider (the CPU's by default)."""

    providers: tuple[Any, ...] = ("CPUExecutionProvider",)

    def __init__(self, artifact: Artifact, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(artifact.path), options, providers=list(self.session_providers(artifact))
            )
        except Exception as exc:
            raise ModelError(f"onnxruntime cannot open {artifact.path}: {first_line(exc)}") from None
        feed = self.session.get_inputs()[0]
        self.input_name = feed.name  # "images" in Ultralytics' and paretodet's exports
        # a GPU-made FP16 export (Ultralytics' half=True on CUDA) takes FP16 images
        self.input_dtype = np.float16 if feed.type == "tensor(float16)" else np.float32
        self.threads = threads
        self.family = artifact.family
        self.provider = self.session.get_providers()[0]
        self.precision_hint = artifact.precision_hint

    def session_providers(self, artifact: Artifact) -> tuple[Any, ...]:
        """The providers the session is asked for, in order of preference."""
        return self.providers

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        return list(self.session.run(None, {self.input_name: batch.astype(self.input_dtype, copy=False)}))


class OrtCudaRunner(OrtRunner):
    """ONNX Runtime's CUDA execution provider (the file's own precision)."""

    providers = ("CUDAExecutionProvider", "CPUExecutionProvider")


class OrtTensorRTRunner(OrtRunner):
    """ONNX Runtime's TensorRT execution provider: FP16 kernels with precision hint f16, a QDQ file's INT8."""

    def session_providers(self, artifact: Artifact) -> tuple[Any, ...]:
        options = {
            "trt_fp16_enable": artifact.precision_hint == "f16",
            "trt_int8_enable": artifact.precision == "int8",
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(artifact.path.parent),
        }
        return (("TensorrtExecutionProvider", options), "CUDAExecutionProvider", "CPUExecutionProvider")


class TorchRunner:
    """The family's checkpoint in PyTorch, eager mode, on the CPU (or ``device``)."""

    device = "cpu"

    def __init__(self, artifact: Artifact, threads: int) -> None:
        import torch

        from paretodet.models import get_family

        family = get_family(artifact.family)
        net: Any = family.inference_module(family.load(str(artifact.path)), imgsz=artifact.imgsz)
        self.dtype = torch.float16 if artifact.precision_hint == "f16" else torch.float32
        self.net = net.to(self.device, self.dtype)
        self.threads = threads
        self.family = artifact.family
        self.precision_hint = artifact.precision_hint
        self.provider = self.device

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                out = self.net(torch.from_numpy(batch).to(self.device, self.dtype))
        finally:
            torch.set_num_threads(previous)
        outputs = out if isinstance(out, (tuple, list)) else (out,)
        return [o.float().cpu().numpy() for o in outputs]  # .cpu() waits for the GPU: timings are complete


class TorchCudaRunner(TorchRunner):
    """The family's checkpoint in PyTorch on the first CUDA GPU (FP16 with precision hint f16)."""

    device = "cuda"


class OpenVinoRunner:
    """An OpenVINO IR (``.xml`` + ``.bin``) on the CPU plugin, with the artifact's precision hint made
    explicit (OpenVINO's default follows the CPU: bf16 where it has bf16 units, which also changes accuracy)."""

    def __init__(self, artifact: Artifact, threads: int) -> None:
        import openvino as ov

        core = ov.Core()
        config: dict[str, Any] = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
        config["INFERENCE_PRECISION_HINT"] = artifact.precision_hint or "f32"
        try:
            self.compiled = core.compile_model(core.read_model(str(artifact.path)), "CPU", config)
        except Exception as exc:
            raise ModelError(f"openvino cannot open {artifact.path}: {first_line(exc)}") from None
        self.request = self.compiled.create_infer_request()
        self.threads = threads
        self.family = artifact.family
        self.precision_hint = self.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()  # what it runs
        self.provider = "CPU"

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        results = self.request.infer({0: batch})
        return [np.asarray(results[output]) for output in self.compiled.outputs]
