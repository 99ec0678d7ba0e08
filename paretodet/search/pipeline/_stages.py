"""Model-changing stages of a trial: student (distillation) -> prune -> recovery fine-tune.

Each stage's model is kept under ``workdir/cache/<stage>/<key>/model.pt`` as its family's ordinary
checkpoint (plus sidecar), in a cache entry (built whole, verified when reused: see ``search.pipeline._cache``), keyed
by a hash of the knobs it depends on plus the digests of its input model and the data; a stage that trains
(student, recovery) also keys how it trains: its family's training recipe and the trainer's package versions.
The detector a stage returns carries that key as its digest, so every downstream stage (export, INT8) is keyed
by the whole chain.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from paretodet.base import file_digest, stable_hash
from paretodet.compress import export_artifact, prune_model
from paretodet.data import DatasetInfo, dataset_digest
from paretodet.models import (
    Detector,
    KDSettings,
    StudentSpec,
    TrainRecipe,
    check_same_classes,
    get_family,
    load_detector,
)
from paretodet.search.pipeline._cache import CacheLog, building
from paretodet.spaces import Candidate, DistillConfig, stage_knobs

__all__ = [
    "DISTILL_KNOBS",
    "PRUNE_KNOBS",
    "RECOVER_KNOBS",
    "EpochProgress",
    "StageContext",
    "TrainingWatch",
    "check_teacher_classes",
    "transformed_detector",
]

EpochProgress = Callable[[int, int], None]


class TrainingWatch(Protocol):
    """What watches a candidate's training (the study's early stopping and time budget): told after each epoch
    of each trained stage (``student``, ``recover``, ``qat``) with the model as it is then; it may raise (a
    :class:`~paretodet.errors.ParetodetError` saying why) to stop the build there."""

    def after_epoch(self, stage: str, done: int, total: int, model: Detector) -> None: ...


# each stage's cache key hashes the knobs whose declaration names the stage (paretodet.spaces.stage_knobs)
DISTILL_KNOBS: tuple[str, ...] = stage_knobs("student")
PRUNE_KNOBS: tuple[str, ...] = stage_knobs("prune")
RECOVER_KNOBS: tuple[str, ...] = stage_knobs("recover")
PRUNE_IMGSZ = 320  # input size of pruning's trace and Taylor gradients (independent of the candidate's imgsz)


@dataclass(frozen=True)
class StageContext:
    """What every cached stage of one candidate's build shares.

    Attributes:
        teacher: the searched model (students start from it; recovery may learn from it).
        data: the dataset (training images; its digest salts every stage key).
        log: the build's cache log (the stage cache folder, hits, entries used, repairs), appended to as the
            build goes.
        on_epoch: ``(done, total)`` after each training epoch.
        device: where training runs (``cpu``, ``cuda[:N]``).
        ignore_class_names: a ``distill.teacher`` whose class names differ from the model's teaches by class id
            (``--ignore-class-names``) instead of being refused.
        watch: told after each training epoch (may stop the build).
        untrained: build the candidate's untrained twin: each trained stage's model as it is before training
            (its shape: what latency and size depend on), not trained and not cached.
    """

    teacher: Detector
    data: DatasetInfo
    log: CacheLog
    on_epoch: EpochProgress | None = None
    device: str = "cpu"
    ignore_class_names: bool = False
    watch: TrainingWatch | None = None
    untrained: bool = False

    @functools.cached_property
    def data_salt(self) -> str:
        """The dataset's content digest (a stage trained on other images is another stage)."""
        return dataset_digest(self.data)

    @property
    def cache(self) -> Path:
        """The stage cache folder (``student/``, ``prune/``, ``recover/`` below it)."""
        return self.log.cache


def transformed_detector(
    candidate: Candidate,
    teacher: Detector,
    data: DatasetInfo,
    *,
    log: CacheLog,
    on_epoch: EpochProgress | None = None,
    device: str = "cpu",
    ignore_class_names: bool = False,
    watch: TrainingWatch | None = None,
    untrained: bool = False,
) -> Detector:
    """The model the candidate deploys before export: ``teacher`` itself, or its distilled student, pruned
    and recovered as the candidate says, trained on ``device`` (``watch`` hears each epoch; ``untrained``: the
    twin of the same shape, see :class:`StageContext`). Cache use is recorded in ``log``."""
    ctx = StageContext(teacher, data, log, on_epoch, device, ignore_class_names, watch, untrained)
    detector = teacher
    if candidate.distill.has_student():
        detector = _student(candidate, ctx)
    if candidate.prune.method != "none":
        detector = _pruned(candidate, detector, ctx)
    return detector


