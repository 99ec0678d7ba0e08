"""Recognising a full disk behind whatever error a library raised while writing."""

from __future__ import annotations

import errno

__all__ = ["NO_SPACE_ERRNOS", "no_space_on"]

NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
NO_SPACE_TEXT = ("no space left on device", "disk quota exceeded", "database or disk is full")


def no_space_on(exc: BaseException, *, default: str) -> str | None:
    """Where a write failed for lack of space, when ``exc`` (or what caused it) says so: the file the error
    names, else ``default``; None when the error is something else.

    Libraries that wrap ENOSPC in their own errors (SQLite's "database or disk is full") count too.

    Example:
        >>> no_space_on(OSError(28, "No space left on device", "/w/cache/x.onnx"), default="/w")
        '/w/cache/x.onnx'
    """
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, OSError) and current.errno in NO_SPACE_ERRNOS:
            return str(current.filename) if current.filename else default
        text = str(current).lower()
        if any(marker in text for marker in NO_SPACE_TEXT):
            return default
        current = current.__cause__ or current.__context__
        seen += 1
    return None
