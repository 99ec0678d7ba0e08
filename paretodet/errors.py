"""The project's exceptions: the CLI turns each into one clear line and an exit code.

Library code raises these (never ``sys.exit``, never prints). Messages name the problem and the fix.
"""

from __future__ import annotations

__all__ = [
    "BudgetError",
    "ConfigError",
    "DataError",
    "ExportError",
    "ModelError",
    "ParetodetError",
    "StudyError",
    "TrainingDiverged",
    "UntrustedModelError",
    "first_line",
]


class ParetodetError(Exception):
    """Base class of every error paretodet raises on purpose."""

    exit_code: int = 2


class ConfigError(ParetodetError):
    """A candidate, a ``--set`` key/value, a space or an option value is invalid."""


class DataError(ParetodetError):
    """A data YAML, an image folder or a label file is missing or malformed."""


class ModelError(ParetodetError):
    """A model file is missing, unreadable, or cannot be fetched."""


class UntrustedModelError(ModelError):
    """A checkpoint needs a type outside the allow-list to be unpickled (loading it could run its code).

    Attributes:
        refused: the global it wanted, such as ``posix.system`` ('' when it could not be named).
    """

    def __init__(self, message: str, *, refused: str = "") -> None:
        super().__init__(message)
        self.refused = refused


class TrainingDiverged(ConfigError):
    """A training loss went non-finite; the message names the term and the advice that fits its cause."""


class ExportError(ParetodetError):
    """A model could not be turned into the requested artifact."""


class BudgetError(ParetodetError):
    """A budget expression is malformed or names an unknown metric."""


class StudyError(ParetodetError):
    """A work dir or study is missing, empty or incompatible."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when the message is empty), for one-line errors.

    Example:
        >>> first_line(ValueError("bad shape\\nat layer 3"))
        'bad shape'
    """
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
