"""Reference probes: every study measures the unmodified model and each technique alone first, once."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from paretodet.models import get_family, load_detector
from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.search import SearchConfig, run_study, run_worker, study_space
from paretodet.search.study._probes import reference_probes
from paretodet.spaces import VARIANTS, Knob, SearchSpace, fit_to_model, load_space, sample
from tests.conftest import SHARED

V5 = SHARED / "models" / "yolov5n-coco.pt"

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


def _fitted(preset: str, family_name: str, *, nc: int = 80) -> SearchSpace:
    """``preset`` fitted as a search fits it to a trainable model of ``family_name`` (see ``study_space``)."""
    family = get_family(family_name)
    space, _ = fit_to_model(
        load_space(preset).for_techniques(family.techniques),
        train_imgsz=640,
        one_shot_limit=family.one_shot_prune_limit,
        recovered_limit=family.recovered_prune_limit,
        recovery_lr=family.recovery_lr(nc),
        family=family.name,
    )
    return space


@pytest.mark.parametrize("preset", ["quick", "balanced", "thorough"])
@pytest.mark.parametrize("family_name", ["yolov5", "ultralytics"])
@pytest.mark.filterwarnings("ignore:Fixed parameter prune.ratio")  # unlimited: a limit below the range, queued
def test_pruning_probes_stay_within_the_family_limits(preset: str, family_name: str) -> None:
    family = get_family(family_name)
    space = _fitted(preset, family_name)
    probes = {p.name: p for p in reference_probes(space, limit=20)}
    pruned = [p for p in probes.values() if p.candidate.prune.method != "none"]
    assert {p.name for p in pruned} == {"pruning one-shot", "pruning + fine-tuning recovery", "pruning + KD recovery"}
    for probe in pruned:
        prune = probe.candidate.prune
        limit = family.one_shot_prune_limit if not prune.finetune_epochs else family.recovered_prune_limit
        assert limit is None or prune.ratio <= limit + 1e-9, probe.name
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        for limited in (True, False):  # the space itself asks for it (and a probe sampled unlimited is the same)
            study.enqueue_trial(probe.params, user_attrs={"probe": probe.name})
            assert sample(study.ask(), space, limited=limited) == probe.candidate, probe.name
    one_shot = probes["pruning one-shot"].candidate.prune
    recovered = [probes[n].candidate for n in ("pruning + fine-tuning recovery", "pruning + KD recovery")]
    assert one_shot.ratio == family.one_shot_prune_limit  # at the family's measured limit, not the default 0.3
    if family.recovered_prune_limit is not None:
        assert all(c.prune.ratio == family.recovered_prune_limit for c in recovered)
    else:
        assert all(c.prune.ratio == space.base.prune.ratio for c in recovered)
    fitted_lr = family.recovery_lr(80)  # recovery trains at the rate the family's recipe fits (YOLOv5: 1.19e-4)
    assert all(c.prune.lr == (fitted_lr or load_space(preset).base.prune.lr) for c in recovered)
    assert all(c.prune.finetune_epochs > 0 for c in recovered)


def test_an_unfitted_space_probes_pruning_at_its_base_ratio() -> None:
    probes = {p.name: p.candidate for p in reference_probes(load_space("balanced"), limit=20)}
    assert probes["pruning one-shot"].prune.ratio == 0.3 and probes["pruning + KD recovery"].prune.ratio == 0.3


def test_a_categorical_ratio_is_probed_within_the_limit_or_not_at_all() -> None:
    method = Knob("prune.method", choices=("none", "l2"))
    within = SearchSpace(knobs=(method, Knob("prune.ratio", choices=(0.05, 0.1))))
    limited, _ = fit_to_model(within, train_imgsz=None, one_shot_limit=0.1, family="f")
    probes = {p.name: p for p in reference_probes(limited, limit=20)}
    assert probes["pruning one-shot"].candidate.prune.ratio == 0.1
    # a choice above the limit: the space keeps the base ratio (0.3, above it), so no pruning probe asks for it
    above = SearchSpace(knobs=(method, Knob("prune.ratio", choices=(0.1, 0.5))))
    limited, _ = fit_to_model(above, train_imgsz=None, one_shot_limit=0.2, family="f")
    assert not any(p.candidate.prune.method != "none" for p in reference_probes(limited, limit=20))


@pytest.mark.skipif(not V5.is_file(), reason=f"real-model test: {V5} is not on this machine")
def test_a_yolov5_search_probes_pruning_at_its_limits() -> None:
    space, _ = study_space(load_space("balanced"), load_detector(V5))
    probes = {p.name: p.candidate for p in reference_probes(space, limit=20)}
    assert probes["pruning one-shot"].prune.ratio == 0.05  # 0.3 scored 0.0000 mAP on coco128
    assert probes["pruning + fine-tuning recovery"].prune.ratio == 0.1
    assert probes["pruning + KD recovery"].prune.ratio == 0.1


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
