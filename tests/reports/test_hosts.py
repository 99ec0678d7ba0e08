"""Reports say where latency was timed, and never mix hosts on one FPS axis without saying so."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from paretodet.reports import build_info, write_report
from paretodet.reports._figures import axis_title
from paretodet.reports._info import timing_hosts


def _trial(number: int, host: str, latency_ms: float) -> dict:
    return {
        "number": number,
        "state": "COMPLETE",
        "imgsz": 320,
        "map50_95": 0.5 + number / 100,
        "latency_ms": latency_ms,
        "fps": 1000 / latency_ms,
        "size_bytes": 1_000_000 * (number + 1),
        "host": host,
        "cpu": "AMD EPYC",
        "threads": 2,
    }


def test_one_host_is_named(tmp_path: Path) -> None:
    df = pd.DataFrame([_trial(0, "box", 10.0), _trial(1, "box", 12.0)])
    paths = write_report(build_info(df), tmp_path)
    assert "latency timed on box (AMD EPYC, 2 threads): 2 trials" in paths["md"].read_text()
    assert "MIXED" not in axis_title("fps", df)


def test_several_hosts_are_flagged_on_the_page_and_the_axis(tmp_path: Path) -> None:
    df = pd.DataFrame([_trial(0, "box", 10.0), _trial(1, "edge", 40.0), _trial(2, "edge", 41.0)])
    assert timing_hosts(df)["trials"].tolist() == [1, 2]
    paths = write_report(build_info(df), tmp_path)
    assert "WARNING: latency was timed on 2 different hosts" in paths["md"].read_text()
    assert axis_title("fps", df).endswith("MIXED: timed on 2 different hosts")
    assert "MIXED: timed on 2 different hosts" in paths["html"].read_text()
    assert "MIXED" not in axis_title("size_bytes", df)
