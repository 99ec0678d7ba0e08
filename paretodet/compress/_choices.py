"""The choices compression offers, in a module light enough for the knob declarations to import."""

from __future__ import annotations

__all__ = ["MAX_PRUNE_RATIO", "PRUNE_METHODS", "STRUCTURED_METHODS"]

STRUCTURED_METHODS: tuple[str, ...] = ("l1", "l2", "fpgm", "taylor")  # channels removed physically
PRUNE_METHODS: tuple[str, ...] = (*STRUCTURED_METHODS, "level")  # level: unstructured weight zeroing
MAX_PRUNE_RATIO = 0.9
