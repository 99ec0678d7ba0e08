"""Latency in interleaved rounds: several artifacts timed in turn, each once per round, so that the host's
speed mode (this VM's moves about 30% between minutes) affects them all alike; a ratio to a reference is then
taken round by round and reported with a distribution-free 95% interval over the rounds."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from paretodet.errors import ConfigError
from paretodet.objectives._latency import timed_calls
from paretodet.runtimes import Runner

__all__ = ["InterleavedTiming", "RatioInterval", "RoundSettings", "median_interval", "time_interleaved"]


@dataclass(frozen=True)
class RoundSettings:
    """How interleaved rounds are timed.

    Attributes:
        rounds: rounds; each times every artifact once (>= 6, the fewest with a 95% interval of the median).
        calls: timed calls of one artifact in one round (the round's figure is their median).
        warmup: untimed calls before an artifact's first round.
        settle: untimed calls before each later turn (caches after the previous artifact ran).
    """

    rounds: int = 10
    calls: int = 15
    warmup: int = 10
    settle: int = 2

    def __post_init__(self) -> None:
        if self.rounds < 6:
            raise ConfigError(
                f"--rounds must be >= 6 (the fewest with a 95% interval of the median), got {self.rounds}"
            )
        if self.calls < 5:
            raise ConfigError(f"calls per round must be >= 5, got {self.calls}")
        if self.warmup < 1 or self.settle < 0:
            raise ConfigError("warm-up calls must be >= 1 and settle calls >= 0")


@dataclass(frozen=True)
class RatioInterval:
    """A median over rounds and its 95% interval (distribution-free: order statistics of the rounds)."""

    median: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        """JSON-ready dict."""
        return {"median": self.median, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class InterleavedTiming:
    """Per-round medians (ms), shape ``(rounds, artifacts)``, of artifacts timed in turn; artifact 0 first in
    round 0, and each later round starts one artifact further on (no artifact always runs first)."""

    per_round_ms: np.ndarray
    others_cpu: float

    @property
    def rounds(self) -> int:
        """How many rounds were timed."""
        return int(self.per_round_ms.shape[0])

    def latency(self, index: int) -> RatioInterval:
        """Artifact ``index``'s latency: the median of its round figures, with its 95% interval (ms)."""
        return median_interval(self.per_round_ms[:, index])

    def ratio(self, index: int, reference: int = 0) -> RatioInterval:
        """Latency of artifact ``index`` over that of ``reference``, round by round, with a 95% interval."""
        return median_interval(self.per_round_ms[:, index] / self.per_round_ms[:, reference])

    def cv(self, index: int) -> float:
        """Coefficient of variation of artifact ``index``'s round figures."""
        column = self.per_round_ms[:, index]
        return float(column.std() / column.mean())


def median_interval(values: Sequence[float] | np.ndarray, *, level: float = 0.95) -> RatioInterval:
    """The median of ``values`` and a distribution-free interval for it: the order statistics ``(j, n-j+1)``
    with the largest ``j`` whose binomial coverage is at least ``level`` (needs n >= 6 for 95%).

    Example:
        >>> median_interval([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        RatioInterval(median=3.5, low=1.0, high=6.0)
    """
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    n = len(ordered)
    if n == 0:
        raise ConfigError("no values to summarize")
    j = _order_rank(n, level)
    low, high = (ordered[j - 1], ordered[n - j]) if j else (math.nan, math.nan)
    return RatioInterval(median=float(np.median(ordered)), low=float(low), high=float(high))


def _order_rank(n: int, level: float) -> int:
    """Largest ``j >= 1`` with P(X_(j) <= median <= X_(n-j+1)) >= level; 0 if even ``j = 1`` falls short."""
    best = 0
    for j in range(1, n // 2 + 1):
        coverage = 1.0 - 2.0 * sum(math.comb(n, i) for i in range(j)) / 2.0**n
        if coverage < level:
            break
        best = j
    return best


def time_interleaved(
    runners: Sequence[Runner],
    imgszs: Sequence[int],
    *,
    settings: RoundSettings | None = None,
    on_round: Callable[[int, int], None] | None = None,
) -> InterleavedTiming:
    """Time ``runners`` (model-only, one fixed letterboxed input each at its ``imgsz``) in interleaved rounds.

    Each round runs under the host-wide timing lock on a quiet CPU and is repeated if another process
    disturbed it (``base.timed_quietly``). ``on_round(done, total)`` reports progress.

    Example:
        >>> timing = time_interleaved([ref_runner, int8_runner], [320, 320])  # doctest: +SKIP
        >>> timing.ratio(1).median  # doctest: +SKIP
        0.62
    """
    from paretodet.base import timed_quietly

    settings = settings or RoundSettings()
    if len(runners) != len(imgszs) or not runners:
        raise ConfigError("time_interleaved needs one input size per runner, and at least one runner")
    batches = [np.full((1, 3, s, s), 114 / 255, dtype=np.float32) for s in imgszs]
    for runner, batch in zip(runners, batches):
        for _ in range(settings.warmup):
            runner(batch)
    count = len(runners)
    table = np.zeros((settings.rounds, count))
    others = 0.0
    for r in range(settings.rounds):
        order = [(r + k) % count for k in range(count)]
        figures, share = timed_quietly(lambda o=order: [_turn(runners[i], batches[i], settings) for i in o])  # type: ignore[misc]
        table[r, order] = figures
        others = max(others, share)
        if on_round is not None:
            on_round(r + 1, settings.rounds)
    return InterleavedTiming(per_round_ms=table, others_cpu=round(others, 4))


def _turn(runner: Runner, batch: np.ndarray, settings: RoundSettings) -> float:
    """One artifact's turn in a round: settle calls, then the median of its timed calls (ms)."""
    for _ in range(settings.settle):
        runner(batch)
    return float(np.median(timed_calls(runner, batch, settings.calls)))
