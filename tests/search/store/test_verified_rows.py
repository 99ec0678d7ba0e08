"""Verified figures replace the per-trial ones in the trial table, which keeps them alongside."""

from __future__ import annotations

from paretodet.search.store._verified_rows import apply_verified


def _record(full_split: bool) -> dict[str, object]:
    figures = {"latency_ms": 5.0, "latency_low_ms": 4.9, "latency_high_ms": 5.2, "latency_ratio": 0.5,
               "ratio_low": 0.48, "ratio_high": 0.52, "fps": 200.0, "delta_map50_95": -0.01, "delta_low": -0.02,
               "delta_high": 0.001, "map50_95": 0.61}  # fmt: skip
    return {"trials": {"1": figures}, "full_split": full_split, "reference": {"trial": 0}, "host": {"host": "vm"}}


def test_latency_and_the_paired_change_replace_the_trial_figures_without_a_subset() -> None:
    rows = [
        {"number": 0, "state": "COMPLETE", "latency_ms": 10.0, "map50_95": 0.6},
        {"number": 1, "state": "COMPLETE", "latency_ms": 6.0, "map50_95": 0.6},
    ]
    meta = apply_verified(rows, _record(full_split=False))
    verified = rows[1]
    assert verified["verified"] and not rows[0]["verified"] and rows[0]["reference"]
    assert (verified["latency_ms"], verified["trial_latency_ms"]) == (5.0, 6.0)
    assert (verified["delta_low"], verified["delta_high"]) == (-0.02, 0.001)
    assert verified["map50_95"] == 0.6  # scored on the trials' own images: the trial's figure stays
    assert meta["verified"]["full_split"] is False


def test_whole_split_scores_replace_the_subset_scores() -> None:
    rows = [{"number": 1, "state": "COMPLETE", "latency_ms": 6.0, "map50_95": 0.6}]
    apply_verified(rows, _record(full_split=True))
    assert (rows[0]["map50_95"], rows[0]["trial_map50_95"]) == (0.61, 0.6)


def test_a_duplicate_takes_its_originals_figures() -> None:
    rows = [{"number": 7, "state": "COMPLETE", "latency_ms": 6.0, "duplicate_of": 1}]
    apply_verified(rows, _record(full_split=False))
    assert rows[0]["verified"] and rows[0]["latency_ms"] == 5.0
