"""Many processes on one study do distinct work: own seed streams, no config built twice, one stored config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from paretodet.objectives import EvalSettings, LatencySettings, NmsSettings
from paretodet.reports import Budget
from paretodet.search import SearchConfig, run_study, run_worker
from paretodet.search.store._liveness import process_seed
from paretodet.spaces import Knob, SearchSpace

FAST = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))
# 7 x 2 = 14 distinct configs
WIDE = SearchSpace(
    knobs=(
        Knob("imgsz", choices=(64, 96, 128, 160, 192, 224, 256)),
        Knob("quant.precision", choices=("fp32", "fp16")),
    )
)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "paretodet.cli", *args]


def _configs(study: optuna.Study) -> list[str]:
    """The config keys of the trials that were really measured."""
    return [
        t.user_attrs["config_key"]
        for t in study.get_trials()
        if t.state.name == "COMPLETE" and "duplicate_of" not in t.user_attrs
    ]


def test_process_seeds_differ_per_process_and_join_point() -> None:
    seeds = {process_seed(0, worker=f"h:{pid}", existing_trials=n) for pid in (1, 2, 3) for n in (0, 5)}
    assert len(seeds) == 6
    assert process_seed(7, worker="h:1", existing_trials=0) == process_seed(7, worker="h:1", existing_trials=0)


def test_single_process_search_is_reproducible(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        config = SearchConfig(
            model=str(tiny_model), data=tiny_data, workdir=tmp_path / name, trials=3, space=WIDE, evaluation=FAST
        )
        summary = run_study(config)
        assert summary.sampler_seed == 0  # the creating process samples with the study's own seed
        study = optuna.load_study(study_name="paretodet", storage=config.storage_url)
        runs.append([t.params for t in study.get_trials()])
    assert runs[0] == runs[1]


def test_a_worker_measures_with_the_stored_settings(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import paretodet.search.study._objective as study_module

    settings = EvalSettings(
        threads=1,
        max_images=3,
        nms=NmsSettings(conf=0.01, iou=0.6, max_det=100),
        latency=LatencySettings(warmup=3, runs=31),
    )
    config = SearchConfig(
        model=str(tiny_model),
        data=tiny_data,
        workdir=tmp_path / "w0",
        trials=1,
        sampler="random",
        seed=5,
        budgets=(Budget.parse("size_mb<=50"),),
        space=WIDE,
        evaluation=settings,
    )
    stored = config.to_stored()
    again = SearchConfig.from_stored(stored, workdir=config.workdir, storage=None, study=config.study)
    assert again == config  # every setting round-trips through the study storage
    run_study(config)
    used = []
    real = study_module.build_and_measure

    def spy(*args, **kwargs):
        used.append(kwargs["settings"])
        return real(*args, **kwargs)

    monkeypatch.setattr(study_module, "build_and_measure", spy)
    summary = run_worker(config.storage_url, config.study, workdir=tmp_path / "w1", trials=2)
    assert summary.completed == 2 and used == [settings]
    study = optuna.load_study(study_name=config.study, storage=config.storage_url)
    joined = [t for t in study.get_trials() if t.state.name == "COMPLETE"][-1]
    assert joined.user_attrs["metrics"]["threads"] == 1 and joined.user_attrs["metrics"]["eval_images"] == 3
    assert joined.constraints == {"size_mb<=50": 0.0}  # the study's budgets
    assert joined.user_attrs["sampler_seed"] not in (0, 5)  # a joining worker has its own seed stream


def test_search_and_two_local_workers_on_sqlite_measure_distinct_configs(
    tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(
        "knobs:\n  imgsz: {choices: [64, 96, 128, 160, 192, 224, 256]}\n  quant.precision: {choices: [fp32, fp16]}\n"
    )
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    started = subprocess.run(
        _cli(
            "search", "--model", str(tiny_model), "--data", str(tiny_data), "--storage", storage, "--study", "s",
            "--trials", "1", "--workdir", str(tmp_path / "w0"), "--space", str(space), "--sampler", "random",
            "--threads", "1",
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    workers = [
        subprocess.Popen(
            _cli("worker", "--storage", storage, "--study", "s", "--trials", "8", "--workdir", str(tmp_path / f"w{i}")),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (1, 2)
    ]
    for proc in workers:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    study = optuna.load_study(study_name="s", storage=storage)
    measured = _configs(study)
    assert len(measured) >= 8 and len(set(measured)) == len(measured)  # no config was built twice
    assert len({t.user_attrs["sampler_seed"] for t in study.get_trials() if "sampler_seed" in t.user_attrs}) == 3
