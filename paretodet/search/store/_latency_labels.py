"""Latencies re-timed on another host (``paretodet measure``), stored with the study under ``latency:<label>``:
their labels and their figures, read by the trial table and the reports."""

from __future__ import annotations

from typing import Any

from paretodet.errors import StudyError
from paretodet.objectives import METRICS

__all__ = ["LATENCY_COLUMNS", "LATENCY_PREFIX", "latency_labels", "relabelled_latency"]

LATENCY_PREFIX = "latency:"
# the figures a label re-times (model-only timings; end-to-end timing needs the training stack's NMS)
LATENCY_COLUMNS: tuple[str, ...] = tuple(name for name, spec in METRICS.items() if spec.timed == "model")
# how each trial ran when re-timed: its own precision hint and provider (a study mixes f32 and bf16 trials)
_RUN_FIELDS: tuple[str, ...] = ("runtime_hint", "provider")


def latency_labels(study_attrs: dict[str, Any]) -> list[str]:
    """The labels of the latency sets stored with a study."""
    return sorted(k[len(LATENCY_PREFIX) :] for k in study_attrs if k.startswith(LATENCY_PREFIX))


def relabelled_latency(study_attrs: dict[str, Any], label: str) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """The per-trial latency figures stored under ``label`` (with the precision hint and provider each trial ran
    with, where recorded) and the host they were timed on.

    Raises StudyError naming the labels that exist when ``label`` is unknown.
    """
    record = study_attrs.get(f"{LATENCY_PREFIX}{label}")
    if not record:
        known = latency_labels(study_attrs)
        hint = f"known: {', '.join(known)}" if known else "none measured yet: run 'paretodet measure' first"
        raise StudyError(f"no latencies labelled '{label}' in this study ({hint})")
    figures = {
        int(n): {**{c: float(v[c]) for c in LATENCY_COLUMNS}, **{k: str(v[k]) for k in _RUN_FIELDS if k in v}}
        for n, v in record["trials"].items()
    }
    return figures, dict(record.get("host") or {})
