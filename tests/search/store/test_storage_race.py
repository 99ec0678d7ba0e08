"""Processes that open one empty database at once (workers started together) all get the study storage."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from paretodet.search.store._storage import open_storage

PROCESSES = 4
ROUNDS = 4


def _open(url: str, barrier: mp.synchronize.Barrier, results: mp.Queue) -> None:
    barrier.wait()
    try:
        open_storage(url)
        results.put("ok")
    except Exception as exc:  # the test reports what failed
        results.put(f"{type(exc).__name__}: {exc}")


def test_concurrent_first_open_of_an_empty_database(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    for round_ in range(ROUNDS):
        url = f"sqlite:///{tmp_path / f'race{round_}.db'}"
        barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
        procs = [ctx.Process(target=_open, args=(url, barrier, results)) for _ in range(PROCESSES)]
        for proc in procs:
            proc.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
        assert outcomes == ["ok"] * PROCESSES, outcomes
