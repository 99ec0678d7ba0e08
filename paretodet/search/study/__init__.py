"""The study and its scheduling: the search config, running a study (one process or many workers), reference probes,
duplicate samples, study integrity and environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.search.study._config import (
        OBJECTIVES as OBJECTIVES,
        SAMPLERS as SAMPLERS,
        SearchConfig as SearchConfig,
    )
    from paretodet.search.study._environment import (
        environment as environment,
    )
    from paretodet.search.study._study import (
        StudySummary as StudySummary,
        TrialEvent as TrialEvent,
        run_study as run_study,
        study_space as study_space,
    )
    from paretodet.search.study._worker import (
        run_worker as run_worker,
    )
