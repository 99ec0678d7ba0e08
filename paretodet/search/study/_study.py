"""The study: an Optuna multi-objective search over candidates, one trial = one measured artifact."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paretodet.base import exception_chain
from paretodet.data import dataset_digest
from paretodet.errors import ConfigError, StudyError
from paretodet.models import family_for, get_family, techniques_for
from paretodet.reports import pareto_mask
from paretodet.search.pipeline import check_teacher_classes, class_check, load_model_and_data
from paretodet.search.store import (
    BUDGET_ATTR,
    MANIFEST,
    WORKER,
    StudyClock,
    advise_server,
    existing_trials,
    mask_url,
    open_storage,
    process_seed,
    read_manifest,
    requeue_interrupted,
    write_manifest,
)
from paretodet.search.study._config import OBJECTIVES, SearchConfig
from paretodet.search.study._duplicates import MAX_RESAMPLES
from paretodet.search.study._early_stop import STOPPED_ATTR
from paretodet.search.study._environment import environment
from paretodet.search.study._integrity import STUDY_CONFIG_ATTR, check_study_files, file_hashes
from paretodet.search.study._objective import OVER_BUDGET_ATTR, TrialObjective, TrialRun
from paretodet.search.study._probes import enqueue_probes
from paretodet.spaces import fit_to_model, technique_notes, unsupported_knobs

if TYPE_CHECKING:
    import optuna

    from paretodet.data import DatasetInfo
    from paretodet.models import Detector
    from paretodet.spaces import SearchSpace

__all__ = ["StudySummary", "TrialEvent", "run_study"]

UNBOUNDED = 10**9  # trials left to run when only the time budget bounds the study
PROBE_ROOM = 32  # the trial count probes (and NSGA-II's population) are sized by when only a time budget is given


@dataclass(frozen=True)
class TrialEvent:
    """Progress report sent after each trial of this process."""

    number: int
    state: str
    done: int
    total: int | None  # None: as many as the time budget allows
    front_size: int
    candidate: dict[str, Any]
    metrics: dict[str, Any] | None
    error: str | None
    duplicate_of: int | None = None
    stopped: str | None = None  # why it stopped early or was not built (time budget)
    wall_s: float | None = None
    cache_hits: tuple[str, ...] = ()
    cache_repairs: tuple[str, ...] = ()


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
    duplicates: int = 0
    sampler_seed: int = 0
    notes: tuple[str, ...] = ()
    stopped: int = 0  # trials early stopping stopped (at a rung, or before training by the bound)
    time_budget_s: float | None = None
    time_used_s: float = 0.0  # the study's time used so far, every process's (see search.store._clock)


def run_study(
    config: SearchConfig,
    *,
    on_trial: Callable[[TrialEvent], None] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
    joining: bool = False,
) -> StudySummary:
    """Run (or continue) the study until it holds ``config.trials`` completed trials.

    ``on_trial`` hears about each finished trial; ``on_epoch(done, total)`` about fine-tuning epochs.

    A trial that raises is recorded FAIL with its reason and the study goes on. Many processes may run one
    study (``joining``: this one joins a study that another started): the process that creates the study
    samples with ``config.seed`` (a single-process search is reproducible), every later one with its own
    seed stream derived from it, and a sampled config that another trial already measured (COMPLETE) or is
    building (RUNNING) is not built twice: the trial is recorded PRUNED with ``duplicate_of`` and the sampler
    draws again. After ``MAX_RESAMPLES`` duplicates in a row the space counts as exhausted: a duplicate of a
    measured config is then recorded COMPLETE with that trial's stored result, without measuring.

    Example:
        >>> summary = run_study(SearchConfig(model="best.pt", data=Path("d.yaml"), workdir=Path("w")))  # doctest: +SKIP
    """
    import optuna

    start = time.perf_counter()
    run = _open_run(config, joining=joining, on_epoch=on_epoch)
    study = run.study
    to_run = UNBOUNDED if config.trials is None else max(0, config.trials - _count(study, "COMPLETE"))
    if to_run and run.clock.search_left_s() > 0:
        callbacks: list[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = [
            _Progress(on_trial, total=None if config.trials is None else to_run, clock=run.clock)
        ]
        if config.trials is not None:
            completed = (optuna.trial.TrialState.COMPLETE,)
            callbacks.append(optuna.study.MaxTrialsCallback(config.trials, states=completed))
        # duplicates are re-sampled a bounded number of times; with a time budget alone, the budget bounds it
        bound = None if config.trials is None else to_run * (MAX_RESAMPLES + 2)
        objective = TrialObjective(run)
        try:
            study.optimize(objective, n_trials=bound, catch=(Exception,), callbacks=callbacks)
        except Exception as exc:  # Optuna's own clean-up can hide a lost storage behind another error
            lost = _storage_lost(exc)
            if lost is None:
                raise
            raise lost from None
        if objective.disk_full:
            raise StudyError(
                f"no space left on {objective.disk_full}: free some space (e.g. 'paretodet cache prune "
                f"{run.workdir} --keep-front'), then run the same command to resume; the failed trial's config "
                "is queued again"
            )
    return StudySummary(
        workdir=run.workdir,
        storage=mask_url(config.storage_url),
        study=config.study,
        completed=_count(study, "COMPLETE"),
        failed=_count(study, "FAIL"),
        front_size=_front_size(study),
        wall_s=time.perf_counter() - start,
        duplicates=sum(1 for t in study.get_trials(deepcopy=False) if "duplicate_of" in t.user_attrs),
        sampler_seed=run.sampler_seed,
        notes=run.notes,
        stopped=sum(1 for t in study.get_trials(deepcopy=False) if STOPPED_ATTR in t.user_attrs),
        time_budget_s=run.clock.budget_s,
        time_used_s=run.clock.used_s(),
    )


def _open_run(config: SearchConfig, *, joining: bool, on_epoch: Callable[[int, int], None] | None) -> TrialRun:
    """Open (or create) the study after checking its files, load the model and data, write the manifest, fix
    the space this host and family can sample, and queue the probes once per study."""
    config.workdir.mkdir(parents=True, exist_ok=True)  # the default SQLite study lives there
    storage = open_storage(config.storage_url, grace_s=config.storage_grace_s)
    existing = existing_trials(storage, config.study)
    if existing is not None:  # before loading anything: the files must be the ones the study started with
        check_study_files(storage, config)
    detector, data = load_model_and_data(
        config.model,
        config.data,
        trust_model=config.trust_model,
        weights=config.weights,
        ignore_class_names=config.evaluation.ignore_class_names,
    )
    class_notes = _class_notes(config, detector, data)
    workdir = config.workdir.resolve()
    data_digest = dataset_digest(data)
    _check_same_study(workdir, config, model_digest=detector.digest, data_digest=data_digest)
    workdir.mkdir(parents=True, exist_ok=True)
    if existing is None and not joining:
        sampler_seed = config.seed
    else:
        sampler_seed = process_seed(config.seed, worker=WORKER, existing_trials=existing or 0)
    space, notes = study_space(config.space, detector)
    study = _create_or_load(config, storage, [d for _, d in OBJECTIVES], sampler_seed=sampler_seed, space=space)
    if STUDY_CONFIG_ATTR not in study.user_attrs:  # what a joining worker needs (paretodet worker)
        study.set_user_attr(STUDY_CONFIG_ATTR, {**config.to_stored(), **file_hashes(config)})
    _write_run_manifest(
        workdir,
        config,
        model_digest=detector.digest,
        data_digest=data_digest,
        space=space,
        notes=notes,
        class_notes=class_notes,
    )
    if config.probes and not joining:  # once per study: a resumed one keeps its queue, workers never queue
        enqueue_probes(study, space, trials=config.trials or PROBE_ROOM)
    requeue_interrupted(study, storage)
    advise_server(study, config.storage_url)
    if not joining:  # the search's budget (a resumed search may give a new one); workers read it
        study.set_user_attr(BUDGET_ATTR, config.time_budget_s)
    clock = StudyClock(study, study.user_attrs.get(BUDGET_ATTR))
    all_notes = (*class_notes, *notes)
    return TrialRun(
        config, study, detector, data, workdir, space, sampler_seed, environment(), all_notes, on_epoch, clock
    )


def _class_notes(config: SearchConfig, detector: Detector, data: DatasetInfo) -> list[str]:
    """The line saying what was not checked of the model's class names against the data's (none when they
    matched); ConfigError in one line when ``distill.teacher`` predicts other classes than the model (unless
    ``--ignore-class-names``)."""
    ignore = config.evaluation.ignore_class_names
    check_teacher_classes(config.space.base.distill, detector, ignore=ignore)
    note = class_check(detector, data, ignore=ignore).note
    return [note] if note else []


def study_space(space: SearchSpace, detector: Detector) -> tuple[SearchSpace, list[str]]:
    """What a study samples for ``detector``, and one line per thing left out or fitted and why: only what its
    family supports, input sizes around its training size, no one-shot structured pruning beyond the family's
    limit, only runtimes this host can run, no training for a model paretodet cannot train."""
    family = get_family(detector.family)
    teacher = space.base.distill.teacher
    techniques = techniques_for(detector, teacher=teacher)
    pair_notes = check_teacher_pair(space, detector, techniques)
    notes = [*pair_notes, *technique_notes(space, techniques, family.name)]
    fitted = space.for_techniques(techniques)
    fitted, fit_notes = fit_to_model(
        fitted,
        train_imgsz=detector.train_imgsz,
        one_shot_limit=family.one_shot_prune_limit,
        recovered_limit=family.recovered_prune_limit if detector.trainable else None,
        recovery_lr=family.recovery_lr(detector.nc) if detector.trainable else None,
        family=family.name,
    )
    fitted, host_notes = fitted.for_host()  # runtimes this host cannot run (a package, a GPU) are not sampled
    if not detector.trainable:
        fitted = fitted.without_training()
        notes.append(f"no training knob sampled: paretodet cannot train {detector.source}")
    return fitted, [*fit_notes, *notes, *host_notes]


def check_teacher_pair(space: SearchSpace, detector: Detector, techniques: frozenset[str]) -> list[str]:
    """With ``distill.teacher`` set in the space's base: ConfigError (one line) for a base value the pair cannot
    train, else one line saying how the teacher teaches (nothing when it is unset)."""
    teacher = space.base.distill.teacher
    if not teacher:
        return []
    teacher_family = family_for(teacher).name
    fixed = unsupported_knobs(space.base.to_dict(), techniques)
    if fixed:
        raise ConfigError(
            f"a {detector.family} model cannot learn from {teacher_family} distill.teacher {teacher} with "
            f"{', '.join(fixed)}: drop those values or name a {detector.family} teacher"
        )
    if teacher_family == detector.family:
        return [f"distill.teacher {teacher} teaches students and recovery (same family: anchor to anchor)"]
    return [
        f"distill.teacher {teacher} ({teacher_family}) teaches students and recovery through its detections "
        "(another family: no feature imitation)"
    ]


def _write_run_manifest(
    workdir: Path,
    config: SearchConfig,
    *,
    model_digest: str,
    data_digest: str,
    space: SearchSpace,
    notes: list[str],
    class_notes: list[str],
) -> None:
    write_manifest(
        workdir,
        {
            "storage": mask_url(config.storage_url),  # no password in files people share
            "study": config.study,
            "model": str(config.model),
            "model_digest": model_digest,
            "data": str(Path(config.data).resolve()),
            "data_digest": data_digest,
            "objectives": [m for m, _ in OBJECTIVES],
            "directions": [d for _, d in OBJECTIVES],
            "budgets": [str(b) for b in config.budgets],
            "base_imgsz": space.base.imgsz,  # the original model's size: probes and the verification reference
            "space_notes": notes,
            "class_names": class_notes,  # what was not checked of the model's class names (empty: they matched)
        },
    )


class _Progress:
    """Optuna callback: tells ``on_trial`` about each finished trial and stops once ``total`` were run (a
    duplicate sample, PRUNED, does not count) or the time budget's search share is spent."""

    def __init__(self, on_trial: Callable[[TrialEvent], None] | None, *, total: int | None, clock: StudyClock) -> None:
        self.on_trial, self.total, self.done, self.clock = on_trial, total, 0, clock

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.done += 0 if trial.state.name == "PRUNED" else 1
        if self.on_trial is not None:
            self.on_trial(
                TrialEvent(
                    number=trial.number,
                    state=trial.state.name,
                    done=self.done,
                    total=self.total,
                    front_size=_front_size(study),
                    candidate=trial.user_attrs.get("candidate", {}),
                    metrics=trial.user_attrs.get("metrics"),
                    error=trial.user_attrs.get("fail_reason"),
                    duplicate_of=trial.user_attrs.get("duplicate_of"),
                    stopped=_stop_words(trial),
                    wall_s=trial.user_attrs.get("wall_s"),
                    cache_hits=tuple(trial.user_attrs.get("cache_hits", ())),
                    cache_repairs=tuple(trial.user_attrs.get("cache_repairs", ())),
                )
            )
        if (self.total is not None and self.done >= self.total) or self.clock.search_left_s() <= 0:
            study.stop()


