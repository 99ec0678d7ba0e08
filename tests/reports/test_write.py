"""report.html and report.md: the technique table first after the summary, then the readable front (a real
table, no plotly table), the figures; sensitivity tables name their model and input size when recorded."""

from __future__ import annotations

from pathlib import Path

from paretodet.reports import Budget, build_info, write_report
from paretodet.reports._write import sensitivity_title
from tests.reports.test_techniques import STUDY

SENSITIVITY = {"fp32_map50_95": 0.5, "val_images": 32, "rows": [("model.2", 0.01)], "drops": {"model.2": 0.01}}


def test_report_order_and_tables(tmp_path: Path) -> None:
    info = build_info(STUDY, budgets=[Budget.parse("size_mb<=4")])
    paths = write_report(info, tmp_path, meta={"model": "m.pt", "data": "d.yaml"}, sensitivity=[SENSITIVITY])
    page = paths["html"].read_text()
    order = ["<ul><li>trials: 16", "id='technique-table'", "id='verdicts'", "id='front-table'", "<h2>Analysis</h2>"]
    positions = [page.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert '"title":{"text":"Pareto front"}' not in page  # the plotly front table figure is gone
    assert "not measured in this study" not in page  # every row of this study is measured
    assert page.count("<tr data-row=") == 11
    md = paths["md"].read_text()
    assert md.index("## What each technique buys") < md.index("## Pareto front")
    assert "| INT8 PTQ: 320 px · ONNX Runtime · INT8 | 4 | 3.40 MB 3.53x smaller |" in md


def test_sensitivity_tables_name_what_they_record() -> None:
    assert sensitivity_title(SENSITIVITY) == (
        "INT8 sensitivity per block: model not recorded, input size not recorded "
        "(val subset of 32 images, FP32 mAP50-95 0.5000)"
    )
    assert sensitivity_title({**SENSITIVITY, "imgsz": None, "model": ""}) == sensitivity_title(SENSITIVITY)
    named = sensitivity_title({**SENSITIVITY, "imgsz": 320, "model": "yolov5n.pt"})
    assert named.startswith("INT8 sensitivity per block: model yolov5n.pt, 320 px (")
    assert "model digest 0123456789ab, 256 px" in sensitivity_title(
        {**SENSITIVITY, "imgsz": 256, "model_digest": "0123456789abcdef"}
    )


def test_the_report_says_what_the_space_left_out_for_the_model(tmp_path: Path) -> None:
    note = "student not sampled (yolov5 models lack it): distill.student_width 0.75, 0.5"
    paths = write_report(build_info(STUDY), tmp_path, meta={"space_notes": [note]})
    assert f"- space for this model: {note}" in paths["md"].read_text()
    assert f"<li>space for this model: {note}</li>" in paths["html"].read_text()
