"""Storage faults: a database that goes away mid-study (cut by a local proxy in front of PostgreSQL), and
several local processes on one SQLite study."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import optuna
import pytest

from tests.search.study.test_workers import URL, needs_postgres

SPACE = "knobs:\n  imgsz: {choices: [64, 96, 128, 160, 192]}\n  quant.precision: {choices: [fp32, fp16]}\n"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "paretodet.cli", *args]


class CuttableProxy:
    """A TCP forwarder on a local port that can be cut (listener and every connection closed) and restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.lock = threading.Lock()
        self.closed = threading.Event()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        listener.settimeout(0.1)  # the accept loop notices a cut within 0.1 s
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self.listener is not None:
            self.listener = None
            self.closed.wait(5)  # the accept loop closes it: a blocked accept() would keep the port bound
            self.closed.clear()
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while self.listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            client.settimeout(None)
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()
        listener.close()
        self.closed.set()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    auth, _, _ = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{auth}@127.0.0.1:{port}" if auth else f"127.0.0.1:{port}"))


def _completed(study: str) -> int:
    loaded = optuna.load_study(study_name=study, storage=URL)
    return sum(1 for t in loaded.get_trials(deepcopy=False) if t.state.name == "COMPLETE")


def _search_behind_proxy(
    model: Path, data: Path, tmp_path: Path, *, name: str, trials: int, grace: int
) -> tuple[CuttableProxy, list[str], str]:
    """A proxy in front of the test database, and the arguments of a search whose storage goes through it."""
    parts = urlsplit(URL)
    proxy = CuttableProxy((parts.hostname or "localhost", parts.port or 5432))
    proxy.up()
    study = f"{name}-{uuid.uuid4().hex[:8]}"
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    args = ["search", "--model", str(model), "--data", str(data), "--storage", _through(URL, proxy.port)]
    args += ["--study", study, "--trials", str(trials), "--workdir", str(tmp_path / "w"), "--space", str(space)]
    args += ["--sampler", "random", "--threads", "1", "--no-verify", "--storage-grace", str(grace)]
    return proxy, args, study


def _wait_for_completed(study: str, count: int, search: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and search.poll() is None:
        with contextlib.suppress(KeyError):  # the study is not created yet
            if _completed(study) >= count:
                return
        time.sleep(0.2)


@needs_postgres
def test_a_database_outage_mid_study_loses_nothing(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    proxy, args, study = _search_behind_proxy(tiny_model, tiny_data, tmp_path, name="outage", trials=6, grace=120)
    search = subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_completed(study, 2, search)
        proxy.cut()  # the database is gone for every connection the search holds
        time.sleep(8)
        proxy.up()
        _out, err = search.communicate(timeout=300)
    finally:
        proxy.cut()
        if search.poll() is None:
            search.kill()
    assert search.returncode == 0, err
    assert "Traceback" not in err
    assert "storage unreachable" in err and "storage reachable again after" in err, err
    trials = optuna.load_study(study_name=study, storage=URL).get_trials()
    states = [t.state.name for t in trials]
    assert states.count("COMPLETE") == 6 and "FAIL" not in states, states
    keys = [t.user_attrs["config_key"] for t in trials if t.state.name == "COMPLETE"]
    assert len(set(keys)) == 6  # no config measured twice


def test_four_processes_on_one_sqlite_study(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    work = tmp_path / "w"
    storage = f"sqlite:///{work / 'study.db'}"
    common = ["--storage", storage, "--study", "shared"]
    args = ["search", "--model", str(tiny_model), "--data", str(tiny_data), *common, "--trials", "1"]
    args += ["--workdir", str(work), "--space", str(space), "--sampler", "random", "--threads", "1", "--no-verify"]
    started = subprocess.run(_cli(*args), capture_output=True, text=True, timeout=300)
    assert started.returncode == 0, started.stderr
    workers = [
        subprocess.Popen(
            _cli("worker", *common, "--trials", "9", "--workdir", str(work)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [proc.communicate(timeout=600)[1] for proc in workers]
    assert [proc.returncode for proc in workers] == [0, 0, 0, 0], errors
    assert not any("locked" in err or "Traceback" in err for err in errors), errors
    trials = optuna.load_study(study_name="shared", storage=storage).get_trials()
    done = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(done) >= 9 and not [t for t in trials if t.state.name == "FAIL"]
    fresh = [t for t in done if "duplicate_of" not in t.user_attrs]
    assert len({t.user_attrs["config_key"] for t in fresh}) == len(fresh)


@pytest.mark.parametrize("text", ["database is locked", "connection refused", "server closed the connection"])
def test_transient_errors_are_told_apart(text: str) -> None:
    from paretodet.search.store._resilient import is_transient

    assert is_transient(RuntimeError(f"(psycopg.OperationalError) {text}"))
    assert not is_transient(RuntimeError('password authentication failed for user "x"'))


def test_more_processes_than_sqlite_serves_get_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from paretodet.search.store._liveness import SQLITE_PROCESSES, advise_server

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=url, study_name="s")
    for i in range(SQLITE_PROCESSES):
        study.ask().set_user_attr("worker", f"host:{100 + i}")  # RUNNING trials of 4 other processes
    with caplog.at_level("WARNING", logger="paretodet.storage"):
        advise_server(study, url)
    assert [r.getMessage() for r in caplog.records if r.name == "paretodet.storage"] == [
        f"{SQLITE_PROCESSES + 1} processes share this SQLite study (tested up to {SQLITE_PROCESSES}): for more, "
        "use PostgreSQL (--storage postgresql://user@host/db, see the README)"
    ]


@needs_postgres
def test_a_worker_that_gives_up_says_so_and_its_trial_is_rerun(
    tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    proxy, args, study = _search_behind_proxy(tiny_model, tiny_data, tmp_path, name="giveup", trials=4, grace=3)
    search = subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_completed(study, 1, search)
        proxy.cut()  # longer than the 3-s grace
        _, err = search.communicate(timeout=120)
    finally:
        if search.poll() is None:
            search.kill()
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("trial ")]
    assert search.returncode != 0 and "Traceback" not in err, err
    assert lines[0].startswith("storage unreachable (") and "retrying for up to 3 s" in lines[0]
    assert lines[-1].startswith("error: the storage stayed unreachable for 3 s"), lines
    # the database is back: the same command resumes, fails the abandoned trial with a reason, and re-runs it
    proxy.up()
    again = subprocess.run(_cli(*args), capture_output=True, text=True, timeout=300)
    proxy.cut()
    assert again.returncode == 0, again.stderr
    trials = optuna.load_study(study_name=study, storage=URL).get_trials()
    failed = [t for t in trials if t.state.name == "FAIL"]
    done = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(done) == 4 and len(failed) == 1
    assert "re-queued" in str(failed[0].user_attrs.get("fail_reason") or failed[0].system_attrs.get("fail_reason"))
    assert failed[0].user_attrs["config_key"] in {t.user_attrs["config_key"] for t in done}
