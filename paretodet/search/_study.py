"""The study: an Optuna multi-objective search over candidates, one trial = one measured artifact."""

from __future__ import annotations

import math
import os
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paretodet.data import dataset_digest
from paretodet.errors import ParetodetError, StudyError
from paretodet.reports import pareto_mask, violations
from paretodet.search._config import OBJECTIVES, SearchConfig
from paretodet.search._environment import environment
from paretodet.search._pipeline import build_and_measure, load_model_and_data
from paretodet.search._storage import MANIFEST, open_storage, read_manifest, write_manifest
from paretodet.spaces import sample

if TYPE_CHECKING:
    import optuna

__all__ = ["StudySummary", "TrialEvent", "run_study"]


@dataclass(frozen=True)
class TrialEvent:
    """Progress report sent after each trial of this process."""

    number: int
    state: str
    done: int
    total: int
    front_size: int
    candidate: dict[str, Any]
    metrics: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True)
class StudySummary:
    """What a (possibly resumed) study holds when ``run_study`` returns."""

    workdir: Path
    storage: str
    study: str
    completed: int
    failed: int
    front_size: int
    wall_s: float


def run_study(
    config: SearchConfig,
    *,
    on_trial: Callable[[TrialEvent], None] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
) -> StudySummary:
    """Run (or continue) the study until it holds ``config.trials`` completed trials.

    ``on_trial`` hears about each finished trial; ``on_epoch(done, total)`` about fine-tuning epochs.

    A trial that raises is recorded FAIL with its reason and the study goes on.

    Example:
        >>> summary = run_study(SearchConfig(model="best.pt", data=Path("d.yaml"), workdir=Path("w")))  # doctest: +SKIP
    """
    import optuna

    start = time.perf_counter()
    detector, data = load_model_and_data(config.model, config.data)
    workdir = config.workdir.resolve()
    data_digest = dataset_digest(data)
    _check_same_study(workdir, config, model_digest=detector.digest, data_digest=data_digest)
    workdir.mkdir(parents=True, exist_ok=True)
    storage = open_storage(config.storage_url)
    directions = [d for _, d in OBJECTIVES]
    study = _create_or_load(config, storage, directions)
    if STUDY_CONFIG_ATTR not in study.user_attrs:  # what a joining worker needs (paretodet worker)
        from paretodet.search._worker import study_settings

        study.set_user_attr(STUDY_CONFIG_ATTR, study_settings(config))
    write_manifest(
        workdir,
        {
            "storage": config.storage_url,
            "study": config.study,
            "model": str(config.model),
            "model_digest": detector.digest,
            "data": str(Path(config.data).resolve()),
            "data_digest": data_digest,
            "objectives": [m for m, _ in OBJECTIVES],
            "directions": directions,
            "budgets": [str(b) for b in config.budgets],
        },
    )
    env = environment()
    space = config.space if detector.trainable else config.space.without_training()

    _requeue_interrupted(study, storage)

    def objective(trial: optuna.Trial) -> tuple[float, ...]:
        trial_start = time.perf_counter()
        trial.set_user_attr("worker", WORKER)
        trial.set_user_attr("environment", env)
        trial.set_user_attr("seed", config.seed)
        try:
            candidate = sample(trial, space)
            trial.set_user_attr("candidate", candidate.to_dict())
            result, metrics = build_and_measure(
                candidate, detector, data, workdir=workdir, settings=config.evaluation, on_epoch=on_epoch
            )
            if math.isnan(metrics.map50_95):
                raise StudyError("mAP is undefined: the val split has no labelled objects")
        except Exception as exc:
            reason = str(exc) if isinstance(exc, ParetodetError) else f"{type(exc).__name__}: {exc}"
            trial.set_user_attr("fail_reason", reason.splitlines()[0] if reason else type(exc).__name__)
            trial.set_user_attr("wall_s", time.perf_counter() - trial_start)
            raise
        values = metrics.to_dict()
        trial.set_user_attr("metrics", values)
        trial.set_user_attr("artifact", result.artifact.to_dict())
        trial.set_user_attr("cache_hits", list(result.cache_hits))
        for budget, violation in zip(config.budgets, _constraint_values(config, values)):
            trial.set_constraint(str(budget), violation)
        trial.set_user_attr("wall_s", time.perf_counter() - trial_start)
        return tuple(float(values[m]) for m, _ in OBJECTIVES)

    completed_before = _count(study, "COMPLETE")
    to_run = max(0, config.trials - completed_before)
    done = 0

    def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        nonlocal done
        done += 1
        if on_trial is not None:
            on_trial(
                TrialEvent(
                    number=trial.number,
                    state=trial.state.name,
                    done=done,
                    total=to_run,
                    front_size=_front_size(study),
                    candidate=trial.user_attrs.get("candidate", {}),
                    metrics=trial.user_attrs.get("metrics"),
                    error=trial.user_attrs.get("fail_reason"),
                )
            )

    if to_run:
        stop_at_target = optuna.study.MaxTrialsCallback(config.trials, states=(optuna.trial.TrialState.COMPLETE,))
        study.optimize(objective, n_trials=to_run, catch=(Exception,), callbacks=[callback, stop_at_target])
    return StudySummary(
        workdir=workdir,
        storage=config.storage_url,
        study=config.study,
        completed=_count(study, "COMPLETE"),
        failed=_count(study, "FAIL"),
        front_size=_front_size(study),
        wall_s=time.perf_counter() - start,
    )


