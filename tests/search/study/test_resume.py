from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import optuna

from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.search import SearchConfig, run_study


def _observed_trials(db: Path) -> list[optuna.trial.FrozenTrial]:
    """The study's trials, read only once the search process has written the whole schema.

    The observer must not race the search process while it creates the database: opening an empty one with
    Optuna writes its schema too.
    """
    if not db.exists():
        return []
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            ready = conn.execute("SELECT count(*) FROM studies WHERE study_name = 'paretodet'").fetchone()[0]
            ready = ready and conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0]
    except sqlite3.Error:
        return []
    if not ready:
        return []
    return optuna.load_study(study_name="paretodet", storage=f"sqlite:///{db}").get_trials()


def _running_with_params(db: Path) -> bool:
    """A trial is RUNNING with its whole candidate sampled (killed mid-build, not between two suggestions)."""
    return any(t.state.name == "RUNNING" and "candidate" in t.user_attrs for t in _observed_trials(db))


def _completed(db: Path) -> list[optuna.trial.FrozenTrial]:
    return [t for t in _observed_trials(db) if t.state.name == "COMPLETE"]


def test_kill_9_then_rerun_loses_no_completed_trial(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    work = tmp_path / "w"
    cmd = [
        sys.executable,
        "-m",
        "paretodet.cli",
        "search",
        "--model",
        str(tiny_model),
        "--data",
        str(tiny_data),
        "--trials",
        "30",
        "--workdir",
        str(work),
        "--threads",
        "1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 180
    db = work / "study.db"
    while time.time() < deadline and not (len(_completed(db)) >= 2 and _running_with_params(db)):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {t.number: t.values for t in _completed(work / "study.db")}
    assert len(before) >= 2
    killed = optuna.load_study(study_name="paretodet", storage=f"sqlite:///{work / 'study.db'}")
    interrupted = {t.number: t.params for t in killed.get_trials() if t.state.name == "RUNNING"}
    assert interrupted
    summary = run_study(
        SearchConfig(
            model=str(tiny_model),
            data=tiny_data,
            workdir=work,
            trials=len(before) + 2,
            evaluation=EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30)),
        )
    )
    after = {t.number: t.values for t in _completed(work / "study.db")}
    assert summary.completed == len(before) + 2
    assert all(after[n] == v for n, v in before.items())
    # the trial the kill interrupted is FAIL with its reason, and its candidate ran again
    resumed = optuna.load_study(study_name="paretodet", storage=f"sqlite:///{work / 'study.db'}").get_trials()
    for number, params in interrupted.items():
        assert resumed[number].state.name == "FAIL" and "interrupted" in resumed[number].user_attrs["fail_reason"]
        again = [t for t in resumed if t.user_attrs.get("requeued_from") == number]
        # queued again with its candidate: run, or still waiting behind the study's pending reference probes
        assert again and (again[0].params or again[0].system_attrs["fixed_params"]) == params
