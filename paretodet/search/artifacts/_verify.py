"""Verify a study's front: re-time its artifacts and the reference in interleaved rounds on one quiet host, and
(when trials were scored on a subset of the val split) score them on the whole split; store the verified
figures with the study, so that ``report`` and ``select`` rank on them (``paretodet verify``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paretodet.errors import StudyError
from paretodet.objectives import RoundSettings, evals_path, paired_change_files
from paretodet.search.store import VERIFIED_ATTR

if TYPE_CHECKING:
    import optuna

    from paretodet.runtimes import Artifact

__all__ = ["VERIFIED_ATTR", "VerifySummary", "verify_study"]

MAX_VERIFIED = 24  # trials re-timed at most: the front, then the next Pareto rank


@dataclass(frozen=True)
class VerifySummary:
    """What verification found: the trials it measured, the front before and after, the full-split rescoring."""

    reference: dict[str, Any]
    verified: list[int]
    front_before: list[int]
    front_after: list[int]
    rounds: int
    full_split: bool

    @property
    def entered(self) -> list[int]:
        """Trials on the verified front that were not on the per-trial front."""
        return sorted(set(self.front_after) - set(self.front_before))

    @property
    def left(self) -> list[int]:
        """Trials on the per-trial front that the verified figures moved off it."""
        return sorted(set(self.front_before) - set(self.front_after))


def verify_study(
    workdir: Path,
    *,
    rounds: RoundSettings | None = None,
    threads: int | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> VerifySummary:
    """Re-time the front, the probes and the next Pareto rank (at most :data:`MAX_VERIFIED` trials) with the
    reference (the original model, FP32, at the space's base input size, on the default runtime) in interleaved
    rounds, and take their paired mAP changes against the reference from their stored per-image matches. When
    the study scored a val subset, verify the front alone and score it on the whole split (the report names
    the trials that scoring moved off the front). Store it all under :data:`VERIFIED_ATTR`. The study is the
    work dir's (its manifest) unless ``storage`` (and ``study_name``, default the manifest's) is given: a URL
    with its password, which the manifest never holds.

    Example:
        >>> summary = verify_study(Path("work"))  # doctest: +SKIP
        >>> summary.left  # doctest: +SKIP
        [7]
    """
    from paretodet.search.artifacts._compare import measure_side_by_side
    from paretodet.search.artifacts._measure import open_study
    from paretodet.search.store import read_manifest
    from paretodet.search.study import SearchConfig

    stage = on_stage or (lambda _text: None)
    manifest = read_manifest(workdir)
    study = open_study(workdir, storage=storage, study=study_name or (manifest["study"] if storage else None))
    stored = study.user_attrs.get("paretodet_config")
    if not stored:
        raise StudyError(f"the study in {workdir} has no stored config: run 'paretodet search' on it first")
    config = SearchConfig.from_stored(stored, workdir=workdir, storage=None, study=manifest["study"])
    stage("opening the reference (original model, FP32)")
    reference, ref_trial = _reference_artifact(config, study, workdir)
    full = config.evaluation.val_images is not None
    trials, front_before = _trials_to_verify(study, exclude=ref_trial, front_only=full)
    artifacts = [reference] + [_artifact_of(t, workdir) for t in trials]
    labels = ["reference"] + [f"trial {t.number}" for t in trials]
    from paretodet.data import load_dataset, split_images

    info = load_dataset(config.data)
    table = measure_side_by_side(
        labels,
        artifacts,
        info,
        rounds=rounds,
        threads=threads or config.evaluation.threads,
        stage=stage,
        on_progress=on_progress,
        score=full,
        nms=config.evaluation.nms,
    )
    whole = split_images(info)
    record = _record(table, trials, reference_trial=ref_trial, full_split=full, save=(whole, config.evaluation.nms))
    if not full:  # paired changes on the images the trials were scored on, from their stored matches
        stage("paired mAP intervals against the reference")
        ref_evals = _reference_evals(reference, ref_trial, config)
        for trial in ([ref_trial] if ref_trial is not None else []) + trials:
            change = paired_change_files(ref_evals, trial.user_attrs.get("metrics", {}).get("evals_file", ""))
            if change is not None:
                figures = record["trials"][str(trial.number)]
                figures.update(
                    {"delta_map50_95": change["delta"], "delta_low": change["low"], "delta_high": change["high"]}
                )
    directions = [1 if d.name == "MAXIMIZE" else -1 for d in study.directions]
    timed = ([ref_trial] if ref_trial is not None else []) + trials
    front_after = _verified_front(record, timed, manifest["objectives"], directions)
    record.update({"front_before": front_before, "front_after": front_after})
    study.set_user_attr(VERIFIED_ATTR, record)
    return VerifySummary(
        reference=record["reference"],
        verified=[t.number for t in timed],
        front_before=front_before,
        front_after=front_after,
        rounds=table.rounds,
        full_split=full,
    )


def _trials_to_verify(
    study: optuna.Study, *, exclude: optuna.trial.FrozenTrial | None, front_only: bool
) -> tuple[list[optuna.trial.FrozenTrial], list[int]]:
    """The trials to verify, at most MAX_VERIFIED: the front's, then (unless ``front_only``: each verified trial
    is then scored on the whole val split, which costs what a trial's scoring saved) the probes' (the technique
    table's rows) and the next Pareto rank's; and the front's trial numbers. The reference trial (``exclude``)
    is timed as the reference."""
    from paretodet.reports import pareto_mask
    from paretodet.search.artifacts._measure import timed_trials

    done = timed_trials(study)
    if not done:
        raise StudyError("the study has no completed trial to verify: run the search first")
    signs = [1 if d.name == "MAXIMIZE" else -1 for d in study.directions]
    values = np.array([t.values for t in done], dtype=float)
    first = pareto_mask(values, signs)
    rest = np.flatnonzero(~first)
    second = np.zeros(len(done), dtype=bool)
    if len(rest):
        second[rest[pareto_mask(values[rest], signs)]] = True
    probes = [t for t in done if t.user_attrs.get("probe")] if not front_only else []
    chosen: dict[int, optuna.trial.FrozenTrial] = {}
    later = [t for t, on in zip(done, second) if on] if not front_only else []
    for trial in [t for t, on in zip(done, first) if on] + probes + later:
        if exclude is None or trial.number != exclude.number:
            chosen.setdefault(trial.number, trial)
    return list(chosen.values())[:MAX_VERIFIED], [t.number for t, on in zip(done, first) if on]


def _artifact_of(trial: optuna.trial.FrozenTrial, workdir: Path) -> Artifact:
    from paretodet.search.artifacts._measure import local_artifact

    artifact = local_artifact(trial.user_attrs["artifact"], workdir)
    if artifact is None:
        raise StudyError(f"the artifact of trial {trial.number} is not on this machine: copy {workdir}/cache here")
    return artifact


def _reference_artifact(
    config: Any, study: optuna.Study, workdir: Path
) -> tuple[Artifact, optuna.trial.FrozenTrial | None]:
    """The original model as an FP32 artifact at the base input size on the default runtime, and the trial that
    built it (None: built now; its export stage is usually cached)."""
    from paretodet.search.pipeline import build, load_model_and_data
    from paretodet.search.store import read_manifest
    from paretodet.spaces import Candidate

    base_imgsz = read_manifest(workdir).get("base_imgsz", config.space.base.imgsz)  # the space fitted to the model
    candidate = Candidate.from_dict({"imgsz": int(base_imgsz)})
    key = candidate.config_key()
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        if trial.state.name == "COMPLETE" and attrs.get("config_key") == key and attrs.get("artifact"):
            return _artifact_of(trial, workdir), trial
    detector, info = load_model_and_data(
        config.model,
        config.data,
        trust_model=config.trust_model,
        weights=config.weights,
        ignore_class_names=config.evaluation.ignore_class_names,
    )
    return build(candidate, detector, info, workdir=workdir).artifact, None


def _reference_evals(reference: Artifact, trial: optuna.trial.FrozenTrial | None, config: Any) -> str:
    """The reference's per-image matches on the images the trials were scored on: its trial's, else scored now."""
    from paretodet.data import load_dataset
    from paretodet.objectives import image_accuracy
    from paretodet.runtimes import open_runner

    stored = (trial.user_attrs.get("metrics") or {}).get("evals_file", "") if trial is not None else ""
    if stored and Path(stored).is_file():
        return str(stored)
    info, settings = load_dataset(config.data), config.evaluation
    truths = settings.truths(info)
    runner = open_runner(reference, threads=settings.threads)
    scored = image_accuracy(runner, info, imgsz=reference.imgsz, truths=truths, nms=settings.nms)
    if scored.evals is None:
        return ""
    path = evals_path(reference.path, [t.path for t in truths], settings.nms)
    scored.evals.save(path)
    return str(path)


def _record(
    table: Any,
    trials: list[optuna.trial.FrozenTrial],
    *,
    reference_trial: optuna.trial.FrozenTrial | None,
    full_split: bool,
    save: tuple[list[Path], Any],
) -> dict[str, Any]:
    """The stored form of a verification: the host, the reference's figures, each trial's (the reference
    trial's too, when a trial built the reference: it competes for the front like the others)."""
    rows = table.rows()
    keep = ["latency_ms", "latency_low_ms", "latency_high_ms", "latency_ratio", "ratio_low", "ratio_high"]
    if full_split:
        keep += ["map50_95", "map50_95_low", "map50_95_high", "map50", "delta_map50_95", "delta_low", "delta_high"]
    timed = ([reference_trial] if reference_trial is not None else []) + trials
    figures = {
        str(t.number): {k: row[k] for k in keep}
        for t, row in zip(timed, rows if reference_trial is not None else rows[1:])
    }
    for row in figures.values():
        row["fps"] = 1000.0 / row["latency_ms"]
    if full_split:  # the whole split's per-image matches, for paired intervals between any two of them
        for trial, item in zip(timed, table.items if reference_trial is not None else table.items[1:]):
            figures[str(trial.number)]["evals_file"] = _save_evals(item, *save)
    if reference_trial is not None and full_split:  # the reference against itself: no change, exactly
        figures[str(reference_trial.number)].update({"delta_map50_95": 0.0, "delta_low": 0.0, "delta_high": 0.0})
    reference = {k: rows[0][k] for k in keep if k in rows[0]}
    reference.update({"imgsz": rows[0]["imgsz"], "trial": reference_trial.number if reference_trial else None})
    return {
        "host": table.host,
        "rounds": table.rounds,
        "others_cpu": table.others_cpu,
        "full_split": full_split,
        "images": table.images,
        "reference": reference,
        "trials": figures,
    }


def _save_evals(item: Any, images: list[Path], nms: Any) -> str:
    """Write a compared item's whole-split matches beside its artifact; return the path ('' if none)."""
    if item.scored is None or item.scored.evals is None:
        return ""
    path = evals_path(item.artifact.path, images, nms)
    item.scored.evals.save(path)
    return str(path)


def _verified_front(
    record: dict[str, Any], trials: list[optuna.trial.FrozenTrial], objectives: list[str], directions: list[int]
) -> list[int]:
    """The front over the verified trials: their verified figures, and their own for what was not re-measured."""
    from paretodet.reports import pareto_mask

    if not trials:
        return []
    rows = [{**t.user_attrs.get("metrics", {}), **record["trials"][str(t.number)]} for t in trials]
    values = np.array([[row.get(m, np.nan) for m in objectives] for row in rows], dtype=float)
    mask = pareto_mask(values, directions)
    return sorted(t.number for t, on in zip(trials, mask) if on)