STUDY_CONFIG_ATTR = "paretodet_config"
WORKER = f"{socket.gethostname()}:{os.getpid()}"  # who runs a trial: a dead local worker's trial is re-queued


def _requeue_interrupted(study: optuna.Study, storage: optuna.storages.BaseStorage) -> list[int]:
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _check_same_study(workdir: Path, config: SearchConfig, *, model_digest: str, data_digest: str) -> None:
    """Refuse to continue a work dir's study with another model or other data (their trials would mix)."""
    if not (workdir / MANIFEST).is_file():
        return
    old = read_manifest(workdir)
    if old.get("study") != config.study or old.get("storage") != config.storage_url:
        return
    for what, key, new in (("model", "model_digest", model_digest), ("data", "data_digest", data_digest)):
        if old.get(key) not in (None, new):
            raise StudyError(
                f"{workdir} holds study '{config.study}' of another {what} ({old.get(what)}): "
                "use a new --workdir or --study"
            )


def _create_or_load(config: SearchConfig, storage: optuna.storages.BaseStorage, directions: list[Any]) -> optuna.Study:
    import optuna

    sampler = _make_sampler(config)
    try:
        study = optuna.create_study(
            study_name=config.study, storage=storage, sampler=sampler, directions=directions, load_if_exists=True
        )
    except ValueError as exc:
        raise StudyError(f"study '{config.study}' cannot be reused: {exc}") from None
    existing = [d.name.lower() for d in study.directions]
    if existing != directions:
        raise StudyError(f"study '{config.study}' exists with objectives {existing}; use another --study name")
    return study


def _make_sampler(config: SearchConfig) -> optuna.samplers.BaseSampler:
    import optuna

    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=config.seed)
    if config.sampler == "grid":
        return optuna.samplers.GridSampler(config.space.grid(), seed=config.seed)
    if config.sampler == "nsga2":
        population = int(min(50, max(4, config.trials // 3)))
        return optuna.samplers.NSGAIISampler(seed=config.seed, population_size=population)
    # multivariate + group models the conditional knobs jointly; constant liar keeps parallel workers apart
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=config.seed, multivariate=True, group=True, constant_liar=True)


def _constraint_values(config: SearchConfig, metrics: dict[str, Any]) -> list[float]:
    """Optuna constraint values (<= 0 feasible): one relative violation per budget."""
    columns = {
        k: np.array([np.nan if v is None else v], dtype=float)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) or v is None
    }
    return [float(violations(columns, [b])[0]) for b in config.budgets]


def _count(study: optuna.Study, state: str) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False) if t.state.name == state)


def _front_size(study: optuna.Study) -> int:
    values = [t.values for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and t.values]
    if not values:
        return 0
    signs = [1 if d.name == "MAXIMIZE" else -1 for d in study.directions]
    return int(pareto_mask(np.array(values, dtype=float), signs).sum())
