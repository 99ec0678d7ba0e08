"""The readable front: a short config summary naming only knobs that act and are not defaults, the apply
command that rebuilds a trial, one table line per front trial with at most ~10 columns."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd

from paretodet.reports import Budget, build_info, write_report
from paretodet.reports._describe import apply_command, changed_knobs, config_summary
from paretodet.reports._front_table import front_rows
from paretodet.reports._tables import front_table_html, front_table_markdown
from paretodet.spaces import Candidate
from tests.reports.test_techniques import STUDY

META = {"model": "runs/best.pt", "data": "/data/my data.yaml"}


def test_summary_names_only_knobs_that_act_and_are_not_defaults() -> None:
    row = Candidate.from_dict(
        {
            "quant.precision": "int8",
            "quant.calibration": "percentile",
            "quant.fp_layers": 2,
            "prune.method": "l2",
            "prune.finetune_epochs": 20,
            "distill.alpha": 0.5,
        }
    ).to_dict()
    assert config_summary(row) == (
        "320 px · ONNX Runtime · INT8 percentile, 2 FP32 blocks · L2 pruning 0.3, 20 ep KD-recovered (alpha 0.5)"
    )
    # FP16 ignores every INT8 knob; unpruned, the pruning knobs do nothing
    fp16 = Candidate.from_dict({"imgsz": 256, "quant.precision": "fp16", "prune.ratio": 0.5}).to_dict()
    fp16["quant.calibration"] = "entropy"
    assert config_summary(fp16) == "256 px · ONNX Runtime · FP16"
    assert config_summary(Candidate(runtime="torch").to_dict()) == "320 px · PyTorch · unmodified"
    student = Candidate.from_dict({"distill.student_width": 0.5, "distill.student_depth": 0.33}).to_dict()
    assert config_summary(student) == "320 px · ONNX Runtime · student w0.5 d0.33, 30 ep, no KD"
    assert config_summary({"imgsz": 320.0, "prune.method": "level", "quant.per_channel": True}) == (
        "320 px · ONNX Runtime · unstructured (level) pruning 0.3, one-shot"
    )


def test_changed_knobs_and_the_apply_command_rebuild_the_config() -> None:
    knobs = {"imgsz": 256.0, "quant.precision": "int8", "quant.per_channel": 1.0, "prune.method": "none"}
    knobs["prune.ratio"] = 0.5  # inactive: unpruned
    assert changed_knobs(knobs) == {"imgsz": 256, "quant.precision": "int8", "quant.per_channel": True}
    command = apply_command({"number": 3, **knobs}, meta=META)
    assert command == (
        "paretodet apply runs/best.pt --data '/data/my data.yaml' --out trial_3 --set imgsz=256 "
        "--set quant.precision=int8 --set quant.per_channel=true"
    )
    words = shlex.split(command)
    sets = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "--set")
    original = {"imgsz": 256, "quant.precision": "int8", "quant.per_channel": True, "prune.ratio": 0.5}
    assert Candidate.from_dict(sets).config_key() == Candidate.from_dict(original).config_key()  # the same build
    assert apply_command({}, meta=None).startswith("paretodet apply MODEL --data DATA --out out")


def test_one_line_per_front_trial() -> None:
    info = build_info(STUDY, budgets=[Budget.parse("size_mb<=4")])
    rows = front_rows(info, meta=META, knee=13)
    assert rows["number"].tolist() == info.front["number"].astype(int).tolist()
    stored = STUDY.set_index("number")
    for _, row in rows.iterrows():
        assert row["map50_95"] == stored.loc[row["number"], "map50_95"]
        assert row["size_mb"] == stored.loc[row["number"], "size_bytes"] * 1e-6
        assert row["feasible"] == (row["size_mb"] <= 4) and (row["over"] == []) == row["feasible"]
        assert row["apply"] == apply_command(stored.loc[row["number"]].to_dict() | {"number": row["number"]}, meta=META)
    assert rows.loc[rows["number"] == 13, "knee"].item()
    assert rows.loc[rows["number"] == 3, "over"].item() == ["size_mb<=4"]


def test_html_table_is_a_real_sortable_table_with_few_columns() -> None:
    info = build_info(STUDY, budgets=[Budget.parse("size_mb<=4")])
    page = front_table_html(front_rows(info, meta=META), budgets=True)
    assert "<table class='report sortable' id='front-table'>" in page
    headers = re.findall(r"<th>(.*?)</th>", page)
    assert len(headers) <= 10 and headers[:2] == ["trial", "config"]
    assert page.count("<tr data-trial=") == len(info.front)
    assert page.count("<details>") == len(info.front)  # the full config on demand


def test_markdown_table_matches(tmp_path: Path) -> None:
    info = build_info(STUDY)
    text = front_table_markdown(front_rows(info, meta=META), budgets=False)
    lines = text.splitlines()
    assert len(lines) == 2 + len(info.front)
    assert lines[0] == "| number | config | mAP50-95 | mAP50 | latency (ms) | FPS | size (MB) | rebuild with |"
    md = write_report(info, tmp_path, meta=META)["md"].read_text()
    assert md.index("## What each technique buys") < md.index("## Pareto front") < md.index("## Analysis")
    assert "`paretodet apply runs/best.pt --data '/data/my data.yaml' --out trial_3 --set quant.precision=fp16`" in md


def test_front_table_with_missing_metrics() -> None:
    df = pd.DataFrame([{"number": 0, "state": "COMPLETE", "map50_95": 0.5, "fps": 10.0, "size_bytes": 1e6}])
    rows = front_rows(build_info(df))
    assert rows["latency_ms"].isna().all() and rows["config"].item() == "320 px · ONNX Runtime · unmodified"
    assert "<td class='num' data-v='nan'>-</td>" in front_table_html(rows, budgets=False)
