"""paretodet: find the Pareto-best ways to shrink and speed up an object detector."""

from __future__ import annotations

import logging

__version__ = "0.1.0"
__all__ = ["__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
