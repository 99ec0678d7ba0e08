"""The runtime seam: each runtime an artifact can ship on is one :class:`RuntimeSpec` in one registry.

An entry says how its file is made (from which other runtime's artifact, by which conversion), which
precisions and INT8 engines it takes, which precision hints it understands, how a runner opens it, which
package's version is recorded with its latencies, and whether this host can run it at all (packages,
execution providers, a GPU). The candidate, the pipeline, the evaluator, the search spaces and the reports
read the entry; no other code branches on a runtime's name.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paretodet.base import did_you_mean
from paretodet.errors import ConfigError

__all__ = [
    "PRECISION_HINTS",
    "RuntimeSpec",
    "add_runtime",
    "list_runtimes",
    "runtime_label",
    "runtime_names",
    "runtime_spec",
    "usable_runtimes",
]

PRECISION_HINTS: tuple[str, ...] = ("f32", "bf16", "f16")  # what a runtime may compute non-INT8 ops in


@dataclass(frozen=True)
class RuntimeSpec:
    """One runtime.

    Attributes:
        name: the ``runtime`` knob value.
        label: its name for people (reports).
        runner: ``opener(artifact, threads)`` returning a runner, or ``"module:attr"`` of one (imported on use).
        package: the distribution whose version every latency timed on it records.
        extra: the ``paretodet[extra]`` that installs it (named by the error when it is missing).
        modules: Python modules it needs (checked before anything is built).
        precisions: the ``quant.precision`` values it takes.
        int8_engines: the ``quant.engine`` values it takes for INT8.
        hints: the precision hints (:data:`PRECISION_HINTS`) it understands; empty: it computes as the file says.
        suffix: the shipped file's suffix (an OpenVINO ``.xml`` has its weights in a ``.bin`` beside it).
        writes: what a runtime that derives from none writes from the model: ``onnx`` (the family's ONNX
            export, at the candidate's precision) or ``checkpoint`` (the family's checkpoint).
        derives_from: the runtime whose artifact this one starts from (None: it is written from the model).
        convert: ``convert(source_artifact_path, dest)`` writes this runtime's file from ``derives_from``'s
            (or ``"module:attr"``); None: the source file runs as it is.
        host_hints: ``() -> hints this host offers`` (or ``"module:attr"``); None: all of ``hints``.
        probe: ``() -> None`` when this host can run it, else the reason in one line (or ``"module:attr"``).
        device: ``cpu`` or ``cuda``: where it computes (its runner reports the exact execution provider).
    """

    name: str
    label: str
    runner: Callable[..., Any] | str
    package: str | None = None
    extra: str | None = None
    modules: tuple[str, ...] = ()
    precisions: tuple[str, ...] = ("fp32",)
    int8_engines: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    suffix: str = ".onnx"
    writes: str = "onnx"
    derives_from: str | None = None
    convert: Callable[[Path, Path], None] | str | None = None
    host_hints: Callable[[], tuple[str, ...]] | str | None = None
    probe: Callable[[], str | None] | str | None = None
    device: str = "cpu"

    def missing(self) -> str | None:
        """Why this host cannot run it (one line naming the fix), or None when it can."""
        for module in self.modules:
            if importlib.util.find_spec(module.partition(".")[0]) is None:
                fix = f"pip install 'paretodet[{self.extra}]'" if self.extra else f"pip install {self.package}"
                return f"runtime={self.name} needs the {module} package, which is not installed: {fix}"
        if self.probe is not None:
            return _resolve(self.probe)()
        return None

    def require(self) -> None:
        """Raise :class:`ConfigError` with :meth:`missing`'s line when this host cannot run it."""
        reason = self.missing()
        if reason is not None:
            raise ConfigError(reason)

    def offered_hints(self) -> tuple[str, ...]:
        """The precision hints this host offers on this runtime (empty when the runtime takes none)."""
        if not self.hints or self.missing() is not None:
            return ()
        if self.host_hints is None:
            return self.hints
        offered = _resolve(self.host_hints)()
        return tuple(h for h in self.hints if h in offered)

    def check(self, *, precision: str, engine: str, hint: str | None) -> None:
        """Raise :class:`ConfigError` when this runtime cannot ship ``precision`` (INT8 by ``engine``) computed
        with precision hint ``hint`` (None: not checked). Host-independent: see :meth:`check_host`."""
        if precision not in self.precisions:
            raise ConfigError(
                f"runtime={self.name} takes quant.precision {' | '.join(self.precisions)}, not {precision}: "
                f"change quant.precision or runtime"
            )
        if precision == "int8" and engine not in self.int8_engines:
            raise ConfigError(
                f"runtime={self.name} quantizes to INT8 with quant.engine {' | '.join(self.int8_engines)}, "
                f"not {engine}: change quant.engine or runtime"
            )
        if self.hints and hint is not None and hint not in self.hints:
            raise ConfigError(
                f"runtime={self.name} takes precision_hint {' | '.join(self.hints)}, not {hint}: change precision_hint"
            )

    def check_host(self, *, hint: str) -> None:
        """Raise :class:`ConfigError` when this host cannot run it, or does not offer precision hint ``hint``."""
        self.require()
        if self.hints and hint not in self.offered_hints():
            raise ConfigError(
                f"precision_hint={hint} is not offered by runtime={self.name} on this host (it offers "
                f"{' | '.join(self.offered_hints()) or 'none'}): change precision_hint"
            )

    def open(self, artifact: Any, threads: int) -> Any:
        """A runner of ``artifact`` with ``threads`` intra-op threads."""
        self.require()
        return _resolve(self.runner)(artifact, threads)

    def write(self, source: Path, dest: Path) -> None:
        """Write this runtime's file at ``dest`` from ``source`` (the artifact of ``derives_from``)."""
        if self.convert is None:
            raise ConfigError(f"runtime={self.name} runs its source file as it is: nothing to convert")
        _resolve(self.convert)(source, dest)


