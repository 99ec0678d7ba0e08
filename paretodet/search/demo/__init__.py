"""The built-in demo: its teachers (trained on the synthetic set on first use) and the demo run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.search.demo._demo import (
        run_demo as run_demo,
    )
    from paretodet.search.demo._tv_teacher import (
        TORCHVISION_TEACHERS as TORCHVISION_TEACHERS,
        TorchvisionTeacherRecipe as TorchvisionTeacherRecipe,
        torchvision_teacher_path as torchvision_teacher_path,
        torchvision_teacher_recipe as torchvision_teacher_recipe,
        train_torchvision_teacher as train_torchvision_teacher,
    )
