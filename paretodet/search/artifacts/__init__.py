"""Commands that act on artifacts and finished studies: evaluate, compare, measure, apply, verify (and the precision
hint an artifact runs with)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.search.artifacts._apply import (
        apply_candidate as apply_candidate,
        load_candidate_file as load_candidate_file,
    )
    from paretodet.search.artifacts._compare import (
        Comparison as Comparison,
        compare_models as compare_models,
    )
    from paretodet.search.artifacts._evaluate_model import (
        evaluate_artifact_file as evaluate_artifact_file,
        evaluate_model as evaluate_model,
        is_artifact_file as is_artifact_file,
    )
    from paretodet.search.artifacts._measure import (
        measure_study as measure_study,
    )
    from paretodet.search.artifacts._verify import (
        VerifySummary as VerifySummary,
        verify_study as verify_study,
    )
