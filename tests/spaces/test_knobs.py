"""The knob registry: every knob declared once feeds a stage, and what derives from it is unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from paretodet.errors import ConfigError
from paretodet.spaces import (
    STAGES,
    Candidate,
    Knob,
    SearchSpace,
    check_specs,
    inactive_knobs,
    knob,
    knob_specs,
    load_space,
    stage_knobs,
    techniques_used,
)
from paretodet.spaces._knobs import collect_specs

# each stage's cache key as it was written out by hand before the registry: these sets must never change
# without intent (a changed set invalidates every cached stage of every work dir)
STAGE_KEYS: dict[str, set[str]] = {
    "student": {
        "imgsz",
        "distill.student_width",
        "distill.student_depth",
        "distill.student_yaml",
        "distill.teacher",
        "distill.init",
        "distill.temperature",
        "distill.alpha",
        "distill.feature_weight",
        "distill.epochs",
        "distill.lr",
    },
    "prune": {"prune.method", "prune.ratio", "prune.backbone_ratio", "prune.neck_ratio", "prune.skip"},
    "recover": {
        "prune.method",
        "prune.ratio",
        "prune.backbone_ratio",
        "prune.neck_ratio",
        "prune.skip",
        "imgsz",
        "prune.finetune_epochs",
        "prune.lr",
        "distill.temperature",
        "distill.alpha",
        "distill.feature_weight",
        "distill.teacher",
    },
    "export": {"imgsz", "runtime", "quant.precision"},
    "calibration": {"imgsz", "quant.calibration", "quant.calib_images"},
    "int8": {
        "imgsz",
        "quant.calibration",
        "quant.calib_images",
        "quant.per_channel",
        "quant.fp_layers",
        "quant.qat_epochs",
        "quant.engine",  # added with runtimes (issue 16): keyed only off its default (qdq)
        "quant.max_drop",
    },
    "qat": {"imgsz", "quant.per_channel", "quant.fp_layers", "quant.qat_epochs"},
    "convert": {"runtime", "precision_hint"},
}
RICH = {
    "imgsz": 256,
    "quant.precision": "int8",
    "quant.fp_layers": 2,
    "quant.qat_epochs": 1,
    "prune.method": "l2",
    "prune.ratio": 0.4,
    "prune.finetune_epochs": 5,
    "distill.student_width": 0.5,
    "distill.alpha": 0.5,
}


def test_every_knob_feeds_a_known_stage_and_every_stage_is_fed() -> None:
    specs = knob_specs()
    check_specs(specs)
    for name, spec in specs.items():
        assert spec.stages and set(spec.stages) <= set(STAGES), name
    assert {s for spec in specs.values() for s in spec.stages} == set(STAGES)


def test_a_knob_that_feeds_no_stage_fails_the_check() -> None:
    @dataclass(frozen=True)
    class Extra:
        bits: int = knob(8, help="weight bits", stages=(), choices=(4, 8))

    @dataclass(frozen=True)
    class Typo:
        bits: int = knob(8, help="weight bits", stages=("int9",), choices=(4, 8))

    @dataclass(frozen=True)
    class Loose:
        bits: int = 8

    specs = dict(knob_specs())
    with pytest.raises(ValueError, match=r"knob 'extra\.bits' feeds no stage"):
        check_specs({**specs, **collect_specs(Extra, "extra.")})
    with pytest.raises(ValueError, match="unknown stage 'int9'"):
        check_specs({**specs, **collect_specs(Typo, "typo.")})
    with pytest.raises(TypeError, match="neither a knob"):
        collect_specs(Loose)
    with pytest.raises(ValueError, match="stage 'export' is fed by no knob"):
        check_specs({k: v for k, v in specs.items() if "export" not in v.stages})


def test_a_bad_declaration_fails_the_check() -> None:
    @dataclass(frozen=True)
    class Bad:
        ratio: float = knob(2.0, help="out of its own bounds", stages=("prune",), low=0.0, high=1.0)
        width: float = knob(1.0, help="no bounds", stages=("student",))
        on: str = knob("no", help="switch of nothing", stages=("export",), switch=True)

    with pytest.raises(ValueError) as info:
        check_specs(collect_specs(Bad))
    message = str(info.value)
    assert "its default is not allowed" in message and "no choices nor low/high" in message
    assert "switch of no technique" in message


def test_stage_keys_are_the_same_sets_as_before() -> None:
    assert {s: set(stage_knobs(s)) for s in STAGES} == STAGE_KEYS
    with pytest.raises(ValueError, match="unknown stage"):
        stage_knobs("quantize")


def test_stage_hashes_are_pinned() -> None:
    # values computed with the hand-written key tuples before the registry existed: existing caches stay valid
    rich = Candidate.from_dict(RICH)
    assert {s: rich.stage_hash(stage_knobs(s), salt="m") for s in STAGES} == {
        "student": "e9c7291e88c8a5a5",
        "prune": "715ceac30532c048",
        "recover": "3d3b6184a44f587f",
        "export": "c94d064c681c9a10",
        "calibration": "5c28fe0910570210",
        "int8": "2f09310c9934f484",
        "qat": "34a588ca07443b5a",
        "convert": "b30aa356bb135da1",
    }
    # a knob added later keeps those keys at its default and splits them otherwise
    with_cwd = Candidate.from_dict({**RICH, "distill.feature_weight": 1.0})
    assert with_cwd.stage_hash(stage_knobs("student"), salt="m") != "e9c7291e88c8a5a5"
    assert with_cwd.stage_hash(stage_knobs("export"), salt="m") == "c94d064c681c9a10"
    assert Candidate().stage_hash(stage_knobs("export"), salt="m") == "ac6e40e8f3806d71"
    assert Candidate().stage_hash(stage_knobs("recover"), salt="m") == "ab72f8622a248fb9"
    assert rich.config_key() == "87c6d552d936f26c" and Candidate().config_key() == "b7375c9dff810034"


@pytest.mark.parametrize(
    ("values", "inactive"),
    [
        (
            {},
            {
                "precision_hint",
                "quant.engine",
                "quant.max_drop",
                "quant.calibration",
                "quant.calib_images",
                "quant.per_channel",
                "quant.fp_layers",
                "quant.qat_epochs",
                "prune.ratio",
                "prune.backbone_ratio",
                "prune.neck_ratio",
                "prune.skip",
                "prune.finetune_epochs",
                "prune.lr",
                "distill.init",
                "distill.epochs",
                "distill.lr",
                "distill.alpha",
                "distill.temperature",
                "distill.feature_weight",
            },
        ),
        (RICH, {"precision_hint", "quant.max_drop"}),
        (
            {"prune.method": "l2", "distill.alpha": 0.5},
            {
                "precision_hint",
                "quant.engine",
                "quant.max_drop",
                "quant.calibration",
                "quant.calib_images",
                "quant.per_channel",
                "quant.fp_layers",
                "quant.qat_epochs",
                "prune.lr",
                "distill.init",
                "distill.epochs",
                "distill.lr",
                "distill.alpha",
                "distill.temperature",
                "distill.feature_weight",
            },
        ),
        (
            {"quant.precision": "int8", "prune.method": "level", "prune.finetune_epochs": 3},
            {
                "precision_hint",
                "quant.max_drop",
                "distill.init",
                "distill.epochs",
                "distill.lr",
                "distill.temperature",
                "distill.feature_weight",
            },
        ),
        (
            {"quant.precision": "int8", "distill.student_yaml": "s.yaml"},
            {
                "precision_hint",
                "quant.max_drop",
                "prune.ratio",
                "prune.backbone_ratio",
                "prune.neck_ratio",
                "prune.skip",
                "prune.finetune_epochs",
                "prune.lr",
                "distill.temperature",
                "distill.feature_weight",
            },
        ),
    ],
)
def test_inactive_knobs_as_before(values: dict, inactive: set[str]) -> None:
    assert inactive_knobs(Candidate.from_dict(values).to_dict()) == inactive
    assert inactive_knobs(values) == inactive  # missing knobs count as their defaults


def test_nan_in_a_partial_row_counts_as_set_like_before() -> None:
    # report rows hold NaN for knobs a trial did not record: inactive_knobs never treated NaN as a default
    row = {"prune.method": "l2", "prune.finetune_epochs": float("nan")}
    assert "prune.lr" not in inactive_knobs(row) and "distill.alpha" not in inactive_knobs(row)


@pytest.mark.parametrize(
    ("values", "training", "techniques"),
    [
        ({}, [], set()),
        ({"quant.precision": "fp16"}, [], {"quant"}),
        ({"quant.qat_epochs": 3}, [], set()),  # QAT epochs of an FP32 candidate have no effect
        (RICH, ["quant.qat_epochs", "prune.finetune_epochs", "distill.student_width"], {"quant", "prune", "distill"}),
        ({"prune.method": "taylor"}, [], {"prune"}),
        ({"distill.student_yaml": "s.yaml"}, ["distill.student_yaml"], {"distill"}),
    ],
)
def test_training_knobs_and_techniques_as_before(values: dict, training: list[str], techniques: set[str]) -> None:
    cand = Candidate.from_dict(values)
    assert cand.training_knobs() == training
    assert cand.techniques() == techniques == techniques_used(values)
    assert cand.distill.has_student() == ("distill" in techniques)


def test_without_training_drops_training_knobs_and_knobs_that_only_act_in_training() -> None:
    space = load_space("thorough")
    kept = {k.name for k in space.without_training().knobs}
    dropped = {k.name for k in space.knobs} - kept
    assert dropped == {k.name for k in space.knobs if k.name.startswith("distill.")} | {
        "quant.qat_epochs",
        "prune.finetune_epochs",
        "prune.lr",
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"prune.backbone_ratio": 1.5}, r"prune.backbone_ratio must be in \[0, 0.9\] or -1, got 1.5"),
        ({"imgsz": 4128}, r"imgsz must be a multiple of 32 in \[32, 4096\], got 4128"),
        ({"distill.lr": 0.0}, r"distill.lr must be in \(0, 1\], got 0.0"),
        ({"distill.init": "random"}, "distill.init='random' is not one of teacher, scratch"),
    ],
)
def test_validation_comes_from_the_declaration(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Candidate.from_dict(values)
    with pytest.raises(ConfigError, match="is not a int"):
        Candidate(imgsz=320.0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="runtime=torch"):
        Candidate.from_dict({"runtime": "torch", "quant.precision": "fp16"})  # the one cross-knob rule


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "prune.ratio", "low": 0.1, "high": 0.95}, r"prune.ratio must be in \[0, 0.9\], got 0.95"),
        ({"name": "imgsz", "choices": (160, 250)}, "imgsz must be a multiple of 32"),
        ({"name": "prune.method", "choices": ("l2", "fpmg")}, "did you mean 'fpgm'"),
        (
            {"name": "prune.ratio", "choices": (0.3,), "when": (("prune.method", ("l3",)),)},
            "prune.method='l3' is not one of",
        ),
        ({"name": "prune.ratio", "choices": (0.3,), "when": (("prune.methd", ("l2",)),)}, "unknown knob 'prune.methd'"),
    ],
)
def test_space_knobs_are_checked_against_the_declaration(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SearchSpace(knobs=(Knob(**kwargs),))


def test_nested_configs_give_dotted_knob_names() -> None:
    @dataclass(frozen=True)
    class Inner:
        bits: int = knob(8, help="weight bits", stages=("int8",), choices=(4, 8))

    @dataclass(frozen=True)
    class Outer:
        inner: Inner = field(default_factory=Inner)

    assert list(collect_specs(Outer)) == ["inner.bits"]
    assert collect_specs(Outer)["inner.bits"].default == 8
