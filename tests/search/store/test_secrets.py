"""No password reaches a file or an output; workers refuse files that differ from the study's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import optuna
import pytest

from paretodet.errors import StudyError
from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.search import SearchConfig, run_study, run_worker
from paretodet.search.store._secrets import STORAGE_ENV, mask_url, real_storage
from paretodet.spaces import Knob, SearchSpace

URL = os.environ.get("PARETODET_TEST_POSTGRES", "")
FAST = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))
SMALL = SearchSpace(knobs=(Knob("imgsz", choices=(64, 96)), Knob("quant.precision", choices=("fp32", "fp16"))))


def _password(url: str) -> str:
    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""


def _distinct_password(url: str) -> bool:
    """A password that appears in nothing else (not the user, database or host name), on a reachable server."""
    from tests.search.study.test_workers import _reachable

    password, parts = _password(url), urlsplit(url) if url else None
    if not password or parts is None or password in f"{parts.username}{parts.path}{parts.hostname}":
        return False
    return _reachable(url)


def test_urls_are_masked_and_unmasked_only_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert mask_url("postgresql://u:s3cret@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert mask_url("postgresql+psycopg://u:p%40ss@db/x") == "postgresql+psycopg://u:***@db/x"
    assert mask_url("sqlite:////tmp/w/study.db") == "sqlite:////tmp/w/study.db"
    assert mask_url("postgresql://u@db/x") == "postgresql://u@db/x"
    monkeypatch.delenv(STORAGE_ENV, raising=False)
    with pytest.raises(StudyError, match=STORAGE_ENV):
        real_storage("postgresql://u:***@db/x")
    monkeypatch.setenv(STORAGE_ENV, "postgresql://u:s3cret@db/x")
    assert real_storage("postgresql://u:***@db/x") == "postgresql://u:s3cret@db/x"
    monkeypatch.setenv(STORAGE_ENV, "postgresql://other:s3cret@db/x")  # another URL is not used
    with pytest.raises(StudyError):
        real_storage("postgresql://u:***@db/x")


@pytest.mark.skipif(
    not _distinct_password(URL), reason="needs PostgreSQL with a distinctive password (.ci/run sets one)"
)
def test_no_password_in_any_file_or_output(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    password = _password(URL)
    study = f"secret-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k != STORAGE_ENV}
    with_env = {**env, STORAGE_ENV: URL}
    py = [sys.executable, "-m", "paretodet.cli"]
    runs = [
        ([*py, "search", "--model", str(tiny_model), "--data", str(tiny_data), "--storage", URL, "--study", study,
          "--trials", "2", "--workdir", str(tmp_path / "w0"), "--threads", "1"], env),
        ([*py, "worker", "--study", study, "--trials", "3", "--workdir", str(tmp_path / "w1")], with_env),
        ([*py, "report", str(tmp_path / "w0")], with_env),
        ([*py, "report", str(tmp_path / "w1")], with_env),
        ([*py, "select", str(tmp_path / "w0"), "--budget", "size_mb<=100", "--export", str(tmp_path / "chosen")],
         with_env),
        ([*py, "select", str(tmp_path / "w0"), "--json"], with_env),
    ]  # fmt: skip
    try:
        outputs = []
        for cmd, cmd_env in runs:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=cmd_env)
            assert proc.returncode == 0, (cmd[3], proc.stderr[-2000:])
            outputs.append(proc.stdout + proc.stderr)
        assert "***" in outputs[0]  # the search shows its storage, masked
        # without the password, a report of that work dir says how to give it, in one line
        proc = subprocess.run([*py, "report", str(tmp_path / "w0")], capture_output=True, text=True, env=env)
        assert proc.returncode == 2 and STORAGE_ENV in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        outputs.append(proc.stdout + proc.stderr)
        for output in outputs:
            assert password not in output
        written = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert len(written) > 20
        for path in written:
            assert password.encode() not in path.read_bytes(), path
        stored = optuna.load_study(study_name=study, storage=URL)
        assert password not in repr(stored.user_attrs)
        assert all(password not in repr(t.user_attrs) for t in stored.get_trials())
    finally:
        optuna.delete_study(study_name=study, storage=URL)


def test_a_worker_refuses_a_replaced_model_or_data(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    from paretodet.data import SHAPE_CLASSES
    from paretodet.testing import tiny_checkpoint

    model = tmp_path / "model.pt"
    shutil.copy(tiny_model, model)
    data_dir = tmp_path / "data"
    shutil.copytree(tiny_data.parent, data_dir)
    config = SearchConfig(
        model=str(model),
        data=data_dir / tiny_data.name,
        workdir=tmp_path / "w0",
        trials=1,
        space=SMALL,
        evaluation=FAST,
    )
    run_study(config)
    tiny_checkpoint(model, names=SHAPE_CLASSES, seed=9)  # someone replaces the shared file
    with pytest.raises(StudyError, match="is not the model study 'paretodet' was started with"):
        run_worker(config.storage_url, "paretodet", workdir=tmp_path / "w1", trials=2)
    shutil.copy(tiny_model, model)
    yaml_path = data_dir / tiny_data.name
    yaml_path.write_text(yaml_path.read_text() + "\n# edited\n")
    with pytest.raises(StudyError, match="is not the data YAML"):
        run_worker(config.storage_url, "paretodet", workdir=tmp_path / "w1", trials=2)


def test_a_trusted_study_needs_each_worker_to_opt_in(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    config = SearchConfig(
        model=str(tiny_model),
        data=tiny_data,
        workdir=tmp_path / "w0",
        trials=1,
        space=SMALL,
        evaluation=FAST,
        trust_model=True,
        probes=False,
    )
    run_study(config)
    with pytest.raises(StudyError, match="--trust-model"):
        run_worker(config.storage_url, "paretodet", workdir=tmp_path / "w1", trials=2)
    assert (
        run_worker(config.storage_url, "paretodet", workdir=tmp_path / "w1", trials=2, trust_model=True).completed == 2
    )
