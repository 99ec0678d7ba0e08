from __future__ import annotations

import json
from pathlib import Path

from paretodet.data import dataset_digest, load_data_yaml
from paretodet.models import load_detector
from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.reports import build_info, write_report
from paretodet.search import build, build_and_measure, load_sensitivity_tables
from paretodet.search.pipeline._sensitivity import sensitivity_path
from paretodet.spaces import Candidate

FAST = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))


def test_int8_stages_are_cached_and_reused(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    first = build(Candidate.from_dict({"imgsz": 64, "quant.precision": "int8"}), det, data, workdir=tmp_path)
    assert first.cache_hits == () and first.artifact.precision == "int8"
    # same calibration, other per-channel setting: export and calibration ranges are reused
    second = build(
        Candidate.from_dict({"imgsz": 64, "quant.precision": "int8", "quant.per_channel": True}),
        det,
        data,
        workdir=tmp_path,
    )
    assert second.cache_hits == ("export", "calibration")
    # an identical candidate is a full hit
    again = build(Candidate.from_dict({"imgsz": 64, "quant.precision": "int8"}), det, data, workdir=tmp_path)
    assert again.cache_hits == ("export", "int8") and again.artifact == first.artifact


def test_mixed_precision_uses_the_cached_sensitivity_table(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    cand = Candidate.from_dict({"imgsz": 64, "quant.precision": "int8", "quant.fp_layers": 2})
    result, metrics = build_and_measure(cand, det, data, workdir=tmp_path, settings=FAST)
    salt = f"{det.digest}-{dataset_digest(data)}"
    table = json.loads(sensitivity_path(tmp_path / "cache", salt=salt, imgsz=64).read_text())
    assert len(result.artifact.fp32_blocks) == 2 and list(result.artifact.fp32_blocks) == table["ranking"][:2]
    assert set(table["drops"]) >= {"model.0", "model.22.cv3.0"}
    assert metrics.size_bytes == result.artifact.path.stat().st_size
    more = build(cand.replace({"quant.fp_layers": "3"}), det, data, workdir=tmp_path)
    assert "sensitivity" in more.cache_hits and more.artifact.fp32_blocks[:2] == result.artifact.fp32_blocks
    # the report shows the table
    tables = load_sensitivity_tables(tmp_path)
    assert len(tables) == 1 and tables[0]["rows"][0][0] == table["ranking"][0]
    import pandas as pd

    trials = pd.DataFrame([{"number": 0, "state": "COMPLETE", **cand.to_dict(), **metrics.to_dict()}])
    paths = write_report(build_info(trials), tmp_path / "report", sensitivity=tables)
    assert "INT8 sensitivity per block" in paths["md"].read_text()
    assert "INT8 sensitivity per block" in paths["html"].read_text()


def test_int8_needs_a_train_split(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    import pytest

    from paretodet.errors import DataError

    names = list(load_data_yaml(tiny_data).names)
    copy = tmp_path / "val_only.yaml"
    copy.write_text(f"path: {tiny_data.parent}\nval: images/val\nnames: {names}\n")
    with pytest.raises(DataError, match="no train split"):
        build(
            Candidate.from_dict({"imgsz": 64, "quant.precision": "int8"}),
            load_detector(tiny_model),
            load_data_yaml(copy),
            workdir=tmp_path,
        )


def test_qat_stage_feeds_the_int8_export(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    cand = Candidate.from_dict({"imgsz": 64, "quant.precision": "int8", "quant.qat_epochs": 1, "quant.calib_images": 4})
    first = build(cand, det, data, workdir=tmp_path)
    assert first.artifact.precision == "int8" and "qat" not in first.cache_hits
    assert list((tmp_path / "cache" / "qat").glob("*/model.onnx"))
    # another calibration method reuses the fine-tuned weights
    other = build(cand.replace({"quant.calibration": "entropy"}), det, data, workdir=tmp_path)
    assert "qat" in other.cache_hits


def test_cache_survives_a_moved_workdir_and_ignores_a_torn_sidecar(
    tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    import shutil

    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    cand = Candidate.from_dict({"imgsz": 64})
    first = build(cand, det, data, workdir=tmp_path / "a")
    shutil.move(str(tmp_path / "a"), str(tmp_path / "b"))
    moved = build(cand, det, data, workdir=tmp_path / "b")
    assert moved.cache_hits == ("export",) and moved.artifact.path.is_file()
    assert moved.artifact.path == tmp_path / "b" / first.artifact.path.relative_to(tmp_path / "a")
    sidecar = moved.artifact.path.with_name(moved.artifact.path.name + ".json")
    sidecar.write_text("{")  # a torn write: rebuilt, not trusted
    rebuilt = build(cand, det, data, workdir=tmp_path / "b")
    assert rebuilt.cache_hits == () and json.loads(sidecar.read_text())["imgsz"] == 64


def test_pruning_stages_are_cached_and_feed_quantization(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    from ultralytics import YOLO

    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    full = build(Candidate.from_dict({"imgsz": 64}), det, data, workdir=tmp_path)
    knobs = {"imgsz": 64, "prune.method": "l2", "prune.ratio": 0.4, "prune.finetune_epochs": 1}
    epochs: list[tuple[int, int]] = []
    first = build(Candidate.from_dict(knobs), det, data, workdir=tmp_path, on_epoch=lambda d, t: epochs.append((d, t)))
    assert first.cache_hits == () and epochs == [(1, 1)]
    assert first.artifact.params < 0.8 * full.artifact.params
    assert first.artifact.size_bytes() < 0.8 * full.artifact.size_bytes()
    recovered = next((tmp_path / "cache" / "recover").glob("*/model.pt"))
    assert sum(p.numel() for p in YOLO(str(recovered)).model.parameters()) < 0.8 * det.params()
    # only quantization differs: the pruned and recovered models are reused
    int8 = build(Candidate.from_dict({**knobs, "quant.precision": "int8"}), det, data, workdir=tmp_path)
    assert int8.cache_hits[:2] == ("prune", "recover") and int8.artifact.params == first.artifact.params
    # more recovery epochs: pruning is reused, recovery is not
    longer = build(Candidate.from_dict({**knobs, "prune.finetune_epochs": 2}), det, data, workdir=tmp_path)
    assert longer.cache_hits == ("prune",)


def test_student_then_pruning_with_kd_recovery(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    student = {"imgsz": 64, "distill.student_width": 0.5, "distill.epochs": 1, "distill.alpha": 0.5}
    first = build(Candidate.from_dict(student), det, data, workdir=tmp_path)
    assert first.cache_hits == () and first.artifact.params < 0.5 * det.params()
    # the same student, pruned and recovered with KD from the teacher: the student stage is reused
    pruned = {**student, "prune.method": "l1", "prune.ratio": 0.3, "prune.finetune_epochs": 1}
    second = build(Candidate.from_dict(pruned), det, data, workdir=tmp_path)
    assert second.cache_hits == ("student",) and second.artifact.params < first.artifact.params
    # temperature has no effect when alpha = 0, so it does not split the cache
    plain = {"imgsz": 64, "distill.student_width": 0.5, "distill.epochs": 1}
    build(Candidate.from_dict(plain), det, data, workdir=tmp_path)
    again = build(Candidate.from_dict({**plain, "distill.temperature": 7.0}), det, data, workdir=tmp_path)
    assert again.cache_hits[0] == "student"


def test_feature_kd_and_another_teacher_split_the_student_cache(
    tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    import shutil

    det, data = load_detector(tiny_model), load_data_yaml(tiny_data)
    other = tmp_path / "other_teacher.pt"
    shutil.copy(tiny_model, other)
    student = {"imgsz": 64, "distill.student_width": 0.5, "distill.epochs": 1, "distill.alpha": 0.5}
    build(Candidate.from_dict(student), det, data, workdir=tmp_path / "w")
    cwd = build(Candidate.from_dict({**student, "distill.feature_weight": 10.0}), det, data, workdir=tmp_path / "w")
    assert "student" not in cwd.cache_hits  # a new student, trained with CWD (its projectors dropped after)
    taught = {**student, "distill.teacher": str(other)}
    first = build(Candidate.from_dict(taught), det, data, workdir=tmp_path / "w")
    assert "student" not in first.cache_hits
    assert build(Candidate.from_dict(taught), det, data, workdir=tmp_path / "w").cache_hits[0] == "student"
    other.write_bytes(other.read_bytes() + b"\0")  # another file behind the same name: not the cached student
    changed = build(Candidate.from_dict(taught), det, data, workdir=tmp_path / "w")
    assert "student" not in changed.cache_hits and changed.artifact.path != first.artifact.path
