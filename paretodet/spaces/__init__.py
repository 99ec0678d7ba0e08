"""What can be sampled: the Candidate, its knobs, and search spaces."""

from __future__ import annotations

from paretodet.spaces._candidate import (
    CALIBRATIONS,
    PRECISIONS,
    PRUNE_CHOICES,
    TRAINING_KNOBS,
    Candidate,
    DistillConfig,
    PruneConfig,
    QuantConfig,
    inactive_knobs,
    knob_names,
    parse_value,
)
from paretodet.spaces._space import Knob, SearchSpace, default_space, sample

__all__ = [
    "CALIBRATIONS",
    "PRECISIONS",
    "PRUNE_CHOICES",
    "TRAINING_KNOBS",
    "Candidate",
    "DistillConfig",
    "PruneConfig",
    "Knob",
    "QuantConfig",
    "SearchSpace",
    "default_space",
    "inactive_knobs",
    "knob_names",
    "parse_value",
    "sample",
]
