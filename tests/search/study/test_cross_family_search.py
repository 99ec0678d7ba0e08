"""A search and the pipeline with ``distill.teacher`` of another family: the knobs the pair can train are sampled,
the others are refused in one line, and the student trials run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from paretodet.data import SHAPE_CLASSES, SynthSpec, synthesize
from paretodet.errors import ConfigError, ModelError
from paretodet.models import get_family, load_detector
from paretodet.models.torchvision._family import build_torchvision
from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.search import SearchConfig, apply_candidate, run_study, study_space
from paretodet.spaces import Candidate, Knob, SearchSpace, load_space
from tests.test_cli import assert_one_line_error, run_cli

FAST = EvalSettings(threads=1, max_images=2, latency=LatencySettings(warmup=1, runs=30))
SSD = "ssdlite320_mobilenet_v3_large"
IMGSZ = 64


@pytest.fixture(scope="module")
def ssd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A paretodet checkpoint of an (untrained) SSDlite for the shapes classes."""
    path = tmp_path_factory.mktemp("ssd") / "ssd.pt"
    torch.manual_seed(0)
    get_family("torchvision").save(build_torchvision(SSD, names=SHAPE_CLASSES, imgsz=IMGSZ), path)
    return path


@pytest.fixture(scope="module")
def voc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(tmp_path_factory.mktemp("voc"), SynthSpec(images=8, seed=3), format="voc")


def test_a_cross_family_teacher_samples_what_the_pair_trains(tiny_model: Path, ssd: Path) -> None:
    yolo = load_detector(str(tiny_model))
    thorough = load_space("thorough")
    assert "distill.feature_weight" in [k.name for k in thorough.knobs]
    space, notes = study_space(thorough.with_fixed({"distill.teacher": str(ssd)}), yolo)
    names = [k.name for k in space.knobs]
    assert "distill.feature_weight" not in names and "distill.student_width" in names and "distill.alpha" in names
    assert any("through its detections" in n for n in notes)
    assert any(n.startswith("kd_features not sampled") for n in notes)
    same, same_notes = study_space(thorough.with_fixed({"distill.teacher": str(tiny_model)}), yolo)
    assert "distill.feature_weight" in [k.name for k in same.knobs]
    assert any("same family" in n for n in same_notes)


def test_a_fixed_value_the_pair_cannot_train_is_refused_in_one_line(tiny_model: Path, ssd: Path) -> None:
    yolo = load_detector(str(tiny_model))
    fixed = {"distill.teacher": str(ssd), "distill.alpha": "0.5", "distill.feature_weight": "1.0"}
    with pytest.raises(ConfigError, match=r"cannot learn from torchvision distill\.teacher") as caught:
        study_space(load_space("balanced").with_fixed(fixed), yolo)
    assert "distill.feature_weight=1.0 (needs kd_features)" in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1


def test_a_teacher_alone_without_alpha_trains_no_student() -> None:
    assert not Candidate.from_dict({"distill.teacher": "big.pt"}).distill.has_student()
    assert Candidate.from_dict({"distill.teacher": "big.pt", "distill.alpha": 0.5}).distill.has_student()
    assert Candidate.from_dict({"distill.teacher": "big.pt", "distill.init": "scratch"}).distill.has_student()


def test_an_ssdlite_trains_from_scratch_with_a_yolo_teacher(
    ssd: Path, tiny_model: Path, voc: Path, tmp_path: Path
) -> None:
    values = {
        "imgsz": IMGSZ,
        "distill.teacher": str(tiny_model),
        "distill.init": "scratch",
        "distill.alpha": 0.5,
        "distill.epochs": 1,
        "distill.lr": 0.01,
    }
    artifact, metrics = apply_candidate(str(ssd), voc, Candidate.from_dict(values), tmp_path / "out", settings=FAST)
    assert 0.0 <= metrics.map50_95 <= 1.0 and artifact.is_file()
    (student,) = (tmp_path / "out" / "cache" / "student").glob("*/model.pt")
    trained = load_detector(str(student)).model.state_dict()
    searched = load_detector(str(ssd)).model.state_dict()
    assert any(not torch.equal(trained[k], searched[k]) for k in searched if searched[k].is_floating_point())
    with pytest.raises(ModelError, match="needs kd"):  # a Faster R-CNN student has no anchors to match
        rcnn = tmp_path / "rcnn.pt"
        get_family("torchvision").save(
            build_torchvision("fasterrcnn_mobilenet_v3_large_320_fpn", names=SHAPE_CLASSES), rcnn
        )
        apply_candidate(str(rcnn), voc, Candidate.from_dict(values), tmp_path / "rcnn", settings=FAST)


def test_a_search_runs_yolo_students_of_a_torchvision_teacher(
    tiny_model: Path, tiny_data: Path, ssd: Path, tmp_path: Path
) -> None:
    space = SearchSpace(
        knobs=(
            Knob("distill.student_width", choices=(0.5, 0.75)),
            Knob("distill.alpha", choices=(0.25, 0.5)),
        )
    ).with_fixed({"distill.teacher": str(ssd), "distill.epochs": "1", "imgsz": str(IMGSZ)})
    config = SearchConfig(
        model=str(tiny_model), data=tiny_data, workdir=tmp_path, evaluation=FAST, trials=2, space=space, probes=False
    )
    summary = run_study(config)
    assert summary.completed == 2 and summary.failed == 0
    assert any("through its detections" in n for n in summary.notes)


def test_search_set_is_parsed_and_refused_in_one_line(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    base = ["search", "--model", str(tiny_model), "--data", str(tiny_data), "--workdir", str(tmp_path), "--trials", "1"]
    code, _, err = run_cli([*base, "--set", "distill.teacher"], capsys)
    assert_one_line_error(code, err, "is not KEY=VALUE")
    code, _, err = run_cli([*base, "--set", "distill.techer=x.pt"], capsys)
    assert_one_line_error(code, err, "did you mean")


def test_an_unknown_demo_teacher_is_one_line(capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli(["teacher", "yolo-big"], capsys)
    assert_one_line_error(code, err, "use one of ssdlite, fasterrcnn")
