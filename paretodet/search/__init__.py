"""The search: study, trial pipeline, stage cache and storage."""

from __future__ import annotations

from paretodet.search._apply import apply_candidate, load_candidate_file
from paretodet.search._config import OBJECTIVES, SAMPLERS, SearchConfig
from paretodet.search._environment import environment
from paretodet.search._pipeline import (
    EXPORT_KNOBS,
    BuildResult,
    build,
    build_and_measure,
    load_model_and_data,
    write_outputs,
)
from paretodet.search._sensitivity import block_sensitivity, load_sensitivity_tables
from paretodet.search._storage import (
    MANIFEST,
    load_trials,
    open_storage,
    param_importances,
    read_manifest,
    write_manifest,
)
from paretodet.search._study import StudySummary, TrialEvent, run_study
from paretodet.search._worker import run_worker

__all__ = [
    "EXPORT_KNOBS",
    "MANIFEST",
    "OBJECTIVES",
    "SAMPLERS",
    "BuildResult",
    "SearchConfig",
    "StudySummary",
    "TrialEvent",
    "apply_candidate",
    "build",
    "block_sensitivity",
    "build_and_measure",
    "environment",
    "load_candidate_file",
    "load_model_and_data",
    "load_sensitivity_tables",
    "load_trials",
    "open_storage",
    "param_importances",
    "read_manifest",
    "run_study",
    "run_worker",
    "write_manifest",
    "write_outputs",
]
