"""Looking behind the errors libraries wrap: the chain of causes of an exception, and a full disk in it."""

from __future__ import annotations

import errno
from collections.abc import Iterator

__all__ = ["NO_SPACE_ERRNOS", "exception_chain", "no_space_on"]

NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
NO_SPACE_TEXT = ("no space left on device", "disk quota exceeded", "database or disk is full")


def exception_chain(exc: BaseException, *, limit: int = 8) -> Iterator[BaseException]:
    """``exc``, then what caused it (``__cause__``, else ``__context__``), up to ``limit`` errors."""
    current: BaseException | None = exc
    for _ in range(limit):
        if current is None:
            return
        yield current
        current = current.__cause__ or current.__context__


def no_space_on(exc: BaseException, *, default: str) -> str | None:
    """Where a write failed for lack of space, when ``exc`` (or what caused it) says so: the file the error
    names, else ``default``; None when the error is something else.

    Libraries that wrap ENOSPC in their own errors (SQLite's "database or disk is full") count too.

    Example:
        >>> no_space_on(OSError(28, "No space left on device", "/w/cache/x.onnx"), default="/w")
        '/w/cache/x.onnx'
    """
    for current in exception_chain(exc):
        if isinstance(current, OSError) and current.errno in NO_SPACE_ERRNOS:
            return str(current.filename) if current.filename else default
        if any(marker in str(current).lower() for marker in NO_SPACE_TEXT):
            return default
    return None
