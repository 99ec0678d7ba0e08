"""A distill.teacher must predict the student's classes (issue 35): same names, same order, same count."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from paretodet.errors import ConfigError
from paretodet.models import check_same_classes

SHAPES = ("circle", "square", "triangle", "star", "cross", "ring")


def teacher(names: tuple[str, ...], *, known: bool = True) -> SimpleNamespace:
    return SimpleNamespace(names=names, source="t.pt", names_known=known)


def test_a_teacher_of_the_students_classes_passes() -> None:
    check_same_classes(teacher(SHAPES), names=list(SHAPES))  # type: ignore[arg-type]
    check_same_classes(teacher(SHAPES), names=dict(enumerate(SHAPES)))  # type: ignore[arg-type]  # Ultralytics'
    check_same_classes(teacher(SHAPES), count=6)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("names", "needle"),
    [
        (("a", "b", "c", "d", "e", "f"), "the teacher (t.pt) predicts classes ['a', 'b', 'c', 'd', ...]"),
        (("square", "circle", "triangle", "star", "cross", "ring"), "class 0 is 'square' in the model but 'circle'"),
        (("a", "b"), "predicts 2 classes ['a', 'b'] but the student has 6"),
    ],
)
def test_a_teacher_of_other_classes_is_refused_in_one_line(names: tuple[str, ...], needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_same_classes(teacher(names), names=SHAPES)  # type: ignore[arg-type]
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and needle in message and "same classes" in message


def test_ignored_names_still_need_the_same_count() -> None:
    check_same_classes(teacher(("a", "b", "c", "d", "e", "f")), names=SHAPES, ignore=True)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="predicts 2 classes but the student learns 6"):
        check_same_classes(teacher(("a", "b")), count=6, ignore=True)  # type: ignore[arg-type]


def test_a_teacher_or_student_without_names_is_matched_by_id() -> None:
    check_same_classes(teacher(tuple(f"class{i}" for i in range(6)), known=False), names=SHAPES)  # type: ignore[arg-type]
    check_same_classes(teacher(SHAPES), names=[str(i) for i in range(6)])  # type: ignore[arg-type]
