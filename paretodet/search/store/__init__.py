"""The study's storage: opening it (SQLite, journal file or a database server), riding out outages, masking secrets,
trial liveness (heartbeats, re-queueing), verified rows and latency labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.search.store._clock import (
        BUDGET_ATTR as BUDGET_ATTR,
        CLOCK_PREFIX as CLOCK_PREFIX,
        VERIFY_SHARE as VERIFY_SHARE,
        StudyClock as StudyClock,
        used_seconds as used_seconds,
    )
    from paretodet.search.store._latency_labels import (
        LATENCY_PREFIX as LATENCY_PREFIX,
    )
    from paretodet.search.store._liveness import (
        WORKER as WORKER,
        advise_server as advise_server,
        existing_trials as existing_trials,
        process_seed as process_seed,
        requeue_interrupted as requeue_interrupted,
    )
    from paretodet.search.store._resilient import (
        StorageUnavailable as StorageUnavailable,
    )
    from paretodet.search.store._secrets import (
        mask_url as mask_url,
    )
    from paretodet.search.store._storage import (
        MANIFEST as MANIFEST,
        load_trials as load_trials,
        open_storage as open_storage,
        open_workdir_study as open_workdir_study,
        param_importances as param_importances,
        read_manifest as read_manifest,
        write_manifest as write_manifest,
    )
    from paretodet.search.store._verified_rows import (
        VERIFIED_ATTR as VERIFIED_ATTR,
    )
