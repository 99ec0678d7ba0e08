"""Reference probes: every study measures the unmodified model and each technique alone first, once."""

from __future__ import annotations

from pathlib import Path

import optuna

from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.search import SearchConfig, run_study, run_worker
from paretodet.search.study._probes import reference_probes
from paretodet.spaces import VARIANTS, Knob, SearchSpace, load_space

FAST = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))
SMALL = SearchSpace(
    knobs=(
        Knob("imgsz", choices=(64, 96, 128)),
        Knob("quant.precision", choices=("fp32", "fp16", "int8")),
        Knob("quant.calib_images", choices=(4, 8), when=(("quant.precision", ("int8",)),)),
    )
)


def test_probes_follow_the_space() -> None:
    names = [p.name for p in reference_probes(load_space("balanced"), limit=20)]
    assert names == ["original", *VARIANTS]  # one probe per technique variant, named as its table row
    quick = {p.name: p for p in reference_probes(load_space("quick"), limit=20)}
    assert "student (no KD)" not in quick and "INT8 + QAT" not in quick  # the quick space samples neither
    recovery = quick["pruning + fine-tuning recovery"].candidate
    assert recovery.prune.finetune_epochs == 1 and recovery.distill.alpha == 0.0 and recovery.imgsz == 320
    assert len(reference_probes(load_space("balanced"), limit=3)) == 3
    # every probe is expressed in the space's own values (calib_images 4 or 8, never the default 64)
    small = {p.name: p.params for p in reference_probes(SMALL, limit=20)}
    assert small == {
        "original": {"imgsz": 128, "quant.precision": "fp32"},
        "FP16": {"imgsz": 128, "quant.precision": "fp16"},
        "INT8 PTQ": {"imgsz": 128, "quant.precision": "int8", "quant.calib_images": 8},
    }


def test_probes_are_queued_once_across_resume_and_workers(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    config = SearchConfig(
        model=str(tiny_model), data=tiny_data, workdir=tmp_path / "w0", trials=6, space=SMALL, evaluation=FAST
    )
    run_study(config)
    study = optuna.load_study(study_name="paretodet", storage=config.storage_url)
    first = study.get_trials()
    assert [t.user_attrs.get("probe") for t in first[:3]] == ["original", "FP16", "INT8 PTQ"]
    assert all(t.state.name == "COMPLETE" for t in first[:3])
    run_study(SearchConfig(**{**config.__dict__, "trials": 8}))  # a resumed search queues nothing new
    for worker in ("w1", "w2"):  # nor do workers
        run_worker(config.storage_url, "paretodet", workdir=tmp_path / worker, trials=9 if worker == "w1" else 10)
    trials = study.get_trials()
    probes = [t.user_attrs["probe"] for t in trials if "probe" in t.user_attrs]
    assert probes == ["original", "FP16", "INT8 PTQ"]
    assert sum(t.state.name == "COMPLETE" for t in trials) >= 10


def test_probes_can_be_switched_off(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    config = SearchConfig(
        model=str(tiny_model), data=tiny_data, workdir=tmp_path, trials=1, space=SMALL, evaluation=FAST, probes=False
    )
    run_study(config)
    study = optuna.load_study(study_name="paretodet", storage=config.storage_url)
    assert not any("probe" in t.user_attrs for t in study.get_trials())
