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
from paretodet.spaces._configs import (
    CALIBRATIONS,
    PRECISIONS,
    PRUNE_CHOICES,
    PRUNE_METHOD_NAMES,
    DistillConfig,
    PruneConfig,
    QuantConfig,
)
from paretodet.spaces._file import PRESETS, default_space, knob_table, load_space, parse_space, space_to_dict
from paretodet.spaces._knobs import STAGES, TECHNIQUES, Condition, KnobSpec, check_specs, knob
from paretodet.spaces._space import Knob, SearchSpace, sample
from paretodet.spaces._variants import (
    ORIGINAL_PROBE,
    VARIANTS,
    ProbeContext,
    TechniqueVariant,
    allowed,
    get_variant,
    register_variant,
    unregister_variant,
)

__all__ = [
    "CALIBRATIONS",
    "ORIGINAL_PROBE",
    "PRESETS",
    "PRECISIONS",
    "PRUNE_CHOICES",
    "PRUNE_METHOD_NAMES",
    "STAGES",
    "TECHNIQUES",
    "VARIANTS",
    "Candidate",
    "Condition",
    "DistillConfig",
    "Knob",
    "KnobSpec",
    "ProbeContext",
    "PruneConfig",
    "QuantConfig",
    "SearchSpace",
    "TechniqueVariant",
    "allowed",
    "check_specs",
    "default_space",
    "get_variant",
    "inactive_knobs",
    "knob",
    "knob_defaults",
    "knob_names",
    "knob_specs",
    "knob_table",
    "load_space",
    "parse_space",
    "parse_value",
    "register_variant",
    "sample",
    "space_to_dict",
    "stage_knobs",
    "techniques_used",
    "training_only_knobs",
    "unregister_variant",
    "unsupported_knobs",
]
