"""Two workers on one PostgreSQL study (needs a server: .ci/run starts one and sets PARETODET_TEST_POSTGRES)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import optuna
import pytest

URL = os.environ.get("PARETODET_TEST_POSTGRES", "")


def _reachable(url: str) -> bool:
    if not url:
        return False
    try:
        import psycopg

        psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
    except Exception:
        return False
    return True


needs_postgres = pytest.mark.skipif(
    not _reachable(URL), reason="no PostgreSQL server: set PARETODET_TEST_POSTGRES (.ci/run starts one)"
)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "paretodet.cli", *args]


@needs_postgres
def test_two_workers_share_one_study(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    study_name = f"test-{uuid.uuid4().hex[:8]}"
    space = tmp_path / "space.yaml"
    space.write_text(
        "knobs:\n  imgsz: {choices: [64, 96, 128, 160, 192, 224, 256]}\n  quant.precision: {choices: [fp32, fp16]}\n"
    )
    common = ["--threads", "1"]
    started = subprocess.run(
        _cli(
            "search",
            "--model",
            str(tiny_model),
            "--data",
            str(tiny_data),
            "--storage",
            URL,
            "--study",
            study_name,
            "--trials",
            "1",
            "--workdir",
            str(tmp_path / "w0"),
            "--space",
            str(space),
            "--sampler",
            "random",
            *common,
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert started.returncode == 0, started.stderr
    workers = [
        subprocess.Popen(
            _cli(
                "worker", "--storage", URL, "--study", study_name, "--trials", "7", "--workdir", str(tmp_path / f"w{i}")
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (1, 2)
    ]
    for proc in workers:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    try:
        trials = optuna.load_study(study_name=study_name, storage=URL).get_trials()
        done = [t for t in trials if t.state.name == "COMPLETE"]
        assert len(done) >= 7 and all(t.state.name in ("COMPLETE", "FAIL", "PRUNED") for t in trials)
        assert len({t.number for t in trials}) == len(trials)  # none lost
        measured = [t.user_attrs["config_key"] for t in done if "duplicate_of" not in t.user_attrs]
        assert len(set(measured)) == len(measured)  # no config was built twice
        pids = {t.user_attrs["worker"] for t in done}
        assert len(pids) == 3  # the starting search and both workers ran trials
        for t in done:
            assert Path(t.user_attrs["artifact"]["path"]).is_file()
        # the report of any work dir is built from the shared study
        env = {**os.environ, "PARETODET_STORAGE": URL}  # the work dir records the URL without its password
        report = subprocess.run(
            _cli("report", str(tmp_path / "w1")), capture_output=True, text=True, timeout=300, env=env
        )
        assert report.returncode == 0, report.stderr
        rows = (tmp_path / "w1" / "report" / "trials.csv").read_text().strip().splitlines()
        assert len(rows) == len(trials) + 1
    finally:
        optuna.delete_study(study_name=study_name, storage=URL)


def test_unreachable_storage_is_one_clear_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        _cli(
            "worker", "--storage", "postgresql://nobody:x@127.0.0.1:1/none", "--study", "s", "--workdir", str(tmp_path)
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: cannot open storage")
