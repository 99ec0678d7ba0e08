"""Verification and comparison: the front and the reference re-timed in interleaved rounds, trials scored on a
val subset re-scored on the whole split, and `compare` putting artifacts side by side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest

from paretodet.data import SHAPE_CLASSES, SynthSpec, synthesize
from paretodet.models import demo_teacher_path
from paretodet.objectives import EvalSettings, LatencySettings, RoundSettings
from paretodet.reports import build_info, pareto_mask, write_report
from paretodet.search import SearchConfig, compare_models, load_trials, run_study, verify_study
from paretodet.search.artifacts._verify import _verified_front
from paretodet.spaces import Knob, SearchSpace

FAST_ROUNDS = RoundSettings(rounds=6, calls=5, warmup=2, settle=1)
SPACE = SearchSpace(knobs=(Knob("imgsz", choices=(64, 96, 128)), Knob("quant.precision", choices=("fp32", "fp16"))))


@pytest.fixture(scope="module")
def val24(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 val images of the demo's shapes."""
    spec = SynthSpec(images=96, seed=11, min_side=160, max_side=224)  # the val split: 96 // 4 = 24 images
    return synthesize(tmp_path_factory.mktemp("val24"), spec, splits=("val",))


@pytest.fixture(scope="module")
def subset_study(val24: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo teacher searched on a 6-image subset of the 24 val images (4 grid trials)."""
    work = tmp_path_factory.mktemp("subset_study")
    evaluation = EvalSettings(threads=1, val_images=6, latency=LatencySettings(warmup=2, runs=30))
    config = SearchConfig(
        model=str(demo_teacher_path()), data=val24, workdir=work, trials=4, sampler="grid", space=SPACE,
        evaluation=evaluation, probes=False,
    )  # fmt: skip
    run_study(config)
    return work


def test_trials_score_the_subset_and_verification_the_whole_split(subset_study: Path) -> None:
    df, _ = load_trials(subset_study, verified=False)
    assert set(df["eval_images"]) == {6}
    assert df["map50_95_low"].notna().all() and (df["map50_95_low"] <= df["map50_95_high"]).all()
    summary = verify_study(subset_study, rounds=FAST_ROUNDS)
    assert summary.full_split and summary.rounds == 6
    df, manifest = load_trials(subset_study)
    verified = df[df["verified"]]
    assert len(verified) == len(summary.verified) >= len(summary.front_before)
    assert manifest["verified"]["images"] == 24
    # whole-split figures replace the subset's, which stay alongside
    assert (verified["trial_map50_95"] != verified["map50_95"]).any()
    assert verified["latency_ratio"].between(0.05, 20).all()
    assert (verified["ratio_low"] <= verified["latency_ratio"]).all()
    # the front is recomputed over the verified figures, and reported with what moved
    info = build_info(df)
    assert sorted(info.front["number"].astype(int)) == summary.front_after
    paths = write_report(info, subset_study / "report", meta=manifest)
    text = paths["md"].read_text()
    assert "front before verification:" in text and "the verified ones on the whole split (24 images)" in text


def test_a_trial_full_split_scoring_moves_off_the_front_is_named() -> None:
    trials = [
        optuna.trial.create_trial(values=[0.50, 100.0, 10.0], user_attrs={"metrics": {}}),
        optuna.trial.create_trial(values=[0.52, 90.0, 10.0], user_attrs={"metrics": {}}),
    ]
    for number, trial in enumerate(trials):
        trial.number = number
    signs = [1, 1, -1]
    assert pareto_mask(np.array([t.values for t in trials]), signs).all()  # both on the per-trial front
    record = {"trials": {"0": {"map50_95": 0.55, "fps": 100.0}, "1": {"map50_95": 0.53, "fps": 90.0}}}
    objectives = ["map50_95", "fps", "size_bytes"]
    for trial in trials:
        trial.user_attrs["metrics"].update({"size_bytes": 10.0})
    assert _verified_front(record, trials, objectives, signs) == [0]  # the whole split moved trial 1 off


def test_compare_items_from_a_study(subset_study: Path, val24: Path) -> None:
    table = compare_models([f"{subset_study}#0", f"{subset_study}#1"], val24, rounds=FAST_ROUNDS, threads=1)
    ref, other = table.rows()
    assert table.images == 24 and table.rounds == 6
    assert ref["latency_ratio"] == 1.0 and np.isnan(ref["delta_map50_95"])
    assert other["delta_low"] <= other["delta_map50_95"] <= other["delta_high"]
    assert other["map50_95_low"] <= other["map50_95"] <= other["map50_95_high"]


def test_compare_json_is_strict_json(subset_study: Path, val24: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The reference row's undefined change is ``null``, not ``NaN`` (which strict parsers reject)."""
    from tests.base.test_json import strict_loads
    from tests.test_cli import run_cli

    args = ["compare", f"{subset_study}#0", f"{subset_study}#1", "--data", str(val24), "--rounds", "6", "--json"]
    code, out, err = run_cli([*args, "--threads", "1"], capsys)
    assert code == 0, err
    ref, other = strict_loads(out)["items"]
    assert ref["delta_map50_95"] is None and isinstance(other["delta_map50_95"], float)


def test_compare_cli_errors_are_one_line(subset_study: Path, val24: Path) -> None:
    for item, wanted in ((f"{subset_study}#x", "must be a trial number"), (f"{subset_study}#99", "no completed")):
        proc = subprocess.run(
            [sys.executable, "-m", "paretodet.cli", "compare", f"{subset_study}#0", item, "--data", str(val24)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode != 0 and wanted in proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_names_match_the_demo_teacher() -> None:
    assert len(SHAPE_CLASSES) > 0  # the val set above uses the demo teacher's classes
