"""One trial of the study: sample a candidate, skip what another trial measured or what the time budget cannot
pay for, time the untrained twin of a candidate that trains (and leave it untrained when even an optimistic
mAP is dominated), build and measure it with early stopping at rungs; a failure is recorded with its reason."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretodet.base import format_duration, no_space_on
from paretodet.errors import ParetodetError, StudyError
from paretodet.objectives import measure_shape
from paretodet.reports import violations
from paretodet.search.pipeline import build, build_and_measure
from paretodet.search.store import WORKER, StudyClock
from paretodet.search.study._config import OBJECTIVES, SearchConfig
from paretodet.search.study._cost import finished_costs, fit_cost, training_epochs
from paretodet.search.study._duplicates import MAX_RESAMPLES, record_duplicate, same_config
from paretodet.search.study._early_stop import (
    RUNG_VAL_IMAGES,
    SHAPE_ATTR,
    STOPPED_ATTR,
    RungWatch,
    TrialStopped,
    bound_stop,
)
from paretodet.spaces import Candidate, sample

if TYPE_CHECKING:
    import optuna

    from paretodet.data import DatasetInfo, ImageTruth
    from paretodet.models import Detector
    from paretodet.spaces import SearchSpace

__all__ = ["MAX_OVER_BUDGET", "OVER_BUDGET_ATTR", "TrialObjective", "TrialRun"]

OVER_BUDGET_ATTR = "over_budget"  # trial attr: a sampled candidate the time left could not pay for (not built)
MAX_OVER_BUDGET = 5  # the study stops after this many such candidates in a row
SHAPES_PREFIX = "paretodet_shape:"  # study attrs: an untrained twin's figures, by the config key of its shape


@dataclass(frozen=True)
class TrialRun:
    """What every trial of this process shares: the study, the loaded model and data, the space it samples,
    the study's clock (and time budget)."""

    config: SearchConfig
    study: optuna.Study
    detector: Detector
    data: DatasetInfo
    workdir: Path
    space: SearchSpace
    sampler_seed: int
    env: dict[str, Any]
    notes: tuple[str, ...]
    on_epoch: Callable[[int, int], None] | None
    clock: StudyClock
    rung_truths: list[ImageTruth] = field(default_factory=list)


def _signs() -> list[int]:
    return [1 if d == "maximize" else -1 for _, d in OBJECTIVES]