def _stop_words(trial: optuna.trial.FrozenTrial) -> str | None:
    """Why a trial stopped early or was not built for the time budget, in words (None: it was not)."""
    if STOPPED_ATTR in trial.user_attrs:
        return str(trial.user_attrs[STOPPED_ATTR]["reason"])
    over = trial.user_attrs.get(OVER_BUDGET_ATTR)
    return str(over["reason"]) if over else None


def _check_same_study(workdir: Path, config: SearchConfig, *, model_digest: str, data_digest: str) -> None:
    """Refuse to continue a work dir's study with another model or other data (their trials would mix)."""
    if not (workdir / MANIFEST).is_file():
        return
    old = read_manifest(workdir)
    if old.get("study") != config.study or old.get("storage") != mask_url(config.storage_url):
        return
    for what, key, new in (("model", "model_digest", model_digest), ("data", "data_digest", data_digest)):
        if old.get(key) not in (None, new):
            raise StudyError(
                f"{workdir} holds study '{config.study}' of another {what} ({old.get(what)}): "
                "use a new --workdir or --study"
            )


def _create_or_load(
    config: SearchConfig,
    storage: optuna.storages.BaseStorage,
    directions: list[Any],
    *,
    sampler_seed: int,
    space: SearchSpace,
) -> optuna.Study:
    import optuna

    sampler = _make_sampler(config, seed=sampler_seed, space=space)
    try:
        study = optuna.create_study(
            study_name=config.study, storage=storage, sampler=sampler, directions=directions, load_if_exists=True
        )
    except ValueError as exc:
        raise StudyError(f"study '{config.study}' cannot be reused: {exc}") from None
    existing = [d.name.lower() for d in study.directions]
    if existing != directions:
        raise StudyError(f"study '{config.study}' exists with objectives {existing}; use another --study name")
    names = [m for m, _ in OBJECTIVES]
    if study.metric_names != names:  # optuna-dashboard and optuna.visualization label the objectives by these
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(names)
    return study


