"""The offline demo: synthetic data + packaged teacher -> search -> report."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paretodet.errors import ModelError
from paretodet.models import DEMO_DATA_SPEC, demo_teacher_path, train_demo_teacher
from paretodet.reports import build_info, write_report
from paretodet.search.artifacts import verify_study
from paretodet.search.pipeline import load_sensitivity_tables
from paretodet.search.store import load_trials, param_importances
from paretodet.search.study import SearchConfig, StudySummary, TrialEvent, run_study
from paretodet.spaces import Knob, SearchSpace, load_space

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
    """The ``quick`` preset with at most 1 recovery epoch: quantization, pruning with short recovery, KD as the
    recovery loss (under 10 minutes on 2 cores; 2-epoch KD recoveries took the demo to 813 s)."""
    space = load_space("quick")
    epochs = next(k for k in space.knobs if k.name == "prune.finetune_epochs")
    return space.with_knobs(dataclasses.replace(epochs, choices=(0, 1)))


def torchvision_demo_space() -> SearchSpace:
    """The ``quick`` preset at the input sizes around the SSDlite teacher's training size (192 px)."""
    space = load_space("quick").with_knobs(Knob("imgsz", choices=(160, 192, 224)))
    return dataclasses.replace(space, base=space.base.replace({"imgsz": 192}))


Stage = Callable[[str], None]
Epochs = Callable[[int, int], None] | None


def _ultralytics_teacher(out: Path, retrain: bool, stage: Stage, on_epoch: Epochs) -> Path:
    """The packaged YOLOv8n (``retrain``: trained again to a plateau and installed)."""
    if retrain:
        stage("training the demo teacher to a plateau (several minutes)")
        return train_demo_teacher(out / "teacher", install=True)
    teacher = demo_teacher_path()
    if not teacher.is_file():
        raise ModelError(f"packaged teacher missing at {teacher}: run 'paretodet demo --retrain'")
    return teacher


def _torchvision_teacher(out: Path, retrain: bool, stage: Stage, on_epoch: Epochs) -> Path:
    """The SSDlite teacher, trained on first use (or with ``retrain``) and kept in the user's cache."""
    from paretodet.search.demo._tv_teacher import torchvision_teacher_path, train_torchvision_teacher

    teacher = torchvision_teacher_path()
    if retrain or not teacher.is_file():
        stage(f"training the torchvision demo teacher (first use: tens of minutes on 2 cores) -> {teacher}")
        train_torchvision_teacher(
            out / "teacher", on_round=lambda r, n, m: stage(f"round {r}/{n}: val mAP50-95 {m:.3f}"), on_epoch=on_epoch
        )
    return teacher


@dataclass(frozen=True)
class DemoTeacher:
    """A family's demo: where its teacher comes from, the layout of its data, the report's title."""

    teacher: Callable[[Path, bool, Stage, Epochs], Path]
    data_format: str
    title: str
    space: Callable[[], SearchSpace]


DEMO_TEACHERS: dict[str, DemoTeacher] = {
    "ultralytics": DemoTeacher(_ultralytics_teacher, "yolo", "paretodet demo", demo_space),
    "torchvision": DemoTeacher(
        _torchvision_teacher, "voc", "paretodet demo (torchvision SSDlite)", torchvision_demo_space
    ),
}


def run_demo(
    out: Path,
    *,
    trials: int = DEMO_TRIALS,
    retrain: bool = False,
    seed: int = 0,
    family: str = "ultralytics",
    on_stage: Callable[[str], None] | None = None,
    on_trial: Callable[[TrialEvent], None] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Synthesize the demo set, search over the demo teacher of ``family``, and write the report under ``out``.

    ``ultralytics``: the packaged YOLOv8n teacher (``retrain``: trained again to a plateau, minutes, and
    installed). ``torchvision``: an SSDlite teacher trained on first use (kept in the user's cache, see
    :mod:`paretodet.search.demo._tv_teacher`), searched on the demo set in the Pascal VOC layout.
    """
    from paretodet.data import synthesize

    if family not in DEMO_TEACHERS:
        raise ModelError(f"the demo has teachers for {', '.join(DEMO_TEACHERS)}, not '{family}'")
    demo = DEMO_TEACHERS[family]
    out = out.resolve()
    stage = on_stage or (lambda _msg: None)
    teacher = demo.teacher(out, retrain, stage, on_epoch)
    spec = DEMO_DATA_SPEC
    stage(f"synthesizing demo data, {demo.data_format} layout ({spec.images} train / {spec.val_images} val images)")
    data_yaml = synthesize(out / "data", spec, format=demo.data_format)
    os.sync()  # flush the 500 new images: disk write-back would compete with the first latency measurements
    return _search_and_report(
        out,
        teacher,
        data_yaml,
        space=demo.space(),
        trials=trials,
        seed=seed,
        title=demo.title,
        stage=stage,
        on_trial=on_trial,
        on_epoch=on_epoch,
    )


def _search_and_report(
    out: Path,
    teacher: Path,
    data_yaml: Path,
    *,
    space: SearchSpace,
    trials: int,
    seed: int,
    title: str,
    stage: Callable[[str], None],
    on_trial: Callable[[TrialEvent], None] | None,
    on_epoch: Callable[[int, int], None] | None,
) -> DemoResult:
    """Search the demo space over ``teacher`` on ``data_yaml`` and write the report under ``out/report``."""
    config = SearchConfig(
        model=str(teacher),
        data=data_yaml,
        workdir=out / "work",
        trials=trials,
        seed=seed,
        space=space,
    )
    stage(f"searching {trials} candidates")
    summary = run_study(config, on_trial=on_trial, on_epoch=on_epoch)
    if summary.completed:
        stage("verifying the front: re-timing it with the original model in interleaved rounds")
        verified = verify_study(config.workdir)
        summary = dataclasses.replace(summary, front_size=len(verified.front_after))  # the report's front
    stage("writing the report")
    df, manifest = load_trials(config.workdir)
    paths = write_report(
        build_info(df),
        out / "report",
        title=title,
        meta=manifest,
        sensitivity=load_sensitivity_tables(config.workdir),
        importances=param_importances(config.workdir),
    )
    return DemoResult(summary=summary, report=paths, teacher=teacher, data_yaml=data_yaml)
