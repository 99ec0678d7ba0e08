"""Verified figures in the trial table: the latencies ``paretodet verify`` timed in interleaved rounds (and the
whole-split mAP when trials scored a subset) replace the per-trial ones, which stay alongside as
``trial_<metric>`` columns."""

from __future__ import annotations

from typing import Any

__all__ = ["VERIFIED_ATTR", "VERIFIED_COLUMNS", "apply_verified"]

VERIFIED_ATTR = "paretodet_verified"  # study attr: the verified figures (see search.verify_study)
# the figures a verification stores per trial, and the trial table's columns they replace or add
VERIFIED_COLUMNS = (
    "latency_ms",
    "latency_low_ms",
    "latency_high_ms",
    "latency_ratio",
    "ratio_low",
    "ratio_high",
    "fps",
)
# the paired change of mAP50-95 against the reference (on the trials' own images, or on the whole split)
DELTA_COLUMNS = ("delta_map50_95", "delta_low", "delta_high")
FULL_SPLIT_COLUMNS = ("map50_95", "map50_95_low", "map50_95_high", "map50", "evals_file")
KEPT = ("latency_ms", "fps", "map50_95", "map50_95_low", "map50_95_high", "map50")  # kept as trial_<name>


def apply_verified(rows: list[dict[str, Any]], record: dict[str, Any]) -> dict[str, Any]:
    """Put the verified figures of ``record`` into ``rows`` (in place): each verified row gets ``verified``
    True and its per-trial figures as ``trial_<metric>``; other rows get ``verified`` False. Returns what the
    manifest adds (``verified``: host, rounds, reference, fronts before and after).

    Example:
        >>> meta = apply_verified(rows, study.user_attrs["paretodet_verified"])  # doctest: +SKIP
    """
    figures: dict[str, dict[str, Any]] = record.get("trials", {})
    for row in rows:
        source = row.get("duplicate_of")
        number = int(source) if source is not None and source == source else int(row["number"])
        measured = figures.get(str(number))
        row["verified"] = measured is not None and row.get("state") == "COMPLETE"
        row["reference"] = number == (record.get("reference") or {}).get("trial")
        if not row["verified"] or measured is None:
            continue
        for column in KEPT:
            row[f"trial_{column}"] = row.get(column)
        for column in VERIFIED_COLUMNS + DELTA_COLUMNS + (FULL_SPLIT_COLUMNS if record.get("full_split") else ()):
            if column in measured:
                row[column] = measured[column]
        host = record.get("host") or {}
        row.update({"host": host.get("host"), "cpu": host.get("cpu"), "cores": host.get("cores")})
    summary = {k: record.get(k) for k in ("host", "rounds", "reference", "front_before", "front_after")}
    summary.update({"full_split": bool(record.get("full_split")), "images": record.get("images")})
    return {"verified": summary}
