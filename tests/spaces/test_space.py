from __future__ import annotations

import optuna
import pytest

from paretodet.errors import ConfigError
from paretodet.spaces import Knob, SearchSpace, default_space, sample


def test_conditional_knob_only_sampled_when_active() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(60):
        trial = study.ask()
        cand = sample(trial, default_space())
        seen.add((cand.runtime, cand.quant.precision))
        assert ("quant.precision" in trial.params) == (cand.runtime in ("onnxruntime", "openvino"))
        assert ("precision_hint" in trial.params) == (cand.runtime == "openvino")
        assert ("quant.engine" in trial.params) == (cand.runtime == "openvino" and cand.quant.precision == "int8")
        qdq = cand.quant.precision == "int8" and cand.quant.engine == "qdq"
        assert ("quant.calibration" in trial.params) == qdq
        study.tell(trial, 0.0)
    assert seen == {
        *(("onnxruntime", p) for p in ("fp32", "fp16", "int8")),
        *(("openvino", p) for p in ("fp32", "fp16", "int8")),
        ("torch", "fp32"),
    }


def test_ranges_sample_within_bounds() -> None:
    space = SearchSpace(knobs=(Knob("imgsz", low=64, high=128, step=32),))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    values = {sample(study.ask(), space).imgsz for _ in range(20)}
    assert values <= {64, 96, 128} and len(values) > 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "imgsize", "choices": (64,)}, "did you mean 'imgsz'"),
        ({"name": "imgsz", "low": 128, "high": 64}, "empty range"),
        ({"name": "imgsz"}, "either"),
        ({"name": "runtime", "choices": ("onnxruntime", 3)}, "is not a str"),
    ],
)
def test_bad_knob(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Knob(**kwargs)


def test_conditions_fall_back_to_the_base_candidate() -> None:
    from paretodet.spaces import Candidate

    space = SearchSpace(
        knobs=(Knob("quant.precision", choices=("fp32", "int8"), when=(("runtime", ("onnxruntime",)),)),),
        base=Candidate(runtime="onnxruntime"),
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    assert {sample(study.ask(), space).quant.precision for _ in range(20)} == {"fp32", "int8"}


def test_pruning_knobs_are_sampled_only_for_pruned_candidates() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    methods = set()
    for _ in range(80):
        trial = study.ask()
        cand = sample(trial, default_space())
        methods.add(cand.prune.method)
        pruned = cand.prune.method != "none"
        assert ("prune.ratio" in trial.params) == pruned
        assert ("prune.lr" in trial.params) == (pruned and cand.prune.finetune_epochs > 0)
        if pruned:
            assert cand.prune.ratio == round(cand.prune.ratio, 6) and 0.1 <= cand.prune.ratio <= 0.6
        study.tell(trial, 0.0)
    assert methods == {"none", "l1", "l2", "fpgm", "taylor", "level"}


def test_distillation_knobs_follow_their_conditions() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    students = kd_recoveries = 0
    for _ in range(120):
        trial = study.ask()
        cand = sample(trial, default_space())
        student = cand.distill.has_student()
        recovering = cand.prune.method != "none" and cand.prune.finetune_epochs > 0
        students += student
        kd_recoveries += recovering and not student and cand.distill.alpha > 0
        assert ("distill.epochs" in trial.params) == student
        assert ("distill.alpha" in trial.params) == (student or recovering)
        assert ("distill.temperature" in trial.params) == (cand.distill.alpha > 0)
        study.tell(trial, 0.0)
    assert students > 20 and kd_recoveries > 3


def test_describe_shows_alternative_conditions() -> None:
    rows = {row["knob"]: row["when"] for row in default_space().describe()}
    assert "or prune.finetune_epochs in [5, 10]" in rows["distill.alpha"]


def test_grid_of_a_space() -> None:
    space = SearchSpace(
        knobs=(
            Knob("imgsz", choices=(160, 320)),
            Knob("prune.ratio", low=0.1, high=0.5, step=0.1),
            Knob("prune.lr", low=1e-4, high=1e-2, log=True),
            Knob("quant.calib_images", low=16, high=64),
        )
    )
    grid = space.grid(points=3)
    assert grid["imgsz"] == [160, 320]
    assert grid["prune.ratio"] == [0.1, 0.3, 0.5]
    assert grid["prune.lr"] == [0.0001, 0.001, 0.01]
    assert grid["quant.calib_images"] == [16, 40, 64]
    study = optuna.create_study(sampler=optuna.samplers.GridSampler(grid, seed=0))
    seen = {(c.imgsz, c.prune.ratio) for c in (sample(study.ask(), space) for _ in range(8))}
    assert len(seen) > 2


def test_a_knob_left_with_one_value_fixes_the_base_to_it() -> None:
    """A single-choice knob (a space file's ``runtime: choices: [openvino]``) is not sampled, but every trial
    takes its value: it used to be dropped, and the trials ran on the base's ONNX Runtime."""
    from paretodet.spaces import Knob, SearchSpace

    space = SearchSpace(knobs=(Knob("runtime", choices=("openvino",)), Knob("imgsz", choices=(64, 96))))
    fitted = space.for_techniques(frozenset({"quant", "prune", "distill", "student"}))
    assert [k.name for k in fitted.knobs] == ["imgsz"] and fitted.base.runtime == "openvino"
    int8_only = SearchSpace(knobs=(Knob("quant.precision", choices=("fp32", "int8")),))
    assert int8_only.for_techniques(frozenset()).base.quant.precision == "fp32"  # int8 needs quant: fp32 left
