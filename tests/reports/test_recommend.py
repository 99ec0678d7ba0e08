"""One recommendation by one stated rule; importances only where trials support them; the compare table."""

from __future__ import annotations

import pandas as pd
import pytest

from paretodet.errors import ConfigError
from paretodet.reports import build_info, format_comparison
from paretodet.reports._front_table import indistinct_neighbours
from paretodet.reports._recommend import recommend
from paretodet.reports._write import supported_importances


def _row(number: int, map_: float, fps: float, size: float, **extra: float) -> dict[str, object]:
    return {"number": number, "state": "COMPLETE", "map50_95": map_, "fps": fps, "latency_ms": 1000 / fps,
            "size_bytes": size, **extra}  # fmt: skip


def test_the_fastest_config_whose_drop_is_not_separable_from_zero() -> None:
    rows = [
        _row(0, 0.70, 100, 12e6, probe="original", reference=True, delta_map50_95=0.0, delta_low=0.0, delta_high=0.0),
        _row(1, 0.699, 110, 6e6, delta_map50_95=-0.001, delta_low=-0.004, delta_high=0.002),
        _row(2, 0.69, 160, 3e6, delta_map50_95=-0.01, delta_low=-0.014, delta_high=-0.006),
        _row(3, 0.40, 300, 1e6, delta_map50_95=-0.30, delta_low=-0.32, delta_high=-0.28),
    ]
    chosen = recommend(build_info(pd.DataFrame(rows)))
    assert (chosen.trial, chosen.branch) == (1, "unseparable")


def test_without_intervals_the_knee_within_the_stated_drop() -> None:
    rows = [_row(0, 0.70, 100, 12e6, probe="original"), _row(1, 0.695, 150, 6e6), _row(2, 0.40, 400, 1e6)]
    chosen = recommend(build_info(pd.DataFrame(rows)))
    assert chosen.branch == "within-drop" and chosen.trial in (0, 1)  # trial 2 lost 30 points: never chosen


def test_no_reference_falls_back_to_the_knee() -> None:
    chosen = recommend(build_info(pd.DataFrame([_row(0, 0.5, 100, 5e6), _row(1, 0.4, 200, 2e6)])))
    assert chosen.branch == "knee" and chosen.trial in (0, 1)


def test_importances_need_ten_trials_per_knob() -> None:
    ranked = {"fps": {"imgsz": 0.6, "quant.precision": 0.3, "prune.lr": 0.1}}
    shown, note = supported_importances(ranked, completed=16)
    assert shown == {} and "needs at least 30 completed trials" in note and "14 more" in note
    shown, note = supported_importances(ranked, completed=30)
    assert shown == ranked and note == ""


def test_neighbours_whose_intervals_overlap_are_marked() -> None:
    front = pd.DataFrame(
        [
            _row(0, 0.70, 100, 5e6, map50_95_low=0.66, map50_95_high=0.74, latency_low_ms=9.5, latency_high_ms=10.5),
            _row(1, 0.69, 104, 5e6, map50_95_low=0.65, map50_95_high=0.73, latency_low_ms=9.2, latency_high_ms=9.9),
            _row(2, 0.40, 300, 1e6, map50_95_low=0.37, map50_95_high=0.43, latency_low_ms=3.2, latency_high_ms=3.4),
        ]
    )
    marks = indistinct_neighbours(front, ["map50_95", "fps", "size_bytes"])
    assert marks == [["map50_95", "fps", "size_bytes"], [], []]


def test_compare_table_formats() -> None:
    rows = [
        {"item": "a.pt", "runtime": "onnxruntime", "precision": "fp32", "imgsz": 320, "map50_95": 0.7,
         "map50_95_low": 0.68, "map50_95_high": 0.72, "map50": 0.9, "delta_map50_95": float("nan"),
         "delta_low": float("nan"), "delta_high": float("nan"), "size_bytes": 12e6, "latency_ms": 10.0,
         "latency_low_ms": 9.8, "latency_high_ms": 10.2, "latency_ratio": 1.0, "ratio_low": 1.0, "ratio_high": 1.0},
    ]  # fmt: skip
    rows.append({**rows[0], "item": "b.onnx", "precision": "int8", "delta_map50_95": -0.01, "delta_low": -0.02,
                 "delta_high": 0.0, "latency_ratio": 0.62, "ratio_low": 0.6, "ratio_high": 0.64})  # fmt: skip
    md = format_comparison(rows, "md").splitlines()
    assert (
        md[2].startswith("| a.pt (REF) |") and "0.620 [0.600, 0.640]" in md[3] and "-0.0100 [-0.0200, +0.0000]" in md[3]
    )
    assert format_comparison(rows, "csv").splitlines()[0].startswith("item,runtime,precision")
    assert "b.onnx" in format_comparison(rows)
    with pytest.raises(ConfigError, match="unknown table format"):
        format_comparison(rows, "xml")


def test_the_report_names_trials_verification_moved() -> None:
    from paretodet.reports._write import verification_lines

    meta = {
        "verified": {
            "host": {"host": "vm", "cpu": "Xeon", "threads": 2},
            "rounds": 10,
            "reference": {"imgsz": 320, "trial": 0},
            "front_before": [0, 1, 4],
            "front_after": [0, 1, 7],
            "full_split": True,
            "images": 2000,
        }
    }
    lines = verification_lines(meta)
    assert "front before verification: 0, 1, 4; after: 0, 1, 7 (entered: 7; left: 4)" in lines
    assert any("the whole split (2000 images)" in line for line in lines)
    assert verification_lines({**meta, "latency_from": "orin"}) == []  # a target's figures are named instead
