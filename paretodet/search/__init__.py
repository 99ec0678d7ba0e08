"""The search, in five rooms, each layered on the next: ``demo`` (the built-in demo and its teachers) > ``artifacts``
(evaluate, compare, measure, apply, verify) > ``study`` (the study and its scheduling) > ``pipeline`` (the trial
pipeline and its stage cache) > ``store`` (the study's storage and its resilience)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

# the public names: the imports under TYPE_CHECKING below (type checkers read them; each is imported on first use)
__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.search.artifacts import (
        Comparison as Comparison,
        VerifySummary as VerifySummary,
        apply_candidate as apply_candidate,
        compare_models as compare_models,
        evaluate_artifact_file as evaluate_artifact_file,
        evaluate_model as evaluate_model,
        is_artifact_file as is_artifact_file,
        load_candidate_file as load_candidate_file,
        measure_study as measure_study,
        verify_study as verify_study,
    )
    from paretodet.search.demo import (
        TORCHVISION_TEACHERS as TORCHVISION_TEACHERS,
        TorchvisionTeacherRecipe as TorchvisionTeacherRecipe,
        run_demo as run_demo,
        torchvision_teacher_path as torchvision_teacher_path,
        torchvision_teacher_recipe as torchvision_teacher_recipe,
        train_torchvision_teacher as train_torchvision_teacher,
    )
    from paretodet.search.pipeline import (
        EXPORT_KNOBS as EXPORT_KNOBS,
        BuildResult as BuildResult,
        CacheCheck as CacheCheck,
        CachePruning as CachePruning,
        block_sensitivity as block_sensitivity,
        build as build,
        build_and_measure as build_and_measure,
        load_model_and_data as load_model_and_data,
        load_sensitivity_tables as load_sensitivity_tables,
        prune_cache as prune_cache,
        verify_cache as verify_cache,
        write_outputs as write_outputs,
    )
    from paretodet.search.store import (
        MANIFEST as MANIFEST,
        load_trials as load_trials,
        open_storage as open_storage,
        param_importances as param_importances,
        read_manifest as read_manifest,
        write_manifest as write_manifest,
    )
    from paretodet.search.study import (
        OBJECTIVES as OBJECTIVES,
        SAMPLERS as SAMPLERS,
        SearchConfig as SearchConfig,
        StudySummary as StudySummary,
        TrialEvent as TrialEvent,
        environment as environment,
        run_study as run_study,
        run_worker as run_worker,
        study_space as study_space,
    )