def _student(candidate: Candidate, ctx: StageContext) -> Detector:
    kd, teacher = candidate.distill, ctx.teacher
    yaml_path = Path(kd.student_yaml).expanduser() if kd.student_yaml else None
    yaml_salt = file_digest(yaml_path) if yaml_path is not None and yaml_path.is_file() else ""
    recipe = TrainRecipe(epochs=kd.epochs, lr=kd.lr, device=ctx.device)
    salt = f"{teacher.digest}-{ctx.data_salt}-{yaml_salt}{_teacher_salt(kd)}{_recipe_salt(teacher.family, recipe)}"
    key = candidate.stage_hash(DISTILL_KNOBS, salt=salt)
    path = ctx.cache / "student" / key / "model.pt"
    if ctx.log.reuse(path, "student"):
        return _load_stage(path, teacher, key)
    if kd.student_width == kd.student_depth == 1.0 and yaml_path is None and kd.init == "teacher":
        student = copy.deepcopy(teacher.model)  # distill.teacher alone: the searched model learns from it
    else:  # a narrower student, or (init=scratch) the searched architecture from random weights
        spec = StudentSpec(width=kd.student_width, depth=kd.student_depth, yaml=yaml_path, init=kd.init)
        student = get_family(teacher.family).make_student(teacher, spec)
    return _trained_stage(student, candidate, ctx, path=path, key=key, origin=teacher, recipe=recipe)


def _pruned(candidate: Candidate, detector: Detector, ctx: StageContext) -> Detector:
    """The pruned (and, with ``prune.finetune_epochs``, recovered) model."""
    prune = candidate.prune
    stage_salt = f"{detector.digest}-{ctx.data_salt}"  # taylor reads training images
    key = candidate.stage_hash(PRUNE_KNOBS, salt=stage_salt)
    stage_salt += _teacher_salt(candidate.distill)  # recovery may learn from distill.teacher
    pruned_path = ctx.cache / "prune" / key / "model.pt"
    if not ctx.log.reuse(pruned_path, "prune"):
        net, _ = prune_model(detector.model, prune.spec(), imgsz=PRUNE_IMGSZ, data=ctx.data, family=detector.family)
        with building(pruned_path) as staged:
            _save_stage(detector.with_model(net, source=f"{detector.source} (pruned)", digest=key), staged)
        ctx.log.used(pruned_path)
    if not prune.finetune_epochs or ctx.untrained:  # the untrained twin is the one-shot model (its exports shared)
        return _load_stage(pruned_path, detector, key)
    recipe = TrainRecipe(epochs=prune.finetune_epochs, lr=prune.lr, device=ctx.device)
    recover_key = candidate.stage_hash(RECOVER_KNOBS, salt=stage_salt + _recipe_salt(detector.family, recipe))
    recovered_path = ctx.cache / "recover" / recover_key / "model.pt"
    if ctx.log.reuse(recovered_path, "recover"):
        return _load_stage(recovered_path, detector, recover_key)
    pruned = _load_stage(pruned_path, detector, key).model
    return _trained_stage(pruned, candidate, ctx, path=recovered_path, key=recover_key, origin=detector, recipe=recipe)


def _trained_stage(
    model: Any,
    candidate: Candidate,
    ctx: StageContext,
    *,
    path: Path,
    key: str,
    origin: Detector,
    recipe: TrainRecipe,
) -> Detector:
    """Train ``model`` (distilling from the teacher when alpha > 0), keep it at ``path``, reload it; for the
    untrained twin, ``model`` as it is (neither trained nor kept)."""
    if ctx.untrained:
        # its own digest: the files exported from it are cached apart from the trained stage's
        source = f"{origin.source} (untrained {path.parent.parent.name})"
        return origin.with_model(model, source=source, digest=f"{key}-untrained")
    with building(path) as staged:  # the trainer's own files stay in the staging folder's subfolders
        stage = path.parent.parent.name  # student or recover
        trained = _train(model, origin, candidate, ctx, workdir=staged.parent, recipe=recipe, stage=stage)
        source = f"{origin.source} ({path.parent.parent.name})"
        _save_stage(origin.with_model(trained, source=source, digest=key), staged)
    ctx.log.used(path)
    return _load_stage(path, origin, key)


