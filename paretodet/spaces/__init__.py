"""What can be sampled: the Candidate, its knobs, and search spaces."""

from __future__ import annotations

from paretodet.spaces._candidate import (
    CALIBRATIONS,
    KNOB_INFO,
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
from paretodet.spaces._file import PRESETS, knob_table, load_space, parse_space, space_to_dict
from paretodet.spaces._space import Knob, SearchSpace, default_space, sample

__all__ = [
    "CALIBRATIONS",
    "KNOB_INFO",
    "PRESETS",
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
    "knob_table",
    "load_space",
    "parse_space",
    "space_to_dict",
    "knob_names",
    "parse_value",
    "sample",
]
