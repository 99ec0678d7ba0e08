from __future__ import annotations

import torch

from paretodet.models import StudentSpec, demo_teacher_path, load_detector, make_student
from paretodet.models.ultralytics._c2f import split_c2f_blocks
from paretodet.models.ultralytics._student import (
    _drop_repeats,
    _shrink_width,
    _student_shapes,
    init_from_teacher,
    spaced_indices,
)


def test_spaced_indices_keep_first_and_last() -> None:
    assert spaced_indices(6, 3) == [0, 2, 5]
    assert spaced_indices(2, 1) == [0]
    assert spaced_indices(3, 5) == [0, 1, 2]
    assert spaced_indices(4, 2) == [0, 3]


def test_student_is_the_teacher_shrunk_to_its_shapes() -> None:
    teacher = load_detector(demo_teacher_path()).model
    student = make_student(teacher, StudentSpec(width=0.5, depth=0.5, init="scratch"))
    report = init_from_teacher(student, teacher)
    assert report.copied == report.total and report.inherited == 1.0
    assert report.groups_pruned > 10 and report.repeats_dropped > 0
    shrunk, _ = split_c2f_blocks(teacher)
    for param in shrunk.parameters():
        param.requires_grad_(True)
    _drop_repeats(shrunk, student)
    _shrink_width(shrunk, _student_shapes(student), imgsz=96)
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        assert torch.equal(student.eval()(x)[0], shrunk.eval()(x)[0])  # the merged C2f computes the split one


def test_kept_channels_are_the_most_important_not_the_first() -> None:
    teacher = load_detector(demo_teacher_path()).model
    student = make_student(teacher, StudentSpec(width=0.5, init="teacher"))
    kept, source = student.model[0].conv.weight, teacher.model[0].conv.weight
    rows = [next(i for i, other in enumerate(source) if torch.equal(row, other)) for row in kept]
    assert len(set(rows)) == len(rows) == source.shape[0] // 2
    assert rows != list(range(len(rows)))  # a ranking, not the leading slice
    norms = source.flatten(1).norm(dim=1)
    dropped = [i for i in range(source.shape[0]) if i not in rows]
    assert norms[rows].mean() > norms[dropped].mean()  # the group's magnitude follows the filters' own
