"""`paretodet measure`: re-time built artifacts on another host, then report and select on those figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest

from paretodet.objectives import EvalSettings, InterleavedTiming, LatencySettings, RoundSettings
from paretodet.reports import build_info, select_best
from paretodet.search import SearchConfig, load_trials, run_study
from paretodet.search.artifacts._measure import measure_study
from paretodet.spaces import Candidate, Knob, SearchSpace

FAST = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))
SPACE = SearchSpace(knobs=(Knob("imgsz", choices=(64, 96, 128, 160)), Knob("quant.precision", choices=("fp32",))))
# what `paretodet measure` may import: the artifacts' runtime, not the training stack
_NO_TRAINING_STACK = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision", "ultralytics", "nni", "torch_pruning"):
            raise ImportError(f"{name} is not installed on this target")
        return None
sys.meta_path.insert(0, Refuse())
from paretodet.cli import main
main(sys.argv[1:])
"""


@pytest.fixture(scope="module")
def study_dir(tiny_model: Path, tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("measured")
    _grid_study(tiny_model, tiny_data, work, space=SPACE, trials=4)
    return work


def _grid_study(model: Path, data: Path, work: Path, *, space: SearchSpace, trials: int) -> None:
    """A grid search of ``space`` (no probes, fast timing) in ``work``."""
    config = SearchConfig(
        model=str(model),
        data=data,
        workdir=work,
        trials=trials,
        sampler="grid",
        space=space,
        evaluation=FAST,
        probes=False,
    )
    run_study(config)


def _cli(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    prefix = [sys.executable, "-c", code] if code else [sys.executable, "-m", "paretodet.cli"]
    return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=300)


def test_measure_runs_without_the_training_stack_and_stores_a_label(study_dir: Path) -> None:
    proc = _cli("measure", str(study_dir), "--label", "edge-box", code=_NO_TRAINING_STACK)
    assert proc.returncode == 0, proc.stderr
    assert "timed 4 artifacts" in proc.stdout
    df, manifest = load_trials(study_dir, latency_from="edge-box")
    assert manifest["latency_from"] == "edge-box" and manifest["latency_host"]["runtime"] == "onnxruntime"
    done = df[df["state"] == "COMPLETE"]
    assert done["latency_ms"].notna().all() and (done["fps"] == 1000.0 / done["latency_ms"]).all()


def test_relabelled_latencies_change_the_front(study_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import paretodet.objectives as objectives

    original, _ = load_trials(study_dir)
    info = build_info(original)
    front = set(info.front["number"])
    done = info.complete
    order = sorted(done.loc[done["duplicate_of"].isna(), "number"])  # what measure times, in its order
    dominated = sorted(set(order) - front)
    assert dominated, "the fixture study needs a dominated trial"
    fast_call = order.index(dominated[0])

    def fake(runners, imgszs, *, settings=None, on_round=None):  # the target host: one trial 1000x faster
        table = np.full((6, len(runners)), 10.0)
        table[:, fast_call] = 0.01
        return InterleavedTiming(per_round_ms=table, others_cpu=0.0)

    monkeypatch.setattr(objectives, "time_interleaved", fake)  # where measure_study looks it up
    measure_study(study_dir, label="target")
    relabelled, meta = load_trials(study_dir, latency_from="target")
    new_front = set(build_info(relabelled).front["number"])
    assert dominated[0] in new_front and new_front != front
    assert select_best(relabelled, [], objective="fps").best["number"] == dominated[0]
    # the report says where these latencies come from
    from paretodet.reports import write_report

    paths = write_report(build_info(relabelled), study_dir / "report-target", meta=meta)
    assert "re-timed by 'paretodet measure' as 'target'" in paths["md"].read_text()


def test_front_only_times_only_the_front(study_dir: Path) -> None:
    summary = measure_study(study_dir, label="front", front_only=True)
    info = build_info(load_trials(study_dir)[0])
    assert summary.measured == len(info.front)
    stored = optuna.load_study(study_name="paretodet", storage=f"sqlite:///{study_dir / 'study.db'}").user_attrs
    assert set(stored["latency:front"]["trials"]) == {str(n) for n in info.front["number"]}


def test_measure_errors_are_one_line(study_dir: Path, tmp_path: Path) -> None:
    cases = [
        (("measure", str(tmp_path), "--label", "x"), "holds no paretodet study"),
        (("report", str(study_dir), "--latency-from", "nope"), "no latencies labelled 'nope'"),
        (("select", str(study_dir), "--latency-from", "nope"), "no latencies labelled 'nope'"),
        (
            ("measure", str(tmp_path), "--label", "x", "--storage", "postgresql://u:x@127.0.0.1:1/n", "--study", "s"),
            "cannot open storage",
        ),
        (("measure", str(study_dir), "--label", "bad label!"), "--label"),
    ]  # fmt: skip
    for args, expected in cases:
        proc = _cli(*args)
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), (args, proc.stderr)
        assert expected in lines[0], (args, lines[0])


def test_measure_a_work_dir_copied_to_the_target(study_dir: Path, tmp_path: Path) -> None:
    import shutil

    target = tmp_path / "on-target"
    shutil.copytree(study_dir, target)
    hidden = study_dir.with_name(study_dir.name + "-away")
    study_dir.rename(hidden)  # the build machine's paths do not exist on the target
    try:
        summary = measure_study(target, label="copied")
        assert summary.measured == 4 and summary.skipped == 0
        df, manifest = load_trials(target, latency_from="copied")
        assert manifest["storage"] == f"sqlite:///{target.resolve() / 'study.db'}"
        assert df.loc[df["state"] == "COMPLETE", "latency_ms"].notna().all()
    finally:
        hidden.rename(study_dir)


def test_measure_retimes_each_trial_with_the_hint_it_was_built_with(
    tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    """An OpenVINO study of an f32 trial and one at another hint: `paretodet measure` re-times each with its own
    hint, and the relabelled rows say which (not the first trial's for all)."""
    pytest.importorskip("openvino", reason="the [openvino] extra is not installed")
    from paretodet.runtimes import runtime_spec

    other = next((h for h in runtime_spec("openvino").offered_hints() if h != "f32"), None)
    if other is None:
        pytest.skip("this CPU offers OpenVINO the f32 hint only: no second hint to build a trial with")
    hints = ("f32", other)
    space = SearchSpace(knobs=(Knob("precision_hint", choices=hints),), base=Candidate(imgsz=64, runtime="openvino"))
    _grid_study(tiny_model, tiny_data, tmp_path, space=space, trials=2)
    summary = measure_study(tmp_path, label="target", rounds=RoundSettings(rounds=6, calls=5, warmup=1, settle=0))
    assert summary.measured == 2
    df, _ = load_trials(tmp_path, latency_from="target")
    done = df[df["state"] == "COMPLETE"]
    assert sorted(done["precision_hint"]) == sorted(hints)
    assert (done["runtime_hint"] == done["precision_hint"]).all(), done[["precision_hint", "runtime_hint"]]
    stored = optuna.load_study(study_name="paretodet", storage=f"sqlite:///{tmp_path / 'study.db'}").user_attrs
    timed = stored["latency:target"]["trials"]
    assert {timed[str(n)]["runtime_hint"] for n in done["number"]} == set(hints)
