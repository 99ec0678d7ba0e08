"""A full disk mid-study: the trial fails with 'no space left on <path>', nothing half-written is left where
the cache would reuse it, and once space is freed the same command finishes the study with the results of a
run that never hit the fault. On a real size-limited tmpfs where this machine allows mounting one, otherwise
with ENOSPC injected into the artifact writer."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from paretodet.errors import StudyError
from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.search import SearchConfig, load_trials, run_study, verify_cache
from paretodet.search.pipeline._cache import staging_leftovers
from paretodet.spaces import Knob, SearchSpace

FAST = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))
SMALL = SearchSpace(knobs=(Knob("imgsz", choices=(64, 96)), Knob("quant.precision", choices=("fp32", "fp16"))))


def _config(model: Path, data: Path, workdir: Path, storage: Path) -> SearchConfig:
    return SearchConfig(
        model=str(model), data=data, workdir=workdir, evaluation=FAST, trials=4, space=SMALL, sampler="random",
        storage=f"sqlite:///{storage}",
    )  # fmt: skip


def _results(workdir: Path) -> dict[str, tuple[float, float]]:
    trials, _ = load_trials(workdir, verified=False)
    done = trials[trials["state"] == "COMPLETE"]
    return {f"{r['imgsz']}-{r['quant.precision']}": (r["map50_95"], r["size_bytes"]) for _, r in done.iterrows()}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A 5 MB tmpfs (None where mounting is not allowed); unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.environ.get("PARETODET_TEST_INJECT_ENOSPC"):  # exercise the injected path where mounting works
        yield None
        return
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_stops_the_study_cleanly_and_it_resumes(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, small_disk: Path | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = tmp_path / "reference"
    run_study(_config(tiny_model, tiny_data, reference, tmp_path / "reference.db"))
    expected = _results(reference)
    assert len(expected) == 4

    workdir = small_disk if small_disk is not None else tmp_path / "w"
    config = _config(tiny_model, tiny_data, workdir, tmp_path / "w.db")  # the study database is elsewhere
    if small_disk is None:  # no tmpfs here: the second artifact write fails as a full disk would
        import paretodet.compress._export as export

        real, calls = export._write_onnx_file, []

        def full_disk(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(1)
            if len(calls) == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(args[3]))
            return real(*args, **kwargs)

        monkeypatch.setattr(export, "_WRITERS", {**export._WRITERS, "onnx": full_disk})
    with pytest.raises(StudyError, match=r"^no space left on .*: free some space") as stopped:
        run_study(config)
    assert str(workdir) in str(stopped.value)
    trials, _ = load_trials(workdir, verified=False)
    failed = trials[trials["state"] == "FAIL"]
    assert len(failed) == 1 and failed["fail_reason"].iloc[0].startswith(f"no space left on {workdir}")
    # nothing half-written where the cache would reuse it
    assert staging_leftovers(workdir / "cache") == []
    assert all(e.problem is None for e in verify_cache(workdir).entries)
    # space is freed: the same command finishes the study, with the results of a run that had no fault
    if small_disk is not None:
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    else:
        monkeypatch.undo()
    summary = run_study(config)
    assert summary.completed == 4
    assert _results(workdir).keys() == expected.keys()
    for key, (map50_95, size) in _results(workdir).items():
        assert map50_95 == pytest.approx(expected[key][0], abs=1e-9) and size == expected[key][1]
