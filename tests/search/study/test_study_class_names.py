"""A search told to ignore the model's class names says so in its notes, manifest, trials and report (issue 35)."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.search import SearchConfig, run_study
from paretodet.spaces import Knob, SearchSpace
from tests.test_cli import run_cli
from tests.test_cli_class_names import STEEL, renamed_data

IGNORING = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30), ignore_class_names=True)


@pytest.mark.slow
def test_a_search_told_to_ignore_class_names_records_it(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steel = renamed_data(tiny_data, tmp_path / "steel" / "data.yaml", STEEL)
    space = SearchSpace(knobs=(Knob("imgsz", choices=(64,)),))
    config = SearchConfig(
        model=str(tiny_model), data=steel, workdir=tmp_path / "w", evaluation=IGNORING, trials=1, space=space
    )
    summary = run_study(config)
    assert summary.completed == 1
    (note,) = [n for n in summary.notes if n.startswith("class names ignored (--ignore-class-names)")]
    assert "'circle'" in note and "'crazing'" in note
    manifest = json.loads((tmp_path / "w" / "paretodet.json").read_text())
    assert manifest["class_names"] == [note]
    study = optuna.load_study(study_name="paretodet", storage=f"sqlite:///{tmp_path / 'w' / 'study.db'}")
    (trial,) = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    assert trial.user_attrs["metrics"]["class_names_check"] == "ignored"
    code, _, _ = run_cli(["report", str(tmp_path / "w")], capsys)
    assert code == 0 and f"class names: {note}" in (tmp_path / "w" / "report" / "report.md").read_text()
