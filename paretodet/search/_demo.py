"""The offline demo: synthetic data + packaged teacher -> search -> report."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paretodet.errors import ModelError
from paretodet.models import DEMO_DATA_SPEC, demo_teacher_path, train_demo_teacher
from paretodet.reports import build_info, write_report
from paretodet.search._config import SearchConfig
from paretodet.search._sensitivity import load_sensitivity_tables
from paretodet.search._storage import load_trials, param_importances
from paretodet.search._study import StudySummary, TrialEvent, run_study
from paretodet.spaces import SearchSpace, load_space

__all__ = ["DemoResult", "demo_space", "run_demo"]

DEMO_TRIALS = 16


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its outputs."""

    summary: StudySummary
    report: dict[str, Path]
    teacher: Path
    data_yaml: Path


def demo_space() -> SearchSpace:
    """The ``quick`` preset: quantization, pruning with short recovery, KD as the recovery loss (minutes)."""
    return load_space("quick")


def run_demo(
    out: Path,
    *,
    trials: int = DEMO_TRIALS,
    retrain: bool = False,
    seed: int = 0,
    on_stage: Callable[[str], None] | None = None,
    on_trial: Callable[[TrialEvent], None] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Synthesize the demo set, search over the packaged teacher, and write the report under ``out``.

    With ``retrain`` the teacher is first trained again from scratch to a plateau (minutes) and installed.
    """
    from paretodet.data import synthesize

    out = out.resolve()
    stage = on_stage or (lambda _msg: None)
    if retrain:
        stage("training the demo teacher to a plateau (several minutes)")
        teacher = train_demo_teacher(out / "teacher", install=True)
    else:
        teacher = demo_teacher_path()
        if not teacher.is_file():
            raise ModelError(f"packaged teacher missing at {teacher}: run 'paretodet demo --retrain'")
    stage(f"synthesizing demo data ({DEMO_DATA_SPEC.images} train / {DEMO_DATA_SPEC.val_images} val images)")
    data_yaml = synthesize(out / "data", DEMO_DATA_SPEC)
    os.sync()  # flush the 500 new images: disk write-back would compete with the first latency measurements
    config = SearchConfig(
        model=str(teacher),
        data=data_yaml,
        workdir=out / "work",
        trials=trials,
        seed=seed,
        space=demo_space(),
    )
    stage(f"searching {trials} candidates")
    summary = run_study(config, on_trial=on_trial, on_epoch=on_epoch)
    stage("writing the report")
    df, manifest = load_trials(config.workdir)
    paths = write_report(
        build_info(df),
        out / "report",
        title="paretodet demo",
        meta=manifest,
        sensitivity=load_sensitivity_tables(config.workdir),
        importances=param_importances(config.workdir),
    )
    return DemoResult(summary=summary, report=paths, teacher=teacher, data_yaml=data_yaml)
