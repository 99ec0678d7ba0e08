"""Content hashes of files, shared by models (cache keys, study integrity) and datasets."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_digest"]


def file_digest(path: Path, *, chunk: int = 1 << 20, length: int = 16) -> str:
    """The sha256 of a file's bytes, hex, its first ``length`` digits (64: all of it); read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()[:length]
