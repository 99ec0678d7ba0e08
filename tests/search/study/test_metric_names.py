"""A study names its objectives, so Optuna's own tools (optuna-dashboard, optuna.visualization) can label them."""

from __future__ import annotations

from pathlib import Path

import optuna

from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.search import SearchConfig, run_study
from paretodet.search.study._config import OBJECTIVES
from paretodet.spaces import Knob, SearchSpace

FAST = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))
SMALL = SearchSpace(knobs=(Knob("imgsz", choices=(64,)), Knob("quant.precision", choices=("fp32",))))
NAMES = ["map50_95", "fps", "size_bytes"]


def _config(tiny_model: Path, tiny_data: Path, workdir: Path) -> SearchConfig:
    return SearchConfig(
        model=str(tiny_model), data=tiny_data, workdir=workdir, evaluation=FAST, trials=1, space=SMALL, probes=False
    )


def _load(workdir: Path) -> optuna.Study:
    return optuna.load_study(study_name="paretodet", storage=f"sqlite:///{workdir / 'study.db'}")


def test_new_study_has_metric_names(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    assert [m for m, _ in OBJECTIVES] == NAMES
    run_study(_config(tiny_model, tiny_data, tmp_path))
    study = _load(tmp_path)
    assert study.metric_names == NAMES
    values = study.trials_dataframe(multi_index=True)["values"]  # what Optuna's tables and plots are keyed by
    assert list(values.columns) == NAMES
    trial = study.trials[0]
    assert values["size_bytes"].iloc[0] == trial.user_attrs["metrics"]["size_bytes"]


def test_study_from_an_older_version_gets_metric_names(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    directions = [d for _, d in OBJECTIVES]
    old = optuna.create_study(
        study_name="paretodet", storage=f"sqlite:///{tmp_path / 'study.db'}", directions=directions
    )
    assert old.metric_names is None
    run_study(_config(tiny_model, tiny_data, tmp_path))
    assert _load(tmp_path).metric_names == NAMES
