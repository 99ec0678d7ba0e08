"""Runners: open an artifact on the runtime it ships on, with a fixed thread count.

A runner maps a ``(1, 3, S, S)`` float32 array to the artifact's raw outputs (a list of arrays, in the order
of its family's ``output_names``); the family's ``decode`` turns them into detections.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from paretodet.compress import Artifact
from paretodet.errors import ConfigError, ModelError

__all__ = ["Runner", "RuntimeEntry", "list_runtimes", "open_runner", "register_runtime", "runtime_entry"]


class Runner(Protocol):
    """Lifecycle: opened once per artifact by :func:`open_runner`, called many times, then dropped."""

    threads: int
    family: str

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        """Raw outputs for one input batch."""
        ...


@dataclass(frozen=True)
class RuntimeEntry:
    """A registered runtime: how to open an artifact on it, and the Python package whose version is recorded
    with every latency timed on it."""

    name: str
    opener: Callable[[Artifact, int], Runner]
    package: str | None = None


_RUNTIMES: dict[str, RuntimeEntry] = {}
_BUILTINS_DONE = False


def register_runtime(name: str, opener: Callable[[Artifact, int], Runner], *, package: str | None = None) -> None:
    """Register a runtime next to the built-ins: ``opener(artifact, threads)`` returns a :class:`Runner`;
    ``package`` is the distribution whose version latency records name. A name registered again replaces
    the earlier entry (a built-in too).

    Example:
        >>> register_runtime("tflite", open_tflite, package="tflite-runtime")  # doctest: +SKIP
    """
    _register_builtins()
    _RUNTIMES[name] = RuntimeEntry(name=name, opener=opener, package=package)


def list_runtimes() -> list[str]:
    """Names of the registered runtimes."""
    _register_builtins()
    return sorted(_RUNTIMES)


def runtime_entry(name: str) -> RuntimeEntry:
    """The registry entry of runtime ``name``; ConfigError naming the known ones when it is unknown."""
    _register_builtins()
    if name not in _RUNTIMES:
        raise ConfigError(f"unknown runtime '{name}': use one of {', '.join(sorted(_RUNTIMES))}")
    return _RUNTIMES[name]


def open_runner(artifact: Artifact, *, threads: int) -> Runner:
    """Open ``artifact`` on its runtime with ``threads`` intra-op threads."""
    entry = runtime_entry(artifact.runtime)
    if threads < 1:
        raise ConfigError(f"threads must be >= 1, got {threads}")
    return entry.opener(artifact, threads)


class _OrtRunner:
    def __init__(self, artifact: Artifact, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(artifact.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(f"onnxruntime cannot open {artifact.path}: {str(exc).splitlines()[0]}") from None
        self.input_name = self.session.get_inputs()[0].name
        self.threads = threads
        self.family = artifact.family

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        return list(self.session.run(None, {self.input_name: batch}))


class _TorchRunner:
    def __init__(self, artifact: Artifact, threads: int) -> None:
        from paretodet.models import get_family

        family = get_family(artifact.family)
        self.net: Any = family.inference_module(family.load(str(artifact.path)), imgsz=artifact.imgsz)
        self.threads = threads
        self.family = artifact.family

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                out = self.net(torch.from_numpy(batch))
        finally:
            torch.set_num_threads(previous)
        outputs = out if isinstance(out, (tuple, list)) else (out,)
        return [o.numpy() for o in outputs]


class _OpenVinoRunner:
    """OpenVINO IR (``.xml`` + ``.bin``), e.g. Ultralytics' NNCF INT8 export, for side-by-side benchmarks."""

    def __init__(self, artifact: Artifact, threads: int) -> None:
        try:
            import openvino as ov
        except ImportError:
            raise ModelError("the openvino runtime is not installed: pip install 'paretodet[nncf]'") from None
        core = ov.Core()
        config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
        self.compiled = core.compile_model(core.read_model(str(artifact.path)), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.threads = threads
        self.family = artifact.family

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        results = self.request.infer({0: batch})
        return [np.asarray(results[output]) for output in self.compiled.outputs]


def _register_builtins() -> None:
    global _BUILTINS_DONE
    if _BUILTINS_DONE:
        return
    _BUILTINS_DONE = True
    for name, opener, package in (
        ("onnxruntime", _OrtRunner, "onnxruntime"),
        ("torch", _TorchRunner, "torch"),
        ("openvino", _OpenVinoRunner, "openvino"),
    ):
        _RUNTIMES.setdefault(name, RuntimeEntry(name=name, opener=opener, package=package))