class TrialObjective:
    """The Optuna objective (see the module's docstring); Optuna marks a raising trial FAIL or PRUNED and the
    study goes on."""

    def __init__(self, run: TrialRun) -> None:
        self.run = run
        self.resamples = 0  # duplicates sampled in a row by this process
        self.over_budget = 0  # candidates in a row the time left could not pay for
        self.disk_full: str | None = None  # where a write failed for lack of space (the study stops)

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        import optuna

        run, config = self.run, self.run.config
        trial_start = time.perf_counter()
        for key, value in (
            ("worker", WORKER),
            ("environment", run.env),
            ("seed", config.seed),
            ("sampler_seed", run.sampler_seed),
        ):
            trial.set_user_attr(key, value)
        try:
            # a probe is queued in the space's own values, within the family's limits (see search.study._probes)
            candidate = sample(trial, run.space, limited=not trial.user_attrs.get("probe"))
            key = candidate.config_key()
            trial.set_user_attr("candidate", candidate.to_dict())
            trial.set_user_attr("config_key", key)  # written before the check below: see same_config
            original = same_config(run.study, trial.number, key)
            if original is not None:
                exhausted = self.resamples >= MAX_RESAMPLES
                if exhausted and config.trials is None:  # no count to fill: an exhausted space ends the study
                    run.study.stop()
                return record_duplicate(run.study, trial, original, exhausted=exhausted)
            self.resamples = 0
            self._check_budget(trial, candidate)
            watch = self._watch(trial, candidate)
            result, metrics = build_and_measure(
                candidate,
                run.detector,
                run.data,
                workdir=run.workdir,
                settings=config.evaluation,
                on_epoch=run.on_epoch,
                device=config.device,
                watch=watch,
            )
            if math.isnan(metrics.map50_95):
                raise StudyError("mAP is undefined: the val split has no labelled objects")
        except optuna.TrialPruned:
            self.resamples += 0 if trial.user_attrs.get(OVER_BUDGET_ATTR) else 1
            trial.set_user_attr("wall_s", time.perf_counter() - trial_start)
            raise
        except TrialStopped as stop:
            self._stopped(trial, stop, wall_s=time.perf_counter() - trial_start)
        except Exception as exc:
            self._failed(trial, exc, wall_s=time.perf_counter() - trial_start)
            raise
        finally:
            run.clock.tick(force=True)
        values = metrics.to_dict()
        trial.set_user_attr("metrics", values)
        trial.set_user_attr("artifact", result.artifact.to_dict())
        trial.set_user_attr("cache_hits", list(result.cache_hits))
        trial.set_user_attr("cache_entries", list(result.cache_entries))  # what `cache prune --keep-front` keeps
        if result.cache_repairs:
            trial.set_user_attr("cache_repairs", list(result.cache_repairs))
        for budget, violation in zip(config.budgets, _constraint_values(config, values)):
            trial.set_constraint(str(budget), violation)
        trial.set_user_attr("wall_s", time.perf_counter() - trial_start)
        return tuple(float(values[m]) for m, _ in OBJECTIVES)

    def _check_budget(self, trial: optuna.Trial, candidate: Candidate) -> None:
        """PRUNED (not built) when the candidate's expected cost overruns what the search has left (the first
        trial always starts while time is left: nothing says yet what a trial costs); the study stops when nothing
        is left or after ``MAX_OVER_BUDGET`` such candidates in a row."""
        import optuna

        left = self.run.clock.search_left_s()
        if math.isinf(left):
            return
        cost = fit_cost(finished_costs(self.run.study))
        expected = cost.expected_s(candidate.to_dict())
        if expected <= left or (cost.fitted_on == 0 and left > 0):  # the first trial: its cost is unknown yet
            self.over_budget = 0
            return
        self.over_budget += 1
        reason = (
            f"not built: expected {format_duration(expected)}, {format_duration(max(0.0, left))} of the budget left"
        )
        over = {"expected_s": round(expected, 1), "left_s": round(max(0.0, left), 1), "reason": reason}
        trial.set_user_attr(OVER_BUDGET_ATTR, over)
        if left <= 0 or self.over_budget >= MAX_OVER_BUDGET or left < cost.fixed_s:
            self.run.study.stop()
        raise optuna.TrialPruned(reason)

    def _watch(self, trial: optuna.Trial, candidate: Candidate) -> RungWatch | None:
        """The training watch of a candidate that trains: its untrained twin timed first, and not trained at all
        when the bound says it cannot reach the front (TrialStopped)."""
        run, config = self.run, self.run.config
        epochs = training_epochs(candidate.to_dict())
        if not epochs:
            return None
        shape = self._twin_shape(candidate) if config.early_stop else None
        if shape is not None:
            trial.set_user_attr(SHAPE_ATTR, shape)
            objectives = [m for m, _ in OBJECTIVES]
            stop = bound_stop(run.study, trial.number, candidate.to_dict(), shape, objectives, _signs())
            if stop is not None:
                expected = fit_cost(finished_costs(run.study)).expected_s(candidate.to_dict())
                stop.info["saved_s"] = round(expected, 1)
                stop.info["reason"] += f" (about {format_duration(expected)} saved)"
                raise stop
        return RungWatch(
            study=run.study,
            trial=trial,
            clock=run.clock,
            objectives=[m for m, _ in OBJECTIVES],
            signs=_signs(),
            truths=self._rung_truths(),
            imgsz=candidate.imgsz,
            total_epochs=epochs,
            shape=shape,
            early_stop=config.early_stop,
            threads=config.evaluation.threads,
        )

    def _twin_shape(self, candidate: Candidate) -> dict[str, float]:
        """The FPS, latency and size of the candidate's untrained twin: those of a measured trial of the same
        shape (a pruned candidate's twin is its one-shot config), else of an earlier twin of the same shape, else
        built (cached stages) and timed, and kept in the study for the next candidate of that shape."""
        run = self.run
        shape_key = candidate.replace({"prune.finetune_epochs": 0, "quant.qat_epochs": 0}).config_key()
        for t in run.study.get_trials(deepcopy=False):
            if t.state.name == "COMPLETE" and t.user_attrs.get("config_key") == shape_key and "metrics" in t.user_attrs:
                metrics = t.user_attrs["metrics"]
                return {k: float(metrics[k]) for k in ("fps", "latency_ms", "size_bytes")}
        known = run.study.user_attrs.get(f"{SHAPES_PREFIX}{shape_key}")
        if known:
            return dict(known)
        twin = build(
            candidate,
            run.detector,
            run.data,
            workdir=run.workdir,
            untrained=True,
            ignore_class_names=run.config.evaluation.ignore_class_names,
        )
        figures = measure_shape(twin.artifact, settings=run.config.evaluation)
        shape = {"fps": figures.fps, "latency_ms": figures.latency_ms, "size_bytes": float(figures.size_bytes)}
        run.study.set_user_attr(f"{SHAPES_PREFIX}{shape_key}", shape)
        return shape

    def _rung_truths(self) -> list[ImageTruth]:
        """The fixed val subset every rung is scored on (read once per process)."""
        if not self.run.rung_truths:
            from paretodet.data import read_truth, split_images, val_subset

            truths = [read_truth(self.run.data, p) for p in split_images(self.run.data)]
            chosen = val_subset(truths, RUNG_VAL_IMAGES, seed=self.run.config.seed)
            self.run.rung_truths.extend(truths[i] for i in chosen)
        return self.run.rung_truths

    def _stopped(self, trial: optuna.Trial, stop: TrialStopped, *, wall_s: float) -> None:
        """Record a stopped trial (PRUNED): early stopping's, or the time budget's (queued again, study stops)."""
        import optuna

        trial.set_user_attr(STOPPED_ATTR, stop.info)
        trial.set_user_attr("wall_s", wall_s)
        if stop.info["kind"] == "budget":
            with contextlib.suppress(Exception):
                self.run.study.enqueue_trial(trial.params, user_attrs={"requeued_from": trial.number})
            self.run.study.stop()
        raise optuna.TrialPruned(stop.info["reason"])

    def _failed(self, trial: optuna.Trial, exc: Exception, *, wall_s: float) -> None:
        """Record why a trial failed; on a full disk, stop the study and queue the config again."""
        run = self.run
        full = no_space_on(exc, default=str(run.workdir))
        reason = str(exc) if isinstance(exc, ParetodetError) else f"{type(exc).__name__}: {exc}"
        reason = f"no space left on {full}" if full else reason
        trial.set_user_attr("fail_reason", reason.splitlines()[0] if reason else type(exc).__name__)
        trial.set_user_attr("wall_s", wall_s)
        if full:  # every later trial would fail too: stop, and build this config again on resume
            self.disk_full = full
            run.study.stop()
            with contextlib.suppress(Exception):  # a study database on the full disk: re-queued on resume
                run.study.enqueue_trial(trial.params, user_attrs={"requeued_from": trial.number})


def _constraint_values(config: SearchConfig, metrics: dict[str, Any]) -> list[float]:
    """Optuna constraint values (<= 0 feasible): one relative violation per budget."""
    import numpy as np

    columns = {
        k: np.array([np.nan if v is None else v], dtype=float)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) or v is None
    }
    return [float(violations(columns, [b])[0]) for b in config.budgets]
