"""Cache integrity: damaged entries are found and rebuilt, concurrent builds of one entry never tear it."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from paretodet.data import load_data_yaml
from paretodet.models import load_detector
from paretodet.search import build
from paretodet.search.pipeline._cache import CONTENT, building, check_entry, list_entries, staging_leftovers
from paretodet.spaces import Candidate

INT8 = Candidate.from_dict({"imgsz": 64, "quant.precision": "int8"})


def _int8_entry(result_path: Path) -> Path:
    assert result_path.parent.parent.name == "int8"
    return result_path.parent


@pytest.mark.parametrize("damage", ["truncate", "modify"])
def test_a_damaged_cache_file_is_detected_and_rebuilt(
    damage: str, tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    first = build(INT8, det, data, workdir=tmp_path)
    original = first.artifact.path.read_bytes()
    assert check_entry(_int8_entry(first.artifact.path)).problem is None
    if damage == "truncate":  # as a full disk or a killed copy leaves it
        first.artifact.path.write_bytes(original[: len(original) // 2])
    else:  # same size, same format up to one flipped byte in the weights: only the hash can tell
        flipped = bytearray(original)
        flipped[len(flipped) // 2] ^= 0xFF
        first.artifact.path.write_bytes(bytes(flipped))
    problem = check_entry(_int8_entry(first.artifact.path)).problem
    assert problem is not None and ("truncated" if damage == "truncate" else "modified") in problem
    again = build(INT8, det, data, workdir=tmp_path)
    assert "int8" not in again.cache_hits and "export" in again.cache_hits
    assert len(again.cache_repairs) == 1 and again.cache_repairs[0].startswith("int8/")
    assert again.artifact.path.read_bytes() == original  # rebuilt: the same file as the first build
    assert check_entry(_int8_entry(again.artifact.path)).problem is None
    third = build(INT8, det, data, workdir=tmp_path)
    assert "int8" in third.cache_hits and third.cache_repairs == ()


def test_an_entry_without_content_record_is_rebuilt(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    first = build(Candidate.from_dict({"imgsz": 64}), det, data, workdir=tmp_path)
    (first.artifact.path.parent / CONTENT).unlink()  # an entry written before paretodet hashed entries
    again = build(Candidate.from_dict({"imgsz": 64}), det, data, workdir=tmp_path)
    assert again.cache_hits == () and "no content.json" in again.cache_repairs[0]


def test_a_failed_build_leaves_nothing_the_cache_would_reuse(tmp_path: Path) -> None:
    dest = tmp_path / "cache" / "export" / "k1" / "model.onnx"
    with pytest.raises(OSError, match="No space left"), building(dest) as staged:
        staged.write_bytes(b"half a model")
        raise OSError(28, "No space left on device", str(staged))
    assert not dest.parent.exists() and staging_leftovers(tmp_path / "cache") == []


def _build_entry(dest: str, payload: bytes, start: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    with building(Path(dest)) as staged:
        for _ in range(200):  # a slow writer: many small appends
            with staged.open("ab") as fh:
                fh.write(payload)
        (staged.parent / "model.onnx.json").write_text(f'{{"writer": "{payload[:1].decode()}"}}')


def test_two_processes_building_one_entry_leave_one_whole_entry(tmp_path: Path) -> None:
    dest = tmp_path / "cache" / "export" / "k1" / "model.onnx"
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_build_entry, args=(str(dest), tag * 4096, start)) for tag in (b"a", b"b")]
    for proc in procs:
        proc.start()
    start.set()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0, 0]
    content = dest.read_bytes()
    assert len(content) == 200 * 4096 and len(set(content)) == 1  # one writer's file, never a mix
    sidecar = (dest.parent / "model.onnx.json").read_text()
    assert content[:1].decode() in sidecar  # the sidecar is the same writer's
    assert check_entry(dest.parent).problem is None
    assert list_entries(tmp_path / "cache") == [dest.parent] and staging_leftovers(tmp_path / "cache") == []
    assert not any(name.startswith(".") for name in os.listdir(dest.parent.parent))


def test_prune_keep_front_keeps_only_what_the_front_was_built_from(
    tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    from paretodet.objectives import EvalSettings, LatencySettings
    from paretodet.reports import build_info
    from paretodet.search import SearchConfig, load_trials, prune_cache, run_study, verify_cache
    from paretodet.spaces import Knob, SearchSpace

    space = SearchSpace(knobs=(Knob("imgsz", choices=(64, 96)), Knob("quant.precision", choices=("fp32", "int8"))))
    fast = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))
    config = SearchConfig(
        model=str(tiny_model), data=tiny_data, workdir=tmp_path, evaluation=fast, trials=4, space=space
    )
    run_study(config)
    trials, _ = load_trials(tmp_path, verified=False)
    front = build_info(trials).front
    before = {verify_cache(tmp_path).name(e.entry) for e in verify_cache(tmp_path).entries}
    pruning = prune_cache(tmp_path, keep_front=True)
    after = {verify_cache(tmp_path).name(e.entry) for e in verify_cache(tmp_path).entries}
    assert after < before or len(front) == len(trials)
    assert {r.split(":")[0] for r in pruning.removed} == before - after and pruning.kept == len(after)
    for artifact in front["artifact"]:  # every front artifact is still there, and sound
        path = Path(artifact)
        assert path.is_file() and f"{path.parent.parent.name}/{path.parent.name}" in after
    assert all(e.problem is None for e in verify_cache(tmp_path).entries)
