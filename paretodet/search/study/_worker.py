"""Many workers, one study: the study stores its own search settings, so a worker needs only the storage URL
and the study name. N processes on N machines share the study through Optuna's RDB storage (PostgreSQL,
MySQL, ...); each one samples, builds and measures its own trials. There is no scheduler of our own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from paretodet.errors import StudyError
from paretodet.search.store import mask_url, open_storage
from paretodet.search.study._config import SearchConfig
from paretodet.search.study._integrity import STUDY_CONFIG_ATTR
from paretodet.search.study._study import StudySummary, TrialEvent, run_study

__all__ = ["STUDY_CONFIG_ATTR", "run_worker"]


def run_worker(
    storage: str,
    study: str,
    *,
    workdir: Path,
    trials: int | None = None,
    trust_model: bool = False,
    device: str = "cpu",
    storage_grace_s: float = 600.0,
    on_trial: Callable[[TrialEvent], None] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
) -> StudySummary:
    """Join study ``study`` in ``storage`` and run trials until it holds its target of completed trials.

    ``workdir`` holds this worker's cache and artifacts (a shared folder, or one per worker: every trial
    records its artifact's path). The model and data paths stored with the study must be readable here.

    Example:
        >>> run_worker("postgresql://u:p@db/paretodet", "yolo-edge", workdir=Path("/shared/w"))  # doctest: +SKIP
    """
    import optuna

    opened = open_storage(storage, grace_s=storage_grace_s)
    try:
        stored = optuna.load_study(study_name=study, storage=opened).user_attrs.get(STUDY_CONFIG_ATTR)
    except KeyError:
        raise StudyError(
            f"no study '{study}' in {mask_url(storage)}: start it with 'paretodet search --storage ...'"
        ) from None
    if not stored:
        raise StudyError(f"study '{study}' was not created by paretodet search (no settings stored with it)")
    config = SearchConfig.from_stored(
        stored,
        workdir=workdir,
        storage=storage,
        study=study,
        trials=trials,
        trust_model=trust_model,
        device=device,
        storage_grace_s=storage_grace_s,
    )
    return run_study(config, on_trial=on_trial, on_epoch=on_epoch, joining=True)
