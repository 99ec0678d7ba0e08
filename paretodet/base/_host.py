"""Where latency is measured: the host record kept with every latency, and the host-wide timing lock.

Latency belongs to a host. On one machine, paretodet processes time under one exclusive lock, and their heavy
work (scoring an image, a training batch, an export, a calibration, a pruning pass) runs in units that hold
the same lock shared: a process that wants to time waits for the units in flight to end, and units that start
meanwhile wait for its timing to end (a second "queue" lock gives the timer priority). So no two processes
time at once, and nothing else paretodet does on the host runs during a timing. The lock file is
``$PARETODET_TIMING_LOCK`` or ``<tmp>/paretodet-timing.lock`` (plus ``.queue``); ``PARETODET_TIMING_LOCK=off``
disables it (for A/B measurements of the lock itself). Where ``fcntl`` is missing (Windows) there is no lock.
"""

from __future__ import annotations

import os
import platform
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "TimingHost",
    "cpu_model",
    "heavy_work",
    "timed_quietly",
    "timing_host",
    "timing_lock",
    "timing_lock_path",
    "wait_for_quiet_cpu",
]

LOCK_ENV = "PARETODET_TIMING_LOCK"
T = TypeVar("T")


@dataclass(frozen=True)
class TimingHost:
    """Where and how a latency was timed.

    Attributes:
        host: host name. cpu: CPU model. cores: logical CPUs of the host. threads: runtime threads used.
        runtime / runtime_version: what ran the artifact (e.g. onnxruntime 1.22.0).
        precision_hint: what the runtime reported it computes in (OpenVINO: f32 / bf16 / f16; empty: no hint).
        provider: where it ran (ONNX Runtime's execution provider, OpenVINO's device, torch's device).
    """

    host: str
    cpu: str
    cores: int
    threads: int
    runtime: str
    runtime_version: str
    precision_hint: str = ""
    provider: str = ""

    def label(self) -> str:
        """One readable line, e.g. ``edge1 (AMD EPYC, 2 cores, 2 threads, onnxruntime 1.22.0)``."""
        extras = "".join(f", {v}" for v in (self.provider, self.precision_hint and f"hint {self.precision_hint}") if v)
        return (
            f"{self.host} ({self.cpu}, {self.cores} cores, {self.threads} threads, "
            f"{self.runtime} {self.runtime_version}{extras})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimingHost:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: data.get(k, "" if k not in ("cores", "threads") else 0) for k in cls.__dataclass_fields__})


def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timing_host(
    *, runtime: str, package: str | None, threads: int, precision_hint: str = "", provider: str = ""
) -> TimingHost:
    """This machine as a :class:`TimingHost` for ``runtime`` (whose Python package is ``package``), with what the
    runner reported (``precision_hint``, ``provider``)."""
    version = ""
    if package:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "?"
    return TimingHost(
        host=socket.gethostname(),
        cpu=cpu_model(),
        cores=os.cpu_count() or 0,
        threads=threads,
        runtime=runtime,
        runtime_version=version,
        precision_hint=precision_hint,
        provider=provider,
    )


def timing_lock_path() -> Path | None:
    """The host-wide lock file, or None when timing is not serialized (``PARETODET_TIMING_LOCK=off``)."""
    value = os.environ.get(LOCK_ENV, "")
    if value.lower() in ("off", "0", "none"):
        return None
    return Path(value) if value else Path(tempfile.gettempdir()) / "paretodet-timing.lock"


@contextmanager
def timing_lock() -> Iterator[float]:
    """Hold the host-wide timing lock (exclusive) for the block; yields the seconds spent waiting for it.

    Example:
        >>> with timing_lock():  # doctest: +SKIP
        ...     stats = measure_latency(runner, imgsz=320, settings=LatencySettings())
    """
    path = timing_lock_path()
    fcntl = _fcntl()
    if path is None or fcntl is None:
        yield 0.0
        return
    if getattr(_DEPTH, "units", 0):
        raise RuntimeError("timing inside a heavy_work() unit would wait for itself")
    start = time.perf_counter()
    with _open_lock(_queue_path(path)) as queue, _open_lock(path) as main:
        fcntl.flock(queue, fcntl.LOCK_EX)  # first in the queue: units that start now wait
        fcntl.flock(main, fcntl.LOCK_EX)  # then the units in flight end
        wait_for_quiet_cpu()  # and what runs outside any unit (a process starting up, another program)
        waited = time.perf_counter() - start
        try:
            yield waited
        finally:
            fcntl.flock(main, fcntl.LOCK_UN)
            fcntl.flock(queue, fcntl.LOCK_UN)


@contextmanager
def heavy_work() -> Iterator[None]:
    """A unit of heavy work (keep it to seconds): it waits while another process on this host times, and a
    process that wants to time waits for it to end. Re-entrant within a process.

    Example:
        >>> with heavy_work():  # doctest: +SKIP
        ...     outputs = runner(batch)
    """
    path = timing_lock_path()
    fcntl = _fcntl()
    depth = getattr(_DEPTH, "units", 0)
    if path is None or fcntl is None or depth:
        _DEPTH.units = depth + 1
        try:
            yield
        finally:
            _DEPTH.units = depth
        return
    with _open_lock(_queue_path(path)) as queue, _open_lock(path) as main:
        fcntl.flock(queue, fcntl.LOCK_SH)  # waits while a timer is queued or timing
        fcntl.flock(main, fcntl.LOCK_SH)
        fcntl.flock(queue, fcntl.LOCK_UN)
        _DEPTH.units = 1
        try:
            yield
        finally:
            _DEPTH.units = 0
            fcntl.flock(main, fcntl.LOCK_UN)


def timed_quietly(measure: Callable[[], T], *, attempts: int = 3) -> tuple[T, float]:
    """Run ``measure`` (a timing) under :func:`timing_lock` and return its result with the share of the host's
    CPU time that other processes used meanwhile; a run that others disturbed (share >= ``QUIET_BUSY``) is
    repeated once the host is quiet again, up to ``attempts`` runs (the last one is kept).

    Example:
        >>> stats, others = timed_quietly(lambda: measure_latency(runner, imgsz=320, settings=s))  # doctest: +SKIP
    """
    with timing_lock():
        for attempt in range(attempts):
            before = _usage()
            result = measure()
            others = _others_share(before, _usage())
            if others < QUIET_BUSY or attempt == attempts - 1:
                break
            wait_for_quiet_cpu()
    return result, others


def _usage() -> tuple[tuple[int, int] | None, float, float]:
    times = os.times()
    return _cpu_times(), times.user + times.system, time.perf_counter()


def _others_share(before: tuple[tuple[int, int] | None, float, float], after: tuple[Any, float, float]) -> float:
    """Share of the host's CPU time (all cores) used by other processes between two ``_usage`` snapshots."""
    if before[0] is None or after[0] is None:
        return 0.0
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = (after[0][0] - before[0][0]) / hz
    busy = total - (after[0][1] - before[0][1]) / hz
    own = after[1] - before[1]
    return 0.0 if total <= 0 else max(0.0, busy - own) / total


_DEPTH = threading.local()
QUIET_BUSY = 0.15  # share of the host's CPU time others may use while we time
QUIET_MAX_WAIT_S = 20.0


def wait_for_quiet_cpu(*, busy_below: float = QUIET_BUSY, max_wait_s: float = QUIET_MAX_WAIT_S) -> float:
    """Wait (at most ``max_wait_s``) until the host's CPUs are nearly idle (this process is idle meanwhile,
    so what is busy is someone else); return the last busy share seen (Linux ``/proc/stat``; 0 elsewhere)."""
    deadline = time.perf_counter() + max_wait_s
    busy = _busy_share(0.2)
    while busy >= busy_below and time.perf_counter() < deadline:
        busy = _busy_share(0.2)
    return busy


def _busy_share(window_s: float) -> float:
    first = _cpu_times()
    if first is None:
        return 0.0
    time.sleep(window_s)
    second = _cpu_times()
    if second is None:
        return 0.0
    total = second[0] - first[0]
    return 0.0 if total <= 0 else 1.0 - (second[1] - first[1]) / total


def _cpu_times() -> tuple[int, int] | None:
    """(all jiffies, idle + iowait jiffies) of the host, from the first line of /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields), fields[3] + (fields[4] if len(fields) > 4 else 0)


def _queue_path(path: Path) -> Path:
    return path.with_name(path.name + ".queue")


@contextmanager
def _open_lock(path: Path) -> Iterator[int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        yield fd
    finally:
        os.close(fd)


def _fcntl() -> Any:
    try:
        import fcntl
    except ImportError:  # Windows: no host-wide lock
        return None
    return fcntl