_REGISTRY: dict[str, RuntimeSpec] = {}

_BUILTINS: tuple[RuntimeSpec, ...] = (
    RuntimeSpec(
        name="onnxruntime",
        label="ONNX Runtime",
        runner="paretodet.runtimes._runners:OrtRunner",
        package="onnxruntime",
        modules=("onnxruntime",),
        precisions=("fp32", "fp16", "int8"),
        int8_engines=("qdq",),
    ),
    RuntimeSpec(
        name="openvino",
        label="OpenVINO",
        runner="paretodet.runtimes._runners:OpenVinoRunner",
        package="openvino",
        extra="openvino",
        modules=("openvino",),
        precisions=("fp32", "fp16", "int8"),
        int8_engines=("qdq", "nncf"),
        hints=PRECISION_HINTS,
        suffix=".xml",
        derives_from="onnxruntime",
        convert="paretodet.compress:onnx_to_ir",
        host_hints="paretodet.runtimes._capabilities:cpu_precision_hints",
    ),
    RuntimeSpec(
        name="torch",
        label="PyTorch",
        runner="paretodet.runtimes._runners:TorchRunner",
        package="torch",
        modules=("torch",),
        suffix=".pt",
        writes="checkpoint",
    ),
    RuntimeSpec(
        name="onnxruntime-cuda",
        label="ONNX Runtime CUDA",
        runner="paretodet.runtimes._runners:OrtCudaRunner",
        package="onnxruntime-gpu",
        extra="gpu",
        modules=("onnxruntime",),
        precisions=("fp32", "fp16"),
        derives_from="onnxruntime",
        probe="paretodet.runtimes._capabilities:cuda_provider_missing",
        device="cuda",
    ),
    RuntimeSpec(
        name="tensorrt",
        label="TensorRT (ONNX Runtime)",
        runner="paretodet.runtimes._runners:OrtTensorRTRunner",
        package="onnxruntime-gpu",
        extra="gpu",
        modules=("onnxruntime",),
        precisions=("fp32", "fp16", "int8"),
        int8_engines=("qdq",),
        hints=("f32", "f16"),
        derives_from="onnxruntime",
        probe="paretodet.runtimes._capabilities:tensorrt_provider_missing",
        device="cuda",
    ),
    RuntimeSpec(
        name="torch-cuda",
        label="PyTorch CUDA",
        runner="paretodet.runtimes._runners:TorchCudaRunner",
        package="torch",
        modules=("torch",),
        precisions=("fp32",),
        hints=("f32", "f16"),
        suffix=".pt",
        derives_from="torch",
        probe="paretodet.runtimes._capabilities:torch_cuda_missing",
        device="cuda",
    ),
)


def add_runtime(spec: RuntimeSpec) -> None:
    """Register ``spec`` next to the built-ins (a name registered again replaces the earlier entry).

    Example:
        >>> add_runtime(RuntimeSpec(name="tflite", label="TFLite", runner=open_tflite))  # doctest: +SKIP
    """
    _builtins()
    _REGISTRY[spec.name] = spec
    runtime_names.cache_clear()


def runtime_spec(name: str) -> RuntimeSpec:
    """The entry of runtime ``name``; ConfigError naming the known ones when it is unknown."""
    _builtins()
    if name not in _REGISTRY:
        known = sorted(_REGISTRY)
        raise ConfigError(f"unknown runtime '{name}'{did_you_mean(name, known)}: use one of {' | '.join(known)}")
    return _REGISTRY[name]


def list_runtimes() -> list[str]:
    """Names of the registered runtimes, built-ins first."""
    _builtins()
    return list(_REGISTRY)


@functools.cache
def runtime_names() -> tuple[str, ...]:
    """The ``runtime`` knob's choices: every registered runtime (cached; :func:`add_runtime` clears it)."""
    return tuple(list_runtimes())


def usable_runtimes() -> dict[str, str | None]:
    """Each registered runtime -> None when this host can run it, else why not."""
    return {name: runtime_spec(name).missing() for name in list_runtimes()}


def runtime_label(name: Any) -> str:
    """A runtime's name for people (``onnxruntime`` -> ``ONNX Runtime``); unknown names as they are."""
    _builtins()
    spec = _REGISTRY.get(str(name))
    return spec.label if spec is not None else str(name)


def _builtins() -> None:
    if not _REGISTRY:
        for spec in _BUILTINS:
            _REGISTRY.setdefault(spec.name, spec)


def _resolve(target: Callable[..., Any] | str) -> Callable[..., Any]:
    """``target`` itself, or the attribute a ``"module:attr"`` string names (imported now)."""
    if callable(target):
        return target
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
