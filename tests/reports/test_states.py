"""Trial states in the report's words: Optuna's PRUNED (a duplicate sample skipped) never reads as a pruned model."""

from __future__ import annotations

import pandas as pd

from paretodet.reports import build_info, state_counts, state_counts_line, write_report
from tests.reports.test_techniques import STUDY


def _trials() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "number": [0, 1, 2, 3],
            "state": ["COMPLETE", "COMPLETE", "PRUNED", "FAIL"],
            "duplicate_of": [None, None, 1, None],
            "fail_reason": [None, None, None, "boom"],
            "map50_95": [0.5, 0.4, None, None],
            "fps": [10.0, 20.0, None, None],
            "size_bytes": [4e6, 2e6, None, None],
        }
    )


def test_a_duplicate_sample_is_counted_as_one() -> None:
    df = _trials()
    assert state_counts(df) == {"COMPLETE": 2, "FAIL": 1, "DUPLICATE": 1}
    line = state_counts_line(df)
    assert line == "4 (2 completed, 1 failed, 1 duplicate sample skipped)"
    assert "pruned" not in line


def test_the_report_summary_says_duplicate_not_pruned(tmp_path) -> None:
    study = STUDY.copy()
    duplicate = {**study.iloc[1].to_dict(), "number": len(study), "state": "PRUNED", "duplicate_of": 1}
    study = pd.concat([study, pd.DataFrame([duplicate])], ignore_index=True)
    paths = write_report(build_info(study), tmp_path / "report", meta={})
    md = paths["md"].read_text()
    summary = next(line for line in md.splitlines() if f"trials: {len(study)}" in line)
    assert "1 duplicate sample skipped" in summary and "pruned 1" not in summary
    assert "PRUNED there is not a pruned model but a trial that was not measured whole" in md
    assert "pruned 1" not in paths["html"].read_text()
