"""A model's class names against the data's (issue 35): matched, refused in one line, ignored, or unchecked."""

from __future__ import annotations

import pytest

from paretodet.data import check_class_names, names_unknown
from paretodet.errors import ConfigError

SHAPES = ("circle", "square", "triangle", "star", "cross", "ring")
STEEL = ("crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches")


def check(
    model_names: tuple[str, ...], data_names: tuple[str, ...] = SHAPES, *, ignore: bool = False, known: bool = True
) -> str:
    return check_class_names(model_names, data_names, model="m.pt", data="d.yaml", ignore=ignore, known=known).status


def refusal(model_names: tuple[str, ...], data_names: tuple[str, ...] = SHAPES, *, ignore: bool = False) -> str:
    with pytest.raises(ConfigError) as caught:
        check(model_names, data_names, ignore=ignore)
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    return message


def test_the_same_names_in_the_same_order_match() -> None:
    assert check(SHAPES) == "matched"
    assert check(SHAPES, ignore=True) == "matched"


def test_other_names_are_refused_listing_both_unless_ignored() -> None:
    message = refusal(SHAPES, STEEL)
    assert "m.pt predicts classes ['circle', 'square', 'triangle', 'star', ...]" in message
    assert "d.yaml has ['crazing', 'inclusion', 'patches', 'pitted_surface', ...]" in message
    assert "--ignore-class-names" in message
    result = check_class_names(SHAPES, STEEL, model="m.pt", data="d.yaml", ignore=True)
    assert result.status == "ignored" and "'crazing'" in result.note and "'circle'" in result.note


def test_the_same_names_in_another_order_name_the_first_difference() -> None:
    message = refusal(("circle", "triangle", "square", "star", "cross", "ring"))
    assert "another order" in message and "class 1 is 'triangle' in the model but 'square' in d.yaml" in message
    assert check(("circle", "triangle", "square", "star", "cross", "ring"), ignore=True) == "ignored"


def test_another_count_is_refused_even_when_ignored() -> None:
    assert "predicts 2 classes ['a', 'b'] but d.yaml has 6" in refusal(("a", "b"), ignore=True)
    assert "predicts 2 classes but" in refusal(("class0", "class1"))  # placeholders: the count still counts


@pytest.mark.parametrize("names", [(), ("0", "1", "2", "3", "4", "5"), tuple(f"class{i}" for i in range(6))])
def test_a_model_without_names_is_unchecked_with_a_note(names: tuple[str, ...]) -> None:
    assert names_unknown(names)
    result = check_class_names(names, SHAPES, model="bare.onnx", data="d.yaml")
    assert result.status == "unchecked" and "bare.onnx names no classes" in result.note
    assert check(SHAPES, known=False) == "unchecked"  # a state dict's names, replaced by the data's
