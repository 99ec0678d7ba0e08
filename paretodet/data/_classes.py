"""Whether a model knows the classes of the data it meets: its class names against the data's, by class id.

A model's predictions are scored (and trained) by class id, so a model that calls class 0 ``circle`` scored
on data whose class 0 is ``crazing`` gives a meaningless mAP. :func:`check_class_names` compares the two lists
once, where a model meets data (``evaluate``, ``compare``, ``search``, ``apply``, a ``distill.teacher``):
other names, the same names in another order, or another count are refused in one line; a model that names no
classes (a bare ONNX file, a state dict, a model YAML) is scored by class id with a note saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from paretodet.errors import ConfigError

__all__ = ["CLASS_NAME_CHECKS", "ClassCheck", "check_class_names", "names_unknown"]

# what Metrics.class_names_check and the outputs record: the names matched, differed but the user said to score
# by class id anyway (--ignore-class-names), or the model names no classes (nothing to check)
CLASS_NAME_CHECKS: tuple[str, ...] = ("matched", "ignored", "unchecked")
IGNORE_FLAG = "--ignore-class-names"
_SHOWN = 4  # names shown of each list in a message


@dataclass(frozen=True)
class ClassCheck:
    """What :func:`check_class_names` found: ``status`` (one of :data:`CLASS_NAME_CHECKS`) and, unless the names
    matched, one line for people saying what was not checked (``note``)."""

    status: str
    note: str = ""


def names_unknown(names: Sequence[str]) -> bool:
    """Whether ``names`` name no classes: empty, or the placeholders a model without names carries (``0, 1, ...``
    of a model YAML, ``class0, class1, ...`` of a state dict or a bare ONNX file).

    Example:
        >>> names_unknown(("class0", "class1")), names_unknown(("0", "1")), names_unknown(("cat", "dog"))
        (True, True, False)
    """
    names = tuple(str(n) for n in names)
    count = range(len(names))
    return not names or names == tuple(str(i) for i in count) or names == tuple(f"class{i}" for i in count)


def shown(names: Sequence[str]) -> str:
    """The first few of ``names`` as a list for a one-line message.

    Example:
        >>> shown(["a", "b", "c", "d", "e"])
        "['a', 'b', 'c', 'd', ...]"
    """
    head = ", ".join(repr(str(n)) for n in names[:_SHOWN])
    return f"[{head}{', ...' if len(names) > _SHOWN else ''}]"


def check_class_names(
    model_names: Sequence[str],
    data_names: Sequence[str],
    *,
    model: str,
    data: str,
    ignore: bool = False,
    known: bool = True,
    fix: str = "",
) -> ClassCheck:
    """Compare the class names of ``model`` (index = class id) with ``data``'s.

    Another class count is refused whatever ``ignore`` says (ids beyond one list cannot be scored). The same
    names in another order, or other names, are refused in one line (naming the first class that differs, or
    listing the first names of both) unless ``ignore`` (``--ignore-class-names``: score by class id anyway,
    recorded as ``ignored``). A model whose names are placeholders (see :func:`names_unknown`) or not ``known``
    (a state dict's, replaced by the data's) is ``unchecked``. ``fix`` replaces the advice that ends a refusal
    (default: use data for this model).

    Raises:
        ConfigError: one line naming both sides and the fix.

    Example:
        >>> check_class_names(("cat", "dog"), ("cat", "dog"), model="m.pt", data="d.yaml").status
        'matched'
        >>> check_class_names(("class0", "class1"), ("cat", "dog"), model="m.onnx", data="d.yaml").status
        'unchecked'
    """
    model_names, data_names = tuple(map(str, model_names)), tuple(map(str, data_names))
    unknown = not known or names_unknown(model_names)
    if model_names and len(model_names) != len(data_names):
        theirs = f"{len(model_names)} classes" + ("" if unknown else f" {shown(model_names)}")
        raise ConfigError(
            f"{model} predicts {theirs} but {data} has {len(data_names)} {shown(data_names)}: "
            + (fix or "use data for this model")
        )
    if unknown:
        return ClassCheck(
            "unchecked",
            f"{model} names no classes, so they could not be checked: its class ids are scored as {data}'s "
            f"{shown(data_names)}",
        )
    if model_names == data_names:
        return ClassCheck("matched")
    if ignore:
        return ClassCheck(
            "ignored",
            f"class names ignored ({IGNORE_FLAG}): {model} predicts {shown(model_names)} but {data} has "
            f"{shown(data_names)}; classes matched by id",
        )
    raise ConfigError(_mismatch(model_names, data_names, model=model, data=data, fix=fix))


def _mismatch(model_names: tuple[str, ...], data_names: tuple[str, ...], *, model: str, data: str, fix: str) -> str:
    """The one-line refusal of two lists of class names that differ (in order only, or in names)."""
    anyway = f"or pass {IGNORE_FLAG} to match classes by id anyway"
    if sorted(model_names) == sorted(data_names):
        i = next(i for i, (a, b) in enumerate(zip(model_names, data_names)) if a != b)
        return (
            f"{model} knows the classes of {data} in another order: class {i} is {model_names[i]!r} in the model "
            f"but {data_names[i]!r} in {data}: {fix or 'use data labelled in the model class order'}, {anyway}"
        )
    return (
        f"{model} predicts classes {shown(model_names)} but {data} has {shown(data_names)}: "
        f"{fix or 'use data with the model classes'}, {anyway}"
    )