def _train(
    model: Any,
    origin: Detector,
    candidate: Candidate,
    ctx: StageContext,
    *,
    workdir: Path,
    recipe: TrainRecipe,
    stage: str,
) -> Any:
    """Train ``model`` (of ``origin``'s family) on the data at the candidate's imgsz, distilling from the
    teacher (``distill.teacher``, else the searched model) when alpha > 0; ``ctx.watch`` hears each epoch."""
    kd = candidate.distill
    criterion = None
    if kd.alpha > 0:
        source = _distill_teacher(kd.teacher, _teacher_salt(kd)) if kd.teacher else ctx.teacher
        settings = KDSettings(
            temperature=kd.temperature,
            alpha=kd.alpha,
            imgsz=candidate.imgsz,
            feature_weight=kd.feature_weight,
            ignore_class_names=ctx.ignore_class_names,
        )
        check_same_classes(source, names=origin.names, ignore=ctx.ignore_class_names)  # every family's teacher
        family = get_family(origin.family)
        criterion = family.distillation(source, settings)
        family.prepare_distillation(model, source, settings, seed=recipe.seed)
    return get_family(origin.family).finetune(
        model,
        ctx.data,
        imgsz=candidate.imgsz,
        recipe=recipe,
        workdir=workdir,
        on_epoch=epoch_listener(stage, origin, ctx.on_epoch, ctx.watch),
        criterion=criterion,
    )


def epoch_listener(
    stage: str, origin: Detector, on_epoch: EpochProgress | None, watch: TrainingWatch | None
) -> Callable[[int, int, Any], None] | None:
    """The trainer's ``on_epoch(done, total, model)``: progress first, then the watch (which may stop it)."""
    if on_epoch is None and watch is None:
        return None

    def listener(done: int, total: int, model: Any) -> None:
        if on_epoch is not None:
            on_epoch(done, total)
        if watch is not None:
            watch.after_epoch(stage, done, total, origin.with_model(model, source=origin.source, digest=""))

    return listener


def check_teacher_classes(kd: DistillConfig, student: Detector, *, ignore: bool = False) -> None:
    """ConfigError in one line when ``kd.teacher`` (``distill.teacher``) predicts other classes than ``student``
    learns (the data's: ``load_model_and_data`` matched them), in another order included, unless ``ignore``
    (``--ignore-class-names``). Loads the teacher (kept for the stages that train with it).

    Example:
        >>> check_teacher_classes(candidate.distill, detector)  # doctest: +SKIP
    """
    if kd.teacher:
        check_same_classes(_distill_teacher(kd.teacher, _teacher_salt(kd)), names=student.names, ignore=ignore)


@functools.lru_cache(maxsize=2)
def _distill_teacher(source: str, _content: str) -> Detector:
    """The model ``distill.teacher`` names (any family), loaded once per process and file content."""
    return load_detector(source)


def _teacher_salt(kd: DistillConfig) -> str:
    """What a stage key adds for ``distill.teacher``: the content of the file it names (empty when unset)."""
    if not kd.teacher:
        return ""
    path = Path(kd.teacher).expanduser()
    return f"-teacher={file_digest(path) if path.is_file() else kd.teacher}"


def _recipe_salt(family: str, recipe: TrainRecipe) -> str:
    """What a trained stage's key adds for how it trains: its family's training recipe and the versions of the
    packages that train (``DetectorFamily.training_recipe``, the recipe the trainer reads), and the run's batch
    and seed (its epochs and learning rate are knobs; the device is not keyed)."""
    how = {"family": get_family(family).training_recipe(), "batch": recipe.batch, "seed": recipe.seed}
    return f"-recipe={stable_hash(how)[:16]}"


def _save_stage(detector: Detector, path: Path) -> None:
    """Keep a stage's model as its family's ordinary checkpoint (with a sidecar)."""
    export_artifact(detector, path, runtime="torch", imgsz=PRUNE_IMGSZ, precision="fp32")


def _load_stage(path: Path, original: Detector, key: str) -> Detector:
    """Reload a stage's checkpoint (what a user reloading it gets) as a detector keyed by ``key``."""
    loaded = get_family(original.family).load(str(path))
    return original.with_model(loaded.model, source=f"{original.source} ({path.parent.name})", digest=key)
