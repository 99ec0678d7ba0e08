"""Content hashes of files, shared by models (cache keys, study integrity) and datasets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["file_digest", "stable_hash"]


def stable_hash(value: Any) -> str:
    """The sha256 (hex) of ``value`` as canonical JSON (sorted keys): the same on every machine and run.

    Example:
        >>> stable_hash({"b": 1, "a": [2]}) == stable_hash({"a": [2], "b": 1})
        True
    """
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def file_digest(path: Path, *, chunk: int = 1 << 20, length: int = 16) -> str:
    """The sha256 of a file's bytes, hex, its first ``length`` digits (64: all of it); read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()[:length]
