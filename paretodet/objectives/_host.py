"""Where latency is measured: the host record kept with every latency, and the host-wide timing lock.

Latency belongs to a host. Every paretodet process on one machine times under one exclusive file lock, so
concurrent workers never time at once; while one of them times, the others pause their heavy loops (mAP
scoring per image, training per batch) at :func:`timing_gate`. The lock file is
``$PARETODET_TIMING_LOCK`` or ``<tmp>/paretodet-timing.lock``; ``PARETODET_TIMING_LOCK=off`` disables it
(for A/B measurements of the lock itself). Where ``fcntl`` is missing (Windows) there is no lock.
"""

from __future__ import annotations

import os
import platform
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["TimingHost", "cpu_model", "timing_gate", "timing_host", "timing_lock", "timing_lock_path"]

LOCK_ENV = "PARETODET_TIMING_LOCK"


@dataclass(frozen=True)
class TimingHost:
    """Where and how a latency was timed.

    Attributes:
        host: host name. cpu: CPU model. cores: logical CPUs of the host. threads: runtime threads used.
        runtime / runtime_version: what ran the artifact (e.g. onnxruntime 1.22.0).
    """

    host: str
    cpu: str
    cores: int
    threads: int
    runtime: str
    runtime_version: str

    def label(self) -> str:
        """One readable line, e.g. ``edge1 (AMD EPYC, 2 cores, 2 threads, onnxruntime 1.22.0)``."""
        return (
            f"{self.host} ({self.cpu}, {self.cores} cores, {self.threads} threads, "
            f"{self.runtime} {self.runtime_version})"
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


def timing_host(*, runtime: str, package: str | None, threads: int) -> TimingHost:
    """This machine as a :class:`TimingHost` for ``runtime`` (whose Python package is ``package``)."""
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
    start = time.perf_counter()
    with _open_lock(path) as fd:
        fcntl.flock(fd, fcntl.LOCK_EX)
        waited = time.perf_counter() - start
        try:
            yield waited
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def timing_gate() -> None:
    """Wait while another process on this host times (cheap when nobody does): call it between units of
    heavy work so that it does not run during someone's timing."""
    path = timing_lock_path()
    fcntl = _fcntl()
    if path is None or fcntl is None:
        return
    with _open_lock(path) as fd:
        fcntl.flock(fd, fcntl.LOCK_SH)
        fcntl.flock(fd, fcntl.LOCK_UN)


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
