"""torchvision detectors through the whole pipeline: evaluate, apply (FP16, INT8, pruning with recovery) and
search, on the synthetic set in the Pascal VOC layout (untrained models: the figures are real, not good)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from paretodet.data import SHAPE_CLASSES, SynthSpec, synthesize
from paretodet.errors import ModelError
from paretodet.models import get_family, load_detector
from paretodet.models.torchvision._family import build_torchvision
from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.search import SearchConfig, apply_candidate, run_study
from paretodet.spaces import Candidate, Knob, load_space

SETTINGS = EvalSettings(threads=1, max_images=2, latency=LatencySettings(warmup=1, runs=30))
IMGSZ = 64  # the smallest input these builders take: the figures are real, the test is about the plumbing
BUILDERS = ("ssdlite320_mobilenet_v3_large", "fasterrcnn_mobilenet_v3_large_320_fpn")


@pytest.fixture(scope="module")
def voc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(tmp_path_factory.mktemp("voc"), SynthSpec(images=8, seed=3), format="voc")


@pytest.fixture(scope="module", params=BUILDERS)
def checkpoint(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A paretodet checkpoint of an untrained torchvision detector for the shapes classes."""
    path = tmp_path_factory.mktemp("tv") / f"{request.param}.pt"
    get_family("torchvision").save(build_torchvision(request.param, names=SHAPE_CLASSES), path)
    return path


def _apply(checkpoint: Path, voc: Path, out: Path, **values: object):  # type: ignore[no-untyped-def]
    return apply_candidate(
        str(checkpoint), voc, Candidate.from_dict({"imgsz": IMGSZ, **values}), out, settings=SETTINGS
    )


def test_each_technique_builds_and_measures(checkpoint: Path, voc: Path, tmp_path: Path) -> None:
    assert load_detector(checkpoint).family == "torchvision"
    _, fp32 = _apply(checkpoint, voc, tmp_path / "fp32")
    _, fp16 = _apply(checkpoint, voc, tmp_path / "fp16", **{"quant.precision": "fp16"})
    _, int8 = _apply(checkpoint, voc, tmp_path / "int8", **{"quant.precision": "int8", "quant.calib_images": 2})
    _, pruned = _apply(
        checkpoint,
        voc,
        tmp_path / "pruned",
        **{"prune.method": "l1", "prune.ratio": 0.3, "prune.neck_ratio": 0.0, "prune.finetune_epochs": 1},
    )
    for metrics in (fp32, fp16, int8, pruned):
        assert 0.0 <= metrics.map50_95 <= 1.0 and metrics.latency_ms > 0 and metrics.voc_map50 is not None
    assert 0.4 < fp16.size_bytes / fp32.size_bytes < 0.6
    assert int8.size_bytes / fp32.size_bytes < 0.35
    # 30% of the backbone's channels (FPN width kept): Faster R-CNN's FPN and heads hold most of its weights
    assert pruned.params < 0.97 * fp32.params and pruned.size_bytes < fp32.size_bytes


def test_torch_runtime_and_unsupported_techniques(checkpoint: Path, voc: Path, tmp_path: Path) -> None:
    _, metrics = _apply(checkpoint, voc, tmp_path / "torch", runtime="torch")
    assert metrics.runtime == "torch"
    with pytest.raises(ModelError, match=r"does not support quant\.qat_epochs=1 \(needs qat\)"):
        _apply(checkpoint, voc, tmp_path / "qat", **{"quant.precision": "int8", "quant.qat_epochs": 1})


def test_search_samples_only_what_the_family_supports(checkpoint: Path, voc: Path, tmp_path: Path) -> None:
    config = SearchConfig(
        model=str(checkpoint),
        data=voc,
        workdir=tmp_path / "w",
        trials=3,
        space=load_space("quick").with_knobs(Knob("imgsz", choices=(64, 96))),
        evaluation=SETTINGS,
        probes=False,
    )
    summary = run_study(config)
    assert summary.completed == 3 and summary.failed == 0
    study = optuna.load_study(study_name="paretodet", storage=config.storage_url)
    sampled = {k for t in study.trials for k in t.params}
    detector = load_detector(checkpoint)
    unsupported = {"quant.qat_epochs", "distill.student_width"}
    if "kd" not in get_family("torchvision").supported_techniques(detector):  # Faster R-CNN: no distillation
        unsupported.add("distill.alpha")
    assert sampled and not sampled & unsupported


def test_cli_evaluates_a_builder_name_with_weights(
    voc: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    import torch

    from tests.test_cli import run_cli

    detector = build_torchvision(BUILDERS[0], names=SHAPE_CLASSES)
    weights = tmp_path / "ssd.pth"
    torch.save(detector.model.state_dict(), weights)  # a bare state dict, as torchvision ships them
    args = ["evaluate", f"torchvision:{BUILDERS[0]}", "--weights", str(weights), "--data", str(voc)]
    code, out, _ = run_cli([*args, "--imgsz", "64", "--threads", "1", "--json"], capsys)
    assert code == 0 and json.loads(out)["voc_map50"] is not None
    code, _, err = run_cli(["evaluate", "torchvision:ssdlite_mobilenet", "--data", str(voc)], capsys)
    assert code == 2 and "did you mean" in err and len(err.strip().splitlines()) == 1


def test_a_yolo_teacher_trains_an_ssdlite_in_the_pipeline(voc: Path, tiny_model: Path, tmp_path: Path) -> None:
    ssd = tmp_path / "ssd.pt"
    get_family("torchvision").save(build_torchvision(BUILDERS[0], names=SHAPE_CLASSES), ssd)
    kd = {"distill.teacher": str(tiny_model), "distill.alpha": 0.5, "distill.epochs": 1, "distill.lr": 0.01}
    _, metrics = _apply(ssd, voc, tmp_path / "kd", **kd)
    assert metrics.map50_95 >= 0.0 and (tmp_path / "kd" / "cache" / "student").is_dir()
    rcnn = tmp_path / "rcnn.pt"
    get_family("torchvision").save(build_torchvision(BUILDERS[1], names=SHAPE_CLASSES), rcnn)
    with pytest.raises(ModelError, match=r"does not support distill\.teacher=.* \(needs kd\)"):
        _apply(rcnn, voc, tmp_path / "rcnn", **kd)
