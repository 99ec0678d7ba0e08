"""The command line: happy paths on tiny inputs, and every bad-input case as one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from paretodet.cli import main
from tests.base.test_json import strict_loads
from tests.conftest import REQUIRED_METRIC_KEYS


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def assert_one_line_error(code: int, err: str, needle: str) -> None:
    assert code != 0
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in err


def test_evaluate_json_only_on_stdout(tiny_model: Path, tiny_data: Path, capsys) -> None:
    code, out, _ = run_cli(
        ["evaluate", str(tiny_model), "--data", str(tiny_data), "--imgsz", "64", "--threads", "1", "--json"], capsys
    )
    assert code == 0
    data = strict_loads(out)
    assert isinstance(data, dict) and set(REQUIRED_METRIC_KEYS) <= set(data)
    assert data["runtime"] == "onnxruntime" and data["imgsz"] == 64 and data["threads"] == 1


def test_apply_writes_artifact_config_metrics(tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "cand.yaml"
    cfg.write_text("imgsz: 96\nquant:\n  precision: fp32\n")
    out_dir = tmp_path / "out"
    code, _, _ = run_cli(
        [
            "apply",
            str(tiny_model),
            "--data",
            str(tiny_data),
            "--config",
            str(cfg),
            "--set",
            "quant.precision=fp16",
            "--out",
            str(out_dir),
            "--threads",
            "1",
        ],
        capsys,
    )
    assert code == 0
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["size_bytes"] == (out_dir / "model.onnx").stat().st_size
    assert "quant.precision: fp16" in (out_dir / "config.yaml").read_text()
    assert metrics["imgsz"] == 96


def test_apply_int8_from_the_command_line(tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys) -> None:
    out_dir = tmp_path / "q"
    code, _, _ = run_cli(
        [
            "apply",
            str(tiny_model),
            "--data",
            str(tiny_data),
            "--set",
            "imgsz=64",
            "--set",
            "quant.precision=int8",
            "--set",
            "quant.calibration=entropy",
            "--set",
            "quant.calib_images=4",
            "--out",
            str(out_dir),
            "--threads",
            "1",
        ],
        capsys,
    )
    assert code == 0
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["size_bytes"] == (out_dir / "model.onnx").stat().st_size
    assert "quant.calibration: entropy" in (out_dir / "config.yaml").read_text()


def test_apply_pruned_and_recovered_from_the_command_line(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys
) -> None:
    from ultralytics import YOLO

    out_dir = tmp_path / "p"
    sets = ["imgsz=64", "runtime=torch", "prune.method=l2", "prune.ratio=0.3", "prune.finetune_epochs=1"]
    args = ["apply", str(tiny_model), "--data", str(tiny_data), "--out", str(out_dir), "--threads", "1"]
    code, out, _ = run_cli(args + [x for item in sets for x in ("--set", item)], capsys)
    assert code == 0 and "mAP50-95" in out
    metrics = json.loads((out_dir / "metrics.json").read_text())
    unpruned = sum(p.numel() for p in YOLO(str(tiny_model)).model.parameters())
    reloaded = sum(p.numel() for p in YOLO(str(out_dir / "model.pt")).model.parameters())
    assert reloaded < 0.85 * unpruned and metrics["compressed_bytes"] > 0
    assert "prune.finetune_epochs: 1" in (out_dir / "config.yaml").read_text()


def test_apply_distilled_student_from_the_command_line(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys
) -> None:
    out_dir = tmp_path / "kd"
    sets = ["imgsz=64", "distill.student_width=0.5", "distill.temperature=4", "distill.alpha=0.5", "distill.epochs=1"]
    args = ["apply", str(tiny_model), "--data", str(tiny_data), "--out", str(out_dir), "--threads", "1"]
    code, _, _ = run_cli(args + [x for item in sets for x in ("--set", item)], capsys)
    assert code == 0
    metrics = json.loads((out_dir / "metrics.json").read_text())
    from paretodet.models import load_detector

    assert metrics["params"] < 0.5 * load_detector(tiny_model).params()  # the student was measured
    assert list((out_dir / "cache" / "student").glob("*/model.pt"))
    assert "distill.alpha: 0.5" in (out_dir / "config.yaml").read_text()


def test_spaces_lists_every_knob_and_exports_a_preset(tmp_path: Path, capsys) -> None:
    from paretodet.spaces import knob_names, load_space

    code, out, _ = run_cli(["spaces"], capsys)
    assert code == 0 and all(name in out for name in knob_names())
    code, out, _ = run_cli(["spaces", "--space", "balanced", "--yaml"], capsys)
    assert code == 0
    (tmp_path / "mine.yaml").write_text(out)
    assert load_space(tmp_path / "mine.yaml") == load_space("balanced")


def test_search_report_select_export(tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys) -> None:
    work = tmp_path / "w"
    code, out, err = run_cli(
        [
            "search",
            "--model",
            str(tiny_model),
            "--data",
            str(tiny_data),
            "--trials",
            "2",
            "--workdir",
            str(work),
            "--sampler",
            "random",
            "--threads",
            "1",
        ],
        capsys,
    )
    assert code == 0 and "2 completed" in out
    # stderr is not a terminal here (as under nohup, systemd or a scheduler): one plain line per finished trial
    lines = [ln for ln in err.splitlines() if ln.startswith("trial ")]
    assert len(lines) == 2 and all(" COMPLETE | " in ln and "mAP50-95 " in ln and "cache hits: " in ln for ln in lines)
    assert "1/2 done" in lines[0] and "2/2 done" in lines[1]
    code, out, _ = run_cli(["report", str(work)], capsys)
    assert code == 0 and (work / "report" / "report.html").is_file() and (work / "report" / "trials.csv").is_file()
    code, out, _ = run_cli(
        ["select", str(work), "--budget", "size_mb<=100", "--export", str(tmp_path / "exp"), "--json"], capsys
    )
    assert code == 0
    chosen = strict_loads(out)
    assert chosen["feasible_trials"] == 2 and Path(chosen["exported"]["artifact"]).is_file()
    assert (tmp_path / "exp" / "config.yaml").is_file()
    readme = (tmp_path / "exp" / "README.md").read_text()  # beside the model: what it is and how to rebuild it
    assert f"# paretodet export: trial {chosen['trial']}" in readme and "| latency |" in readme
    assert f"paretodet apply {tiny_model} --data {tiny_data.resolve()} --out trial_{chosen['trial']}" in readme
    assert chosen["exported"]["readme"] == str(tmp_path / "exp" / "README.md")
    code, _, err = run_cli(["select", str(work), "--budget", "size_mb<=0.0001"], capsys)
    assert_one_line_error(code, err, "no trial meets size_mb<=0.0001; closest: trial")


def test_data_synth(tmp_path: Path, capsys) -> None:
    code, _out, _ = run_cli(["data", "synth", "--out", str(tmp_path / "d"), "--images", "4", "--seed", "1"], capsys)
    assert code == 0 and (tmp_path / "d" / "data.yaml").is_file()
    assert (tmp_path / "d" / "annotations" / "instances_val.json").is_file()


@pytest.fixture()
def bad_inputs(tmp_path: Path, tiny_data: Path) -> dict[str, Path]:
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x80\x04garbage")
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("names: [a, b\nval: x\n")
    noval = tmp_path / "noval.yaml"
    noval.write_text("train: images\nnames: [a]\n")
    # a copy of the tiny data whose first val label has a bad line
    import shutil

    bad_labels = tmp_path / "badlabels"
    shutil.copytree(tiny_data.parent, bad_labels)
    first = sorted((bad_labels / "labels" / "val").glob("*.txt"))[0]
    first.write_text(first.read_text() + "2 0.5 0.5 0.2\n")
    (tmp_path / "empty_work").mkdir()
    empty_calib = tmp_path / "emptycalib"
    shutil.copytree(tiny_data.parent, empty_calib)
    for image in (empty_calib / "images" / "train").iterdir():
        image.unlink()
    import ultralytics
    import yaml

    student_cfg = yaml.safe_load((Path(ultralytics.__file__).parent / "cfg/models/v8/yolov8.yaml").read_text())
    student_yaml = tmp_path / "yolov8n-three.yaml"
    student_yaml.write_text(yaml.safe_dump({**student_cfg, "nc": 3}))
    bad_space = tmp_path / "space.yaml"
    bad_space.write_text("knobs:\n  prune.ratio: {low: lots, high: 0.5}\n")
    return {
        "bad_space": bad_space,
        "student_yaml": student_yaml,
        "emptycalib": empty_calib / "data.yaml",
        "corrupt": corrupt,
        "malformed": malformed,
        "noval": noval,
        "badlabels": bad_labels / "data.yaml",
        "badlabel_file": first,
        "empty_work": tmp_path / "empty_work",
    }


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("missing_model", "model file not found"),
        ("corrupt_model", "cannot read checkpoint"),
        ("missing_data", "data YAML not found"),
        ("malformed_data", "is malformed"),
        ("noval_data", "no 'val' split"),
        ("bad_label", "4 values instead of 5"),
        ("unknown_runtime", "did you mean 'onnxruntime'"),
        ("unknown_sampler", "unknown sampler 'nsga3'"),
        ("unknown_knob", "unknown knob 'quant.bits'"),
        ("bad_set", "is not KEY=VALUE"),
        ("malformed_budget", "malformed budget 'size_mb=4'"),
        ("unknown_budget_metric", "unknown budget metric 'accuracy'"),
        ("report_missing_workdir", "does not exist"),
        ("report_empty_workdir", "holds no paretodet study"),
        ("select_missing_workdir", "does not exist"),
        ("select_empty_workdir", "holds no paretodet study"),
        ("unknown_option", "No such option: --fast"),
        ("bad_int", "'--trials'"),
        ("empty_calibration_folder", "no images found in"),
        ("out_is_a_file", "check the path"),
        ("prune_ratio_out_of_range", "prune.ratio must be in [0, 0.9], got 0.95"),
        ("prune_unknown_layer", "prune.skip names 'model.99'"),
        ("student_yaml_other_classes", "has nc=3 but the teacher has 6 classes"),
        ("distill_alpha_out_of_range", "distill.alpha must be in [0, 1]"),
        ("space_file_wrong_type", "'low' must be a number"),
    ],
)
def test_bad_input_is_one_clear_line(
    case: str, needle: str, bad_inputs: dict[str, Path], tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys
) -> None:
    m, d = str(tiny_model), str(tiny_data)
    args = {
        "missing_model": ["evaluate", str(tmp_path / "nope.pt"), "--data", d],
        "corrupt_model": ["evaluate", str(bad_inputs["corrupt"]), "--data", d],
        "missing_data": ["evaluate", m, "--data", str(tmp_path / "nope.yaml")],
        "malformed_data": ["evaluate", m, "--data", str(bad_inputs["malformed"])],
        "noval_data": ["evaluate", m, "--data", str(bad_inputs["noval"])],
        "bad_label": ["evaluate", m, "--data", str(bad_inputs["badlabels"]), "--imgsz", "64"],
        "unknown_runtime": ["evaluate", m, "--data", d, "--runtime", "onnx"],
        "unknown_sampler": ["search", "--model", m, "--data", d, "--sampler", "nsga3", "--workdir", str(tmp_path)],
        "unknown_knob": ["apply", m, "--data", d, "--set", "quant.bits=8", "--out", str(tmp_path / "o")],
        "bad_set": ["apply", m, "--data", d, "--set", "imgsz", "--out", str(tmp_path / "o")],
        "malformed_budget": ["select", str(bad_inputs["empty_work"]), "--budget", "size_mb=4"],
        "unknown_budget_metric": ["search", "--model", m, "--data", d, "--budget", "accuracy>=0.5"],
        "report_missing_workdir": ["report", str(tmp_path / "nowhere")],
        "report_empty_workdir": ["report", str(bad_inputs["empty_work"])],
        "select_missing_workdir": ["select", str(tmp_path / "nowhere"), "--budget", "size_mb<=4"],
        "select_empty_workdir": ["select", str(bad_inputs["empty_work"]), "--budget", "size_mb<=4"],
        "unknown_option": ["search", "--fast"],
        "bad_int": ["search", "--model", m, "--data", d, "--trials", "many"],
        "prune_ratio_out_of_range": [
            "apply",
            m,
            "--data",
            d,
            "--set",
            "prune.ratio=0.95",
            "--out",
            str(tmp_path / "o"),
        ],
        "student_yaml_other_classes": [
            "apply",
            m,
            "--data",
            d,
            "--set",
            f"distill.student_yaml={bad_inputs['student_yaml']}",
            "--out",
            str(tmp_path / "o"),
        ],
        "space_file_wrong_type": ["search", "--model", m, "--data", d, "--space", str(bad_inputs["bad_space"])],
        "distill_alpha_out_of_range": [
            "apply",
            m,
            "--data",
            d,
            "--set",
            "distill.alpha=2",
            "--out",
            str(tmp_path / "o"),
        ],
        "prune_unknown_layer": [
            "apply",
            m,
            "--data",
            d,
            "--set",
            "imgsz=64",
            "--set",
            "prune.method=l1",
            "--set",
            "prune.skip=model.99",
            "--out",
            str(tmp_path / "o"),
        ],
        "out_is_a_file": ["apply", m, "--data", d, "--set", "imgsz=64", "--out", str(bad_inputs["corrupt"])],
        "empty_calibration_folder": [
            "apply",
            m,
            "--data",
            str(bad_inputs["emptycalib"]),
            "--set",
            "imgsz=64",
            "--set",
            "quant.precision=int8",
            "--out",
            str(tmp_path / "o"),
        ],
    }[case]
    code, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, needle)
    if case == "bad_label":
        assert f"{bad_inputs['badlabel_file']}:" in err


def test_entry_point_prints_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "paretodet.cli", "report", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_runtimes_lists_each_runtime_and_what_this_host_lacks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["runtimes"], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[1].split()[:3] == ["onnxruntime", "cpu", "fp32"] and lines[1].endswith("yes")
    assert any(line.startswith("torch-cuda") for line in lines)


def test_a_runtime_this_host_cannot_run_is_one_line(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this host has a GPU")
    args = ["apply", str(tiny_model), "--data", str(tiny_data), "--out", str(tmp_path / "o")]
    code, _, err = run_cli([*args, "--set", "imgsz=64", "--set", "runtime=torch-cuda"], capsys)
    assert_one_line_error(code, err, "runtime=torch-cuda needs an NVIDIA GPU with CUDA")
    code, _, err = run_cli([*args, "--device", "cuda"], capsys)
    assert_one_line_error(code, err, "--device cuda: torch sees no CUDA GPU on this host")


def test_cache_verify_and_prune_find_a_truncated_file(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, capsys
) -> None:
    out_dir = tmp_path / "q"
    args = ["apply", str(tiny_model), "--data", str(tiny_data), "--set", "imgsz=64", "--set", "quant.precision=int8"]
    args += ["--out", str(out_dir), "--threads", "1"]
    assert run_cli(args, capsys)[0] == 0
    code, out, _ = run_cli(["cache", "verify", str(out_dir)], capsys)
    assert code == 0 and "3 cache entries checked: 3 sound, 0 damaged" in out
    int8 = next((out_dir / "cache" / "int8").glob("*/model.onnx"))
    int8.write_bytes(int8.read_bytes()[:1000])  # the reported defect: the cached INT8 file cut short
    code, out, _ = run_cli(["cache", "verify", str(out_dir)], capsys)
    assert code == 1 and f"damaged: int8/{int8.parent.name}: model.onnx is 1,000 bytes" in out
    # the next apply of the same config finds it, says so, and rebuilds it (no protobuf error)
    code, _, err = run_cli(args, capsys)
    assert code == 0 and f"cache: damaged entry int8/{int8.parent.name}: model.onnx is 1,000 bytes" in err
    assert run_cli(["cache", "verify", str(out_dir)], capsys)[0] == 0
    # prune removes damaged entries only
    int8.write_bytes(b"x" * int8.stat().st_size)
    code, out, _ = run_cli(["cache", "prune", str(out_dir)], capsys)
    assert code == 0 and f"removed int8/{int8.parent.name}: model.onnx does not match" in out
    assert "removed 1 (" in out and "kept 2 cache entries" in out and not int8.parent.exists()


def test_cache_commands_need_a_work_dir_with_a_cache(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["cache", "verify", str(tmp_path / "nope")], capsys)
    assert_one_line_error(code, err, "does not exist")
    code, _, err = run_cli(["cache", "prune", str(tmp_path)], capsys)
    assert_one_line_error(code, err, "no stage cache")
