"""The path older pruned checkpoints name for :class:`~paretodet.models.C2fSplit` (it lived here before the
Ultralytics family's code moved into ``paretodet.models``): full unpickling of such a file imports this module."""

from __future__ import annotations

from paretodet.models import C2fSplit

__all__ = ["C2fSplit"]