def _make_sampler(config: SearchConfig, *, seed: int, space: SearchSpace) -> optuna.samplers.BaseSampler:
    import optuna

    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if config.sampler == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    if config.sampler == "nsga2":
        population = int(min(50, max(4, (config.trials or PROBE_ROOM) // 3)))
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=population)
    # multivariate + group models the conditional knobs jointly; constant liar keeps parallel workers apart;
    # trials that early stopping stopped teach it what was known when they stopped
    from paretodet.search.study._cost_sampler import CostCooledTPESampler
    from paretodet.search.study._informed_sampler import InformedTPESampler

    tpe = CostCooledTPESampler if config.cost_aware else InformedTPESampler
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return tpe([m for m, _ in OBJECTIVES], seed=seed, multivariate=True, group=True, constant_liar=True)


def _storage_lost(exc: BaseException) -> StudyError | None:
    """The ``StorageUnavailable`` in ``exc``'s chain, if any."""
    from paretodet.search.store import StorageUnavailable

    return next((e for e in exception_chain(exc) if isinstance(e, StorageUnavailable)), None)


def _count(study: optuna.Study, state: str) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False) if t.state.name == state)


def _front_size(study: optuna.Study) -> int:
    values = [t.values for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and t.values]
    if not values:
        return 0
    signs = [1 if d.name == "MAXIMIZE" else -1 for d in study.directions]
    return int(pareto_mask(np.array(values, dtype=float), signs).sum())
