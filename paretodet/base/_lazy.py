"""Lazy package exports (PEP 562): a package's public names are imported on first use, so importing the
package, or one light module inside it, does not pull in torch or Ultralytics (``paretodet measure`` runs on
deployment targets that have only the artifacts' runtime)."""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["declared_exports", "lazy_exports"]


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


def declared_exports(init_file: str, package: str) -> dict[str, tuple[str, ...]]:
    """The lazy table of a package, read from its ``__init__``'s ``if TYPE_CHECKING:`` block, whose imports
    (``from package._module import name as name``, or from a public subpackage) are then the one list of its
    public names: type checkers read them, and :func:`lazy_exports` imports each on first use.

    Example:
        >>> table = declared_exports(__file__, __name__)  # doctest: +SKIP
    """
    with open(init_file, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    table: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and (statement.module or "").startswith(f"{package}."):
                    module = statement.module[len(package) + 1 :]  # type: ignore[index]
                    table.setdefault(module, []).extend(alias.asname or alias.name for alias in statement.names)
    return {module: tuple(names) for module, names in table.items()}
