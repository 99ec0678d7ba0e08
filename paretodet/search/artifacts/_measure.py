"""Re-time built artifacts on the machine this runs on (the deployment target), labelled with that host.

Only the artifacts' runtime is needed here (ONNX Runtime for ``.onnx`` artifacts): this module and what it
imports stay free of torch and Ultralytics. Results are stored with the study, under ``latency:<label>``
in the study's user attributes, so ``report --latency-from LABEL`` and ``select --latency-from LABEL`` on
any machine that opens the study use them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretodet.errors import StudyError

if TYPE_CHECKING:
    import optuna

    from paretodet.objectives import RoundSettings

from paretodet.search.store import LATENCY_PREFIX

__all__ = ["MeasureSummary", "local_artifact", "measure_study", "open_study", "timed_trials"]

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class MeasureSummary:
    """What ``measure_study`` did: how many artifacts it timed, where, under which label."""

    label: str
    measured: int
    skipped: int
    host: dict[str, Any]


def measure_study(
    workdir: Path,
    *,
    label: str,
    storage: str | None = None,
    study: str | None = None,
    front_only: bool = False,
    threads: int | None = None,
    rounds: RoundSettings | None = None,
    on_round: Callable[[int, int], None] | None = None,
) -> MeasureSummary:
    """Re-time the completed trials' artifacts here in interleaved rounds (each round under the host-wide
    timing lock, every artifact once per round, see ``objectives.time_interleaved``), and store the figures
    (median over rounds, with its 95% interval) with the study under ``label``.

    The study is the work dir's (its manifest) unless ``storage`` and ``study`` are given. An artifact path
    that does not exist here is looked up under ``workdir`` by its path below ``cache/`` (a work dir copied
    to the target). ``threads`` defaults to the study's own evaluation threads. ``on_round(done, total)``
    reports progress.

    Example:
        >>> measure_study(Path("work"), label="jetson", front_only=True)  # doctest: +SKIP
    """
    import numpy as np

    from paretodet.base import timing_host
    from paretodet.objectives import time_interleaved
    from paretodet.runtimes import open_runner, runtime_entry

    if not _LABEL.match(label):
        raise StudyError(f"--label '{label}' must be 1-64 letters, digits, '.', '_' or '-'")
    opened = open_study(workdir, storage=storage, study=study)
    stored = opened.user_attrs.get("paretodet_config") or {}
    evaluation = stored.get("evaluation") or {}
    use_threads = threads or int(evaluation.get("threads", stored.get("threads", 2)))
    trials = timed_trials(opened, front_only=front_only)
    if not trials:
        raise StudyError(f"the study in {workdir} has no completed trial to measure: run the search first")
    key = f"{LATENCY_PREFIX}{label}"
    present = [(t, a) for t in trials if (a := local_artifact(t.user_attrs["artifact"], workdir)) is not None]
    if not present:
        raise StudyError(f"none of the {len(trials)} artifacts exists here: copy the work dir (cache/) first")
    runners = [open_runner(a, threads=use_threads) for _, a in present]
    timing = time_interleaved(runners, [a.imgsz for _, a in present], settings=rounds, on_round=on_round)
    first = present[0][1]
    host = timing_host(
        runtime=first.runtime,
        package=runtime_entry(first.runtime).package,
        threads=use_threads,
        precision_hint=getattr(runners[0], "precision_hint", ""),
        provider=getattr(runners[0], "provider", ""),
    )
    record: dict[str, Any] = {"host": host.to_dict(), "rounds": timing.rounds, "trials": {}}
    for index, ((trial, artifact), runner) in enumerate(zip(present, runners)):
        latency = timing.latency(index)
        record["trials"][str(trial.number)] = {
            "latency_ms": latency.median,
            "latency_low_ms": latency.low,
            "latency_high_ms": latency.high,
            "latency_p90_ms": float(np.percentile(timing.per_round_ms[:, index], 90)),
            "latency_cv": timing.cv(index),
            "fps": 1000.0 / latency.median,
            "runtime_version": timing_host(
                runtime=artifact.runtime, package=runtime_entry(artifact.runtime).package, threads=use_threads
            ).runtime_version,
            "runtime_hint": getattr(runner, "precision_hint", ""),
            "provider": getattr(runner, "provider", ""),
            "timing_others_cpu": timing.others_cpu,
        }
    opened.set_user_attr(key, record)
    return MeasureSummary(label=label, measured=len(present), skipped=len(trials) - len(present), host=record["host"])


def open_study(workdir: Path, *, storage: str | None, study: str | None) -> optuna.Study:
    import optuna

    from paretodet.search.store import open_storage, open_workdir_study

    if storage is None:
        return open_workdir_study(workdir)[0]
    if not study:
        raise StudyError("--storage needs --study NAME as well")
    try:
        return optuna.load_study(study_name=study, storage=open_storage(storage))
    except KeyError:
        raise StudyError(f"no study '{study}' in this storage: check --study") from None


def timed_trials(study: optuna.Study, *, front_only: bool = False) -> list[optuna.trial.FrozenTrial]:
    """Completed trials with an artifact (one per artifact file), optionally only the Pareto front's."""
    import numpy as np

    from paretodet.reports import pareto_mask

    done = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state.name == "COMPLETE"
        and t.values
        and t.user_attrs.get("artifact")
        and "duplicate_of" not in t.user_attrs  # a duplicate shares its original's artifact
    ]
    if front_only and done:
        signs = [1 if d.name == "MAXIMIZE" else -1 for d in study.directions]
        mask = pareto_mask(np.array([t.values for t in done], dtype=float), signs)
        done = [t for t, on in zip(done, mask) if on]
    return done


def local_artifact(stored: dict[str, Any], workdir: Path) -> Any:
    """The stored artifact with a path that exists here (as stored, or under ``workdir``), else None."""
    from paretodet.runtimes import Artifact

    artifact = Artifact.from_dict(stored)
    if artifact.path.is_file():
        return artifact
    parts = artifact.path.parts
    if "cache" in parts:
        moved = workdir.joinpath(*parts[len(parts) - parts[::-1].index("cache") - 1 :])
        if moved.is_file():
            return Artifact.from_dict({**stored, "path": str(moved)})
    return None
