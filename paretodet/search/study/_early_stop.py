"""Multi-objective early stopping of a trial's training, and the time budget while it trains.

A candidate that trains (a student, pruning recovery, QAT) has its latency and size known before it trains:
its untrained twin (the same shape, runtime and precision) is built and timed first (``SHAPE_ATTR``). Then:

- **by bound, before training**: even an optimistic mAP (the best mAP measured at the same input size,
  runtime and precision without training or pruning, plus a margin learned from the study's trained trials)
  would leave it dominated by the current front on (mAP, FPS, size): it does not train at all;
- **by rank, at rungs** (epochs 1, 3, 9 ... of each trained stage, ``ETA`` = 3): its mAP on a fixed subset of
  ``RUNG_VAL_IMAGES`` val images, with its known FPS and size, is outside the best third of all trials that
  reached the same rung by non-dominated sorting (asynchronous, as in MO-ASHA): it stops there.

A stopped trial is recorded PRUNED with ``STOPPED_ATTR`` (kind, stage, epoch, rung mAP, the trials ahead of it,
the reason in words and the seconds it saved); its rung results stay in ``RUNGS_ATTR``, so a resumed study
keeps them. While it trains, the time budget is checked after every epoch (kind ``budget``: it is queued
again and the study stops).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from paretodet.base import format_duration
from paretodet.errors import ParetodetError
from paretodet.objectives import score_detector
from paretodet.search.store import StudyClock
from paretodet.search.study._cost import training_epochs
from paretodet.search.study._rungs import Point, bound_verdict, rank_verdict, rung_epochs

if TYPE_CHECKING:
    import optuna

    from paretodet.data import ImageTruth
    from paretodet.models import Detector

__all__ = [
    "MIN_MARGIN",
    "RUNGS_ATTR",
    "RUNG_VAL_IMAGES",
    "SHAPE_ATTR",
    "STOPPED_ATTR",
    "RungWatch",
    "TrialStopped",
    "optimistic_map",
    "bound_stop",
]

RUNGS_ATTR = "rungs"  # trial attr: {"<stage>@<epoch>": mAP50-95 on the rung images}
RUNG_ERRORS_ATTR = "rung_errors"  # trial attr: {"<stage>@<epoch>": why that rung could not be scored}
SHAPE_ATTR = "shape"  # trial attr: the untrained twin's measured figures (fps, latency_ms, size_bytes)
STOPPED_ATTR = "stopped"  # trial attr: why and where the trial stopped (see the module's docstring)
RUNG_VAL_IMAGES = 32  # rung mAP: a fixed subset of this many val images (every class where it can)
MIN_MARGIN = 0.02  # the least mAP50-95 a trained candidate is assumed to gain over its untrained reference


class TrialStopped(ParetodetError):
    """A trial stopped before it was measured whole: ``info`` is what ``STOPPED_ATTR`` records."""

    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__(info["reason"])
        self.info = info


def _objective_point(trial: int, values: dict[str, float], objectives: Sequence[str]) -> Point:
    return Point(trial, tuple(float(values[m]) for m in objectives))


def _trials_words(numbers: Sequence[int], limit: int = 4) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return f"trial{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _untrained_reference(candidate: dict[str, Any]) -> bool:
    """Whether a measured candidate is a reference for the bound: no training, no pruning, no student."""
    return (
        training_epochs(candidate) == 0
        and candidate.get("prune.method", "none") == "none"
        and not (
            candidate.get("distill.student_width", 1.0) < 1.0
            or candidate.get("distill.student_depth", 1.0) < 1.0
            or candidate.get("distill.student_yaml")
        )
    )


def optimistic_map(candidate: dict[str, Any], completed: Sequence[optuna.trial.FrozenTrial]) -> float | None:
    """The best mAP50-95 ``candidate`` could reach: the best one measured without training or pruning at its
    input size, runtime and precision (else at its input size), plus a margin: the most any completed trained
    trial gained over its own reference, at least ``MIN_MARGIN``. None when nothing was measured at its size.

    Example:
        >>> optimistic_map({"imgsz": 320}, study.get_trials())  # doctest: +SKIP
        0.41
    """

    def reference(of: dict[str, Any]) -> float | None:
        same_size = [
            (t.user_attrs["metrics"]["map50_95"], t.user_attrs["candidate"])
            for t in completed
            if _untrained_reference(t.user_attrs["candidate"]) and t.user_attrs["candidate"]["imgsz"] == of["imgsz"]
        ]
        exact = [
            m for m, c in same_size if c["runtime"] == of["runtime"] and c["quant.precision"] == of["quant.precision"]
        ]
        pool = exact or [m for m, _ in same_size]
        return max(pool) if pool else None

    base = reference(candidate)
    if base is None:
        return None
    gains = [MIN_MARGIN]
    for t in completed:
        c = t.user_attrs["candidate"]
        if not _untrained_reference(c):
            ref = reference(c)
            if ref is not None:
                gains.append(t.user_attrs["metrics"]["map50_95"] - ref)
    return base + max(gains)


def _completed(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state.name == "COMPLETE" and "metrics" in t.user_attrs and "candidate" in t.user_attrs
    ]


def bound_stop(
    study: optuna.Study,
    trial_number: int,
    candidate: dict[str, Any],
    shape: dict[str, float],
    objectives: Sequence[str],
    signs: Sequence[int],
) -> TrialStopped | None:
    """The stop (kind ``bound``) of a candidate that even an optimistic mAP leaves dominated by the current front
    on its known FPS and size; None when it could still reach the front (or nothing bounds it yet)."""
    completed = _completed(study)
    optimistic = optimistic_map(candidate, completed)
    if optimistic is None:
        return None
    me = _objective_point(trial_number, {**shape, "map50_95": optimistic}, objectives)
    front = [_objective_point(t.number, t.user_attrs["metrics"], objectives) for t in completed]
    by = bound_verdict(me, front, signs)
    if not by:
        return None
    reason = (
        f"not trained: even at mAP50-95 {optimistic:.4f} (optimistic) it is dominated by {_trials_words(by)} "
        "on its known FPS and size"
    )
    return TrialStopped(
        {
            "kind": "bound",
            "stage": "",
            "epoch": 0,
            "rung_map": None,
            "optimistic_map": optimistic,
            "by": by,
            "reason": reason,
        }
    )


@dataclass
class RungWatch:
    """The study's :class:`~paretodet.search.pipeline.TrainingWatch` for one trial: ticks the study clock, stops for
    the time budget, and scores and judges each rung (when ``early_stop`` and the twin's ``shape`` is known)."""

    study: optuna.Study
    trial: optuna.Trial
    clock: StudyClock
    objectives: Sequence[str]
    signs: Sequence[int]
    truths: Sequence[ImageTruth]
    imgsz: int
    total_epochs: int
    shape: dict[str, float] | None = None
    early_stop: bool = True
    threads: int = 2
    rungs: dict[str, float] = field(default_factory=dict)
    epochs_done: int = 0
    started: float = field(default_factory=lambda: time.perf_counter())

    def after_epoch(self, stage: str, done: int, total: int, model: Detector) -> None:
        """Check the budget, then (at a rung) score the model and stop it when its peers leave it behind."""
        self.epochs_done += 1
        self.clock.tick()
        if self.clock.search_left_s() < 0:
            raise TrialStopped(self._info("budget", stage, done, None, [], "the time budget ran out"))
        if not self.early_stop or self.shape is None or done not in rung_epochs(total):
            return
        key = f"{stage}@{done}"
        try:
            value = score_detector(model, self.truths, imgsz=self.imgsz, threads=self.threads)
        except Exception as exc:  # a rung that cannot be scored judges nothing: training goes on, and says why
            self.trial.set_user_attr(RUNG_ERRORS_ATTR, {key: f"{type(exc).__name__}: {exc}".splitlines()[0]})
            return
        self.rungs[key] = value
        self.trial.set_user_attr(RUNGS_ATTR, dict(self.rungs))
        me = _objective_point(self.trial.number, {**self.shape, "map50_95": value}, self.objectives)
        keep, ahead = rank_verdict(me, self._peers(key), self.signs)
        if not keep:
            rung = rung_epochs(total).index(done) + 1
            reason = f"dominated at rung {rung} ({stage} epoch {done}) by {_trials_words(ahead)}"
            raise TrialStopped(self._info("rung", stage, done, value, ahead, reason))

    def _peers(self, key: str) -> list[Point]:
        """The other trials that reached rung ``key``, with their known FPS and size."""
        peers = []
        for t in self.study.get_trials(deepcopy=False):
            rungs, shape = t.user_attrs.get(RUNGS_ATTR, {}), t.user_attrs.get(SHAPE_ATTR)
            if t.number != self.trial.number and key in rungs and shape:
                peers.append(_objective_point(t.number, {**shape, "map50_95": rungs[key]}, self.objectives))
        return peers

    def _info(self, kind: str, stage: str, epoch: int, value: float | None, by: list[int], why: str) -> dict[str, Any]:
        per_epoch = (time.perf_counter() - self.started) / max(1, self.epochs_done)
        saved = per_epoch * max(0, self.total_epochs - self.epochs_done)
        where = f"stopped after {stage} epoch {epoch}"
        return {
            "kind": kind,
            "stage": stage,
            "epoch": epoch,
            "rung_map": value,
            "by": by,
            "reason": f"{where}: {why}" + ("" if kind == "budget" else f" (about {format_duration(saved)} saved)"),
            "saved_s": round(saved, 1) if kind != "budget" else 0.0,
        }
