"""The search: study, trial pipeline, stage cache and storage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

# the public names: the imports under TYPE_CHECKING below (type checkers read them; each is imported on first use)
__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.search._apply import (
        apply_candidate as apply_candidate,
        load_candidate_file as load_candidate_file,
    )
    from paretodet.search._cache_admin import (
        CacheCheck as CacheCheck,
        CachePruning as CachePruning,
        prune_cache as prune_cache,
        verify_cache as verify_cache,
    )
    from paretodet.search._compare import (
        Comparison as Comparison,
        compare_models as compare_models,
    )
    from paretodet.search._config import (
        OBJECTIVES as OBJECTIVES,
        SAMPLERS as SAMPLERS,
        SearchConfig as SearchConfig,
    )
    from paretodet.search._demo import run_demo as run_demo
    from paretodet.search._environment import (
        environment as environment,
    )
    from paretodet.search._evaluate_model import (
        evaluate_artifact_file as evaluate_artifact_file,
        evaluate_model as evaluate_model,
        is_artifact_file as is_artifact_file,
    )
    from paretodet.search._measure import measure_study as measure_study
    from paretodet.search._pipeline import (
        EXPORT_KNOBS as EXPORT_KNOBS,
        BuildResult as BuildResult,
        build as build,
        build_and_measure as build_and_measure,
        load_model_and_data as load_model_and_data,
        write_outputs as write_outputs,
    )
    from paretodet.search._sensitivity import (
        block_sensitivity as block_sensitivity,
        load_sensitivity_tables as load_sensitivity_tables,
    )
    from paretodet.search._storage import (
        MANIFEST as MANIFEST,
        load_trials as load_trials,
        open_storage as open_storage,
        param_importances as param_importances,
        read_manifest as read_manifest,
        write_manifest as write_manifest,
    )
    from paretodet.search._study import (
        StudySummary as StudySummary,
        TrialEvent as TrialEvent,
        run_study as run_study,
        study_space as study_space,
    )
    from paretodet.search._tv_teacher import (
        TORCHVISION_TEACHERS as TORCHVISION_TEACHERS,
        TorchvisionTeacherRecipe as TorchvisionTeacherRecipe,
        torchvision_teacher_path as torchvision_teacher_path,
        torchvision_teacher_recipe as torchvision_teacher_recipe,
        train_torchvision_teacher as train_torchvision_teacher,
    )
    from paretodet.search._verify import (
        VerifySummary as VerifySummary,
        verify_study as verify_study,
    )
    from paretodet.search._worker import (
        run_worker as run_worker,
    )
