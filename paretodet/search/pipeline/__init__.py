"""Building a candidate: the trial pipeline (load, transform, export, measure), its stage cache and the cache's
admin, block sensitivity, the INT8 accuracy check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.search.pipeline._cache_admin import (
        CacheCheck as CacheCheck,
        CachePruning as CachePruning,
        prune_cache as prune_cache,
        verify_cache as verify_cache,
    )
    from paretodet.search.pipeline._pipeline import (
        EXPORT_KNOBS as EXPORT_KNOBS,
        BuildResult as BuildResult,
        build as build,
        build_and_measure as build_and_measure,
        class_check as class_check,
        load_model_and_data as load_model_and_data,
        twin_of as twin_of,
        write_outputs as write_outputs,
    )
    from paretodet.search.pipeline._sensitivity import (
        block_sensitivity as block_sensitivity,
        load_sensitivity_tables as load_sensitivity_tables,
    )
    from paretodet.search.pipeline._stages import (
        TrainingWatch as TrainingWatch,
        check_teacher_classes as check_teacher_classes,
    )
