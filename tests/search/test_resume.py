from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna

from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.search import SearchConfig, run_study


def _completed(db: Path) -> list[optuna.trial.FrozenTrial]:
    if not db.exists():
        return []
    try:
        study = optuna.load_study(study_name="paretodet", storage=f"sqlite:///{db}")
    except KeyError:
        return []
    return [t for t in study.get_trials() if t.state.name == "COMPLETE"]


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
    while time.time() < deadline and len(_completed(work / "study.db")) < 2:
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {t.number: t.values for t in _completed(work / "study.db")}
    assert len(before) >= 2
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
