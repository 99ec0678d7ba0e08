"""The one-line refusal of a checkpoint that needs a type outside paretodet's allow-list to be unpickled."""

from __future__ import annotations

from pathlib import Path

from paretodet.errors import UntrustedModelError

__all__ = ["TRUST_HINT", "refuse"]

TRUST_HINT = (
    "paretodet loads checkpoints without running code; if you trust this file, pass --trust-model "
    "(workers: PARETODET_TRUST_MODEL=1)"
)


def refuse(refused: str, source: str | Path) -> UntrustedModelError:
    """The error for a checkpoint that needs ``refused`` (a global such as ``posix.system``) to be unpickled.

    Example:
        >>> str(refuse("posix.system", "evil.pt")).startswith("refused to unpickle 'posix.system' from evil.pt")
        True
    """
    what = f"'{refused}'" if refused else "a type outside the allow-list"
    return UntrustedModelError(f"refused to unpickle {what} from {source}: {TRUST_HINT}", refused=refused)
