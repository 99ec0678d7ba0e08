"""Optuna's RDB storage made to ride out database outages (a restarted PostgreSQL, a locked SQLite file).

``ResilientStorage`` is Optuna's ``RDBStorage`` with each storage call retried with backoff, for up to a grace
period, while the error is one a database that comes back cures (connection refused or reset, the server
restarting, SQLite's "database is locked"). The first failure of an outage and the recovery are logged (one
line each, logger ``paretodet.storage``). A result that a trial finishes during the outage is written when the
database returns. Past the grace period the process gives up with one line (``StorageUnavailable``); its
RUNNING trial is then failed by the heartbeat of the processes still working, and re-queued.

Heartbeats are not recorded during an outage, so once the database returns every RUNNING trial looks stale.
A process therefore judges other workers' heartbeats only after it has itself been connected for a whole
heartbeat grace period (since it opened the storage or since its last outage): by then every live worker has
recorded a heartbeat again. A trial failed for a stale heartbeat carries its reason.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from paretodet.base import exception_chain
from paretodet.errors import StudyError
from paretodet.search.store._secrets import scrub

__all__ = ["STORAGE_GRACE_S", "ResilientStorage", "StorageUnavailable", "is_transient"]

LOG = logging.getLogger("paretodet.storage")
STORAGE_GRACE_S = 600.0  # how long a process waits for its storage to come back (--storage-grace)
BACKOFF_S = (0.5, 15.0)  # first and longest wait between attempts (doubling, with jitter)
SQLITE_BUSY_TIMEOUT_S = 30  # how long SQLite itself waits on a lock before it reports "database is locked"
TRANSIENT_MARKERS = (
    "connection refused",
    "could not connect",
    "is the server running",
    "server closed the connection",
    "terminating connection",
    "connection reset",
    "connection already closed",
    "connection timed out",
    "timeout expired",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "no route to host",
    "ssl syscall error",
    "eof detected",
    "broken pipe",
    "database is locked",
    "unable to open database file",
    "disk i/o error",
    "cannot connect",
    "lost connection",
)
# RDBStorage's own calls that reach the database (public ones, and the private ones Optuna's cache uses)
RETRIED = (
    "create_new_study",
    "delete_study",
    "set_study_user_attr",
    "set_study_system_attr",
    "get_study_id_from_name",
    "get_study_name_from_id",
    "get_study_directions",
    "get_study_user_attrs",
    "get_study_system_attrs",
    "get_trial_user_attrs",
    "get_trial_system_attrs",
    "get_all_studies",
    "create_new_trial",
    "_create_new_trial",
    "set_trial_param",
    "_set_trial_param",
    "get_trial_param",
    "set_trial_intermediate_value",
    "set_trial_user_attr",
    "set_trial_system_attr",
    "get_trial_id_from_study_id_trial_number",
    "get_trial",
    "get_all_trials",
    "_get_trials",
    "get_best_trial",
    "_get_best_trial_id",
    "_get_stale_trial_ids",
)
STALE_REASON = "its worker sent no heartbeat for {grace:.0f} s (killed, or cut off from the storage); re-queued"

T = TypeVar("T")


class StorageUnavailable(StudyError):
    """The storage stayed unreachable for the whole grace period."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a database error that the database coming back cures."""
    return transient_cause(exc) is not None


def transient_cause(exc: BaseException) -> BaseException | None:
    """The error in ``exc``'s chain that names a transient database fault (Optuna wraps it in its own)."""
    for current in exception_chain(exc):
        if any(marker in str(current).lower() for marker in TRANSIENT_MARKERS):
            return current
    return None


