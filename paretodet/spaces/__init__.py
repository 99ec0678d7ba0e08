"""What can be sampled: the Candidate, its knobs (each declared once, see ``knob_specs``), and search spaces."""

from __future__ import annotations

from paretodet.spaces._candidate import (
    Candidate,
    inactive_knobs,
    knob_defaults,
    knob_names,
    knob_specs,
    parse_value,
    stage_knobs,
    techniques_used,
    training_only_knobs,
    unsupported_knobs,
)
from paretodet.spaces._configs import CALIBRATIONS, PRECISIONS, PRUNE_CHOICES, DistillConfig, PruneConfig, QuantConfig
from paretodet.spaces._file import PRESETS, knob_table, load_space, parse_space, space_to_dict
from paretodet.spaces._knobs import STAGES, TECHNIQUES, Condition, KnobSpec, check_specs, knob
from paretodet.spaces._space import Knob, SearchSpace, default_space, sample

__all__ = [
    "CALIBRATIONS",
    "PRESETS",
    "PRECISIONS",
    "PRUNE_CHOICES",
    "STAGES",
    "TECHNIQUES",
    "Candidate",
    "Condition",
    "DistillConfig",
    "Knob",
    "KnobSpec",
    "PruneConfig",
    "QuantConfig",
    "SearchSpace",
    "check_specs",
    "default_space",
    "inactive_knobs",
    "knob",
    "knob_defaults",
    "knob_names",
    "knob_specs",
    "knob_table",
    "load_space",
    "parse_space",
    "parse_value",
    "sample",
    "space_to_dict",
    "stage_knobs",
    "techniques_used",
    "training_only_knobs",
    "unsupported_knobs",
]
