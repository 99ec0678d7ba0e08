"""Which processes run a study: their identity and seed streams, re-queuing the trials of local workers that
died, and advice when more processes share an SQLite study than it serves."""

from __future__ import annotations

import hashlib
import os
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

__all__ = ["SQLITE_PROCESSES", "WORKER", "advise_server", "existing_trials", "process_seed", "requeue_interrupted"]

WORKER = f"{socket.gethostname()}:{os.getpid()}"  # who runs a trial: a dead local worker's trial is re-queued


def process_seed(seed: int, *, worker: str, existing_trials: int) -> int:
    """The sampler seed of a process that joins a study: derived from the study's seed, the process's
    identity (host:pid) and how many trials the study held when it joined, so no two processes replay one
    stream.

    Example:
        >>> process_seed(0, worker="a:1", existing_trials=0) != process_seed(0, worker="a:2", existing_trials=0)
        True
    """
    digest = hashlib.sha256(f"{seed}/{worker}/{existing_trials}".encode()).hexdigest()
    return int(digest[:8], 16)


def existing_trials(storage: optuna.storages.BaseStorage, name: str) -> int | None:
    """How many trials study ``name`` holds, or None when it does not exist yet."""
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return None
    return len(storage.get_all_trials(study_id, deepcopy=False))


def requeue_interrupted(study: optuna.Study, storage: optuna.storages.BaseStorage) -> list[int]:
    """Mark FAIL the RUNNING trials of workers on this machine that no longer exist (a killed search), and
    queue their candidates again; returns their numbers. Workers elsewhere are left to the heartbeat."""
    import optuna

    host = socket.gethostname()
    requeued = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        worker_host, _, pid = str(trial.user_attrs.get("worker", "")).rpartition(":")
        if worker_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        storage.set_trial_user_attr(trial._trial_id, "fail_reason", "interrupted: its worker process ended; re-queued")
        storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        if trial.params:
            study.enqueue_trial(trial.params, user_attrs={"requeued_from": trial.number})
        requeued.append(trial.number)
    return requeued


SQLITE_PROCESSES = 4  # processes on one SQLite study tested in CI; beyond it, a database server


def advise_server(study: optuna.Study, url: str) -> None:
    """One line (logger ``paretodet.storage``) when more processes than SQLite serves share an SQLite study."""
    import logging

    import optuna

    if not url.startswith("sqlite"):
        return
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    others = {t.user_attrs.get("worker") for t in running} - {None, WORKER}
    if len(others) + 1 > SQLITE_PROCESSES:
        logging.getLogger("paretodet.storage").warning(
            "%d processes share this SQLite study (tested up to %d): for more, use PostgreSQL "
            "(--storage postgresql://user@host/db, see the README)",
            len(others) + 1,
            SQLITE_PROCESSES,
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
