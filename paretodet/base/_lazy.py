"""Lazy package exports (PEP 562): a package's public names are imported on first use, so importing the
package, or one light module inside it, does not pull in torch or Ultralytics (``paretodet measure`` runs on
deployment targets that have only the artifacts' runtime)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: dict[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package`` whose public names live in the private
    modules named by ``exports`` (module -> names).

    Example:
        >>> __getattr__, __dir__, __all__ = lazy_exports(__name__, {"_artifact": ("Artifact",)})  # doctest: +SKIP
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(where) | set(vars(sys.modules[package])))

    return __getattr__, __dir__, sorted(where)
