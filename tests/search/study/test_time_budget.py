"""The time budget: durations, one clock shared by every process of a study, a search that stops when its
budget's search share is spent (verification still runs, inside the budget), training interrupted by it."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest

from paretodet.base import format_duration, parse_duration
from paretodet.errors import ConfigError
from paretodet.search import SearchConfig, load_trials
from paretodet.search.store import BUDGET_ATTR, CLOCK_PREFIX, VERIFY_SHARE, StudyClock, used_seconds
from paretodet.search.study._early_stop import RungWatch, TrialStopped
from paretodet.spaces import Knob, SearchSpace
from tests.test_cli import assert_one_line_error, run_cli


def test_durations_as_people_write_them() -> None:
    assert parse_duration("2h") == 7200
    assert parse_duration("45m") == 2700
    assert parse_duration("90s") == 90
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1.5h") == 5400
    assert parse_duration(" 600 ") == 600
    for bad in ("", "soon", "2 hours", "0s", "h"):
        with pytest.raises(ConfigError, match="--time-budget"):
            parse_duration(bad)
    assert [format_duration(s) for s in (42, 95, 3725)] == ["42s", "1m35s", "1h02m"]


def test_workers_share_one_budget_and_a_gap_is_not_counted() -> None:
    # two workers side by side count their common time once; the night between two runs is not counted
    sessions = {f"{CLOCK_PREFIX}a": [0, 100], f"{CLOCK_PREFIX}b": [50, 150], f"{CLOCK_PREFIX}c": [1000, 1010]}
    assert used_seconds(sessions) == 160
    study = optuna.create_study(directions=["maximize", "maximize", "minimize"])
    study.set_user_attr(f"{CLOCK_PREFIX}earlier", [time.time() - 500, time.time() - 400])  # a killed run
    first, second = StudyClock(study, 1000.0), StudyClock(study, 1000.0)
    assert first.key != second.key and len([k for k in study.user_attrs if k.startswith(CLOCK_PREFIX)]) == 3
    assert 100 <= first.used_s() < 110 and 100 <= second.used_s() < 110
    assert first.search_left_s() == pytest.approx(1000 * (1 - VERIFY_SHARE) - first.used_s(), abs=1)
    assert StudyClock(study, None).search_left_s() == float("inf")


def test_trials_or_a_budget_is_required() -> None:
    with pytest.raises(ConfigError, match="--trials N or --time-budget"):
        SearchConfig(model="m.pt", data=Path("d.yaml"), workdir=Path("w"), trials=None)
    config = SearchConfig(model="m.pt", data=Path("d.yaml"), workdir=Path("w"), trials=None, time_budget_s=60)
    again = SearchConfig.from_stored(config.to_stored(), workdir=Path("w"), storage=None, study="s")
    assert again.trials is None and again.time_budget_s == 60 and again.early_stop


class _SpentClock:
    budget_s = 10.0

    def tick(self, *, force: bool = False) -> None:
        pass

    def search_left_s(self) -> float:
        return -1.0


def test_training_stops_when_the_budget_runs_out() -> None:
    study = optuna.create_study(directions=["maximize", "maximize", "minimize"])
    watch = RungWatch(
        study=study,
        trial=study.ask(),
        clock=_SpentClock(),  # type: ignore[arg-type]
        objectives=["map50_95", "fps", "size_bytes"],
        signs=[1, 1, -1],
        truths=[],
        imgsz=64,
        total_epochs=5,
    )
    with pytest.raises(TrialStopped) as stop:
        watch.after_epoch("recover", 1, 5, None)  # type: ignore[arg-type]
    assert stop.value.info["kind"] == "budget"
    assert stop.value.info["reason"] == "stopped after recover epoch 1: the time budget ran out"


@pytest.mark.slow
def test_search_stops_at_its_budget_and_verification_runs(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = tmp_path / "space.yaml"
    # 15 configs of a few seconds each: more than 8 s can pay for
    space.write_text(
        "knobs:\n  imgsz: {choices: [64, 96, 128, 160, 192]}\n  quant.precision: {choices: [fp32, fp16, int8]}\n"
    )
    work = tmp_path / "w"
    args = ["search", "--model", str(tiny_model), "--data", str(tiny_data), "--workdir", str(work)]
    args += ["--space", str(space), "--threads", "1", "--time-budget", "8s", "--no-probes"]
    start = time.perf_counter()
    code, out, err = run_cli(args, capsys)
    wall = time.perf_counter() - start
    assert code == 0, err
    assert "time budget 8s: the search used" in out
    assert "with the verification:" in out and "of the 8s budget" in out
    trials, meta = load_trials(work)
    measured = trials[(trials["state"] == "COMPLETE") & trials["duplicate_of"].isna()]
    assert 1 <= len(measured) < 15  # the budget, not the space, ended the study
    # no trial started past the search's share; the last one may end past it by at most its own time
    assert meta["time_budget_s"] == 8 and 0 < meta["time_used_s"] <= 8 * (1 - VERIFY_SHARE) + trials["wall_s"].max()
    assert wall < 8 + 60  # the search and its verification, plus loading the model
    study = optuna.load_study(study_name="paretodet", storage=f"sqlite:///{work / 'study.db'}")
    assert study.user_attrs[BUDGET_ATTR] == 8


def test_a_bad_time_budget_is_one_line(tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys) -> None:
    args = ["search", "--model", str(tiny_model), "--data", str(tiny_data), "--workdir", str(tmp_path)]
    code, _, err = run_cli([*args, "--time-budget", "two hours"], capsys)
    assert_one_line_error(code, err, "--time-budget 'two hours' is not a duration")


def test_space_knobs_are_sampled_with_a_budget_alone() -> None:
    space = SearchSpace(knobs=(Knob("imgsz", choices=(64, 96)),))
    config = SearchConfig(model="m", data=Path("d"), workdir=Path("w"), trials=None, time_budget_s=5, space=space)
    assert config.trials is None and config.space.knobs[0].name == "imgsz"