class ResilientStorage(RDBStorage):
    """``RDBStorage`` whose calls wait out transient database errors for ``grace_s`` (module docstring)."""

    def __init__(self, url: str, *, grace_s: float = STORAGE_GRACE_S, **kwargs: Any) -> None:
        self.grace_s = grace_s
        self._state = threading.local()  # per thread: how deep in retried calls (only the outermost retries)
        self._outage_lock = threading.Lock()
        self._down_since: float | None = None
        self._gave_up = False
        self._connected_since = time.monotonic()
        self._stale: set[int] = set()
        super().__init__(url, engine_kwargs=_engine_kwargs(url), **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        for key in ("_state", "_outage_lock"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._state = threading.local()
        self._outage_lock = threading.Lock()

    # -- retrying ------------------------------------------------------------------------------------------
    def _retry(self, name: str, call: Callable[[], T]) -> T:
        """Run ``call`` (a storage call named ``name``), retrying transient errors until the grace period ends."""
        depth = getattr(self._state, "depth", 0)
        if depth:  # inside another retried call: that one retries the whole
            return call()
        self._state.depth = 1
        try:
            return self._attempts(name, call)
        finally:
            self._state.depth = 0

    def _attempts(self, name: str, call: Callable[[], T]) -> T:
        wait = BACKOFF_S[0]
        while True:
            if self._gave_up:
                raise StorageUnavailable(self._give_up_message())
            try:
                result = call()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self._failed(name, exc)
                time.sleep(min(wait, BACKOFF_S[1]) * random.uniform(0.8, 1.2))
                wait *= 2
                continue
            self._recovered()
            return result

    def _failed(self, name: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self._outage_lock:
            if self._down_since is None:
                self._down_since = now
                cause = transient_cause(exc) or exc
                first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
                LOG.warning(
                    "storage unreachable (%s): retrying for up to %.0f s (--storage-grace)",
                    _short(scrub(first, self.url)),
                    self.grace_s,
                )
            elif now - self._down_since > self.grace_s:
                self._gave_up = True
                raise StorageUnavailable(self._give_up_message()) from None

    def _give_up_message(self) -> str:
        return (
            f"the storage stayed unreachable for {self.grace_s:.0f} s (--storage-grace): giving up; this process's "
            "running trial is failed and re-queued by the next process that reaches the study"
        )

    def _recovered(self) -> None:
        if self._down_since is None:
            return
        with self._outage_lock:
            if self._down_since is None:
                return
            LOG.warning("storage reachable again after %.0f s", time.monotonic() - self._down_since)
            self._down_since = None
            self._connected_since = time.monotonic()

    # -- calls with their own rules -----------------------------------------------------------------------
    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Any = None
    ) -> bool:  # a retried write may have been committed by the attempt that lost its connection
        if state == TrialState.FAIL and trial_id in self._stale:
            self._stale.discard(trial_id)
            try:
                grace = self.grace_period or 2 * (self.heartbeat_interval or 0)
                self.set_trial_system_attr(trial_id, "fail_reason", STALE_REASON.format(grace=grace))
            except UpdateFinishedTrialError:
                pass
        attempted = False

        def write() -> bool:
            nonlocal attempted
            try:
                return RDBStorage.set_trial_state_values(self, trial_id, state, values)
            except UpdateFinishedTrialError:
                if attempted and RDBStorage.get_trial(self, trial_id).state == state:
                    return True  # the lost attempt had written it
                raise
            finally:
                attempted = True

        return self._retry("set_trial_state_values", write)

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        grace = self.grace_period or 2 * (self.heartbeat_interval or 0)
        if time.monotonic() - self._connected_since < grace:
            return []  # live workers may not have recorded a heartbeat since this process last reached the storage
        stale = self._retry("_get_stale_trial_ids", lambda: RDBStorage._get_stale_trial_ids(self, study_id))
        self._stale.update(stale)
        return stale

    def record_heartbeat(self, trial_id: int) -> None:
        """Record a heartbeat; never raises (Optuna's heartbeat thread would print a traceback), an outage just
        delays it."""
        try:
            self._retry("record_heartbeat", lambda: RDBStorage.record_heartbeat(self, trial_id))
        except Exception as exc:  # a heartbeat that cannot be written is a missed one
            LOG.debug("heartbeat not recorded: %s", exc)


def _make_retried(name: str) -> Callable[..., Any]:
    original = getattr(RDBStorage, name)

    def retried(self: ResilientStorage, *args: Any, **kwargs: Any) -> Any:
        return self._retry(name, lambda: original(self, *args, **kwargs))

    retried.__name__ = name
    retried.__doc__ = original.__doc__
    return retried


for _name in RETRIED:
    if _name != "_get_stale_trial_ids":
        setattr(ResilientStorage, _name, _make_retried(_name))


def _engine_kwargs(url: str) -> dict[str, Any]:
    """Pooled connections are checked before use (a restarted server's are dead); SQLite waits on locks."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    return {"pool_pre_ping": True}


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
