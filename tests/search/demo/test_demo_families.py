"""The demo knows one teacher per family it demonstrates, and refuses others in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretodet.errors import ModelError
from paretodet.models import list_families
from paretodet.search.demo._demo import DEMO_TEACHERS, run_demo


def test_demo_teachers_are_registered_families() -> None:
    assert set(DEMO_TEACHERS) == {"ultralytics", "torchvision"} and set(DEMO_TEACHERS) <= set(list_families())
    assert DEMO_TEACHERS["torchvision"].data_format == "voc"


def test_unknown_demo_family(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="the demo has teachers for ultralytics, torchvision, not 'mmdet'"):
        run_demo(tmp_path, family="mmdet")


def test_torchvision_demo_searches_around_its_teacher_size() -> None:
    space = DEMO_TEACHERS["torchvision"].space()
    assert next(k for k in space.knobs if k.name == "imgsz").choices == (160, 192, 224)
    assert space.base.imgsz == 192
