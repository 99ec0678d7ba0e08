"""The search's time budget: a duration a user gives (``2h``, ``45m``, ``90s``, ``1h30m``), and a clock that every
process of a study shares through its storage.

Time used is the wall time during which at least one process ran the study: each process records its own
session ``[start, last tick]`` as a study attribute (ticked after every trial and training epoch), and the used
time is the length of the union of all sessions. A study that is killed and resumed the next day does not count
the night; two workers running side by side count their common hour once. A killed process loses at most the
time since its last tick.

The search phase ends at ``budget * (1 - VERIFY_SHARE)``: the rest is left to the verification of the front
(``paretodet search`` runs it when the study returns), whose time is measured and reported beside it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

__all__ = [
    "BUDGET_ATTR",
    "CLOCK_PREFIX",
    "VERIFY_SHARE",
    "StudyClock",
    "used_seconds",
]

BUDGET_ATTR = "paretodet_time_budget_s"  # study attr: the budget every worker honours
CLOCK_PREFIX = "paretodet_clock:"  # study attrs: one session [start, last tick] (epoch seconds) per process run
VERIFY_SHARE = 0.1  # the share of the budget left to the verification of the front
TICK_EVERY_S = 5.0  # a session's end is written at most this often (besides trial ends)


def used_seconds(attrs: dict[str, Any], *, now: float | None = None, own: tuple[str, float] | None = None) -> float:
    """The length of the union of the sessions recorded in a study's ``attrs``; ``own`` (key, start) is this
    process's session, counted up to ``now`` (its last tick may be older).

    Example:
        >>> used_seconds({"paretodet_clock:a": [0, 10], "paretodet_clock:b": [5, 20]})
        20.0
    """
    sessions = {k: (float(v[0]), float(v[1])) for k, v in attrs.items() if k.startswith(CLOCK_PREFIX)}
    if own is not None:
        sessions[own[0]] = (own[1], time.time() if now is None else now)
    total, end = 0.0, float("-inf")
    for start, stop in sorted(sessions.values()):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


@dataclass
class StudyClock:
    """This process's session of a study, and the study's time budget (None: no budget).

    ``search_left_s`` is what the search phase has left (the budget less the verification share, less all time
    used so far by every process).
    """

    study: optuna.Study
    budget_s: float | None
    key: str = ""
    start: float = 0.0
    _last_tick: float = 0.0

    def __post_init__(self) -> None:
        self.key = f"{CLOCK_PREFIX}{uuid.uuid4().hex[:12]}"
        self.start = time.time()
        self.tick(force=True)

    def tick(self, *, force: bool = False) -> None:
        """Write this session's end (now) to the storage, at most every ``TICK_EVERY_S`` unless ``force``."""
        now = time.time()
        if force or now - self._last_tick >= TICK_EVERY_S:
            self.study.set_user_attr(self.key, [self.start, now])
            self._last_tick = now

    def used_s(self) -> float:
        """Seconds of the study's time used so far, by every process (this one up to now)."""
        return used_seconds(self.study.user_attrs, own=(self.key, self.start))

    def search_left_s(self) -> float:
        """Seconds the search phase has left (inf without a budget)."""
        if self.budget_s is None:
            return float("inf")
        return self.budget_s * (1.0 - VERIFY_SHARE) - self.used_s()
