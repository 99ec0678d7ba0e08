"""Latency belongs to a host: the host-wide timing lock, the host record, and the runtime registry."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from paretodet.base import heavy_work, timing_host, timing_lock

_HOLD = """
import sys, time
from paretodet.base import heavy_work, timing_lock
with (timing_lock() if sys.argv[2] == "timing" else heavy_work()):
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
"""


def _hold_lock(seconds: float, what: str = "timing") -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(seconds), what], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture(autouse=True)
def _own_lock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARETODET_TIMING_LOCK", str(tmp_path / "timing.lock"))


def test_timing_is_serialized_across_processes() -> None:
    proc = _hold_lock(1.0)
    start = time.perf_counter()
    with timing_lock() as waited:
        pass
    proc.wait(timeout=30)
    assert waited >= 0.5 and time.perf_counter() - start >= 0.5


def test_heavy_work_waits_while_another_process_times() -> None:
    proc = _hold_lock(1.0)
    start = time.perf_counter()
    with heavy_work():
        waited = time.perf_counter() - start
    proc.wait(timeout=30)
    assert waited >= 0.5
    start = time.perf_counter()
    with heavy_work(), heavy_work():  # nobody times now: no wait; re-entrant
        assert time.perf_counter() - start < 0.2


def test_timing_waits_for_heavy_work_in_flight_elsewhere() -> None:
    proc = _hold_lock(1.0, "heavy")
    with timing_lock() as waited:
        pass
    proc.wait(timeout=30)
    assert waited >= 0.5


def test_timing_inside_a_unit_of_heavy_work_is_refused() -> None:
    with heavy_work(), pytest.raises(RuntimeError, match="wait for itself"), timing_lock():
        pass


def test_the_lock_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = _hold_lock(1.0)
    monkeypatch.setenv("PARETODET_TIMING_LOCK", "off")
    with timing_lock() as waited:
        assert waited == 0.0
    proc.wait(timeout=30)


def test_host_record_names_machine_runtime_and_version() -> None:
    host = timing_host(runtime="onnxruntime", package="onnxruntime", threads=2)
    import onnxruntime

    assert host.runtime_version == onnxruntime.__version__ and host.threads == 2 and host.cores >= 1
    assert host.host and host.cpu and host.host in host.label()


def test_register_runtime_adds_to_the_builtins() -> None:
    code = (
        "from paretodet.runtimes import register_runtime, list_runtimes, runtime_entry\n"
        "register_runtime('fake', lambda artifact, threads: None, package='numpy')\n"
        "print(','.join(list_runtimes()), runtime_entry('fake').package, runtime_entry('onnxruntime').package)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    names, fake_package, ort_package = out.stdout.split()
    assert names.split(",")[:3] == ["onnxruntime", "openvino", "torch"] and names.endswith(",fake")
    assert (fake_package, ort_package) == ("numpy", "onnxruntime")
