"""Duplicate configs across processes: a sampled config another trial measured or is building is not built
again (see ``same_config``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from paretodet.search.study._early_stop import STOPPED_ATTR

if TYPE_CHECKING:
    import optuna

__all__ = ["MAX_RESAMPLES", "RACE_SETTLE_S", "config_key_of", "record_duplicate", "same_config"]

MAX_RESAMPLES = 25  # duplicates in a row before the space counts as exhausted
RACE_SETTLE_S = 1.5  # how long a trial waits for a higher-numbered twin to yield (see same_config)


def same_config(study: optuna.Study, number: int, key: str) -> optuna.trial.FrozenTrial | None:
    """A trial other than ``number`` that measured (COMPLETE), is building (RUNNING) or early stopping judged
    (PRUNED with ``stopped``, at a rung or by its bound) the config ``key``.

    Each process writes its trial's key before it looks. Of two processes that sample one config at the same
    moment, at least the one that looked last sees the other. A trial yields to a lower-numbered one it sees.
    Seeing only higher-numbered ones, it cannot tell whether they saw it (and yield) or looked before it wrote
    (and build): it waits ``RACE_SETTLE_S`` and yields if one is still building. Either one builds the config,
    or, rarely, neither does and it is sampled again later; never both."""
    import optuna

    matches = _building_or_built(study, number, key)
    for other in matches:
        if other.state == optuna.trial.TrialState.COMPLETE or other.number < number:
            return other
    if matches:
        time.sleep(RACE_SETTLE_S)
        again = _building_or_built(study, number, key)
        return again[0] if again else None
    return None


def _building_or_built(study: optuna.Study, number: int, key: str) -> list[optuna.trial.FrozenTrial]:
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.PRUNED)
    trials = [t for t in study.get_trials(deepcopy=False, states=states) if t.state.name != "PRUNED" or _judged(t)]
    return [t for t in trials if t.number != number and config_key_of(t) == key]


def _judged(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether a PRUNED trial was judged by early stopping (its config is known: not built again)."""
    stopped = trial.user_attrs.get(STOPPED_ATTR) or {}
    return bool(stopped) and stopped.get("kind") != "budget"


def config_key_of(trial: optuna.trial.FrozenTrial) -> str | None:
    key = trial.user_attrs.get("config_key")
    if key is None and "candidate" in trial.user_attrs:  # trials stored before config keys were
        from paretodet.errors import ConfigError
        from paretodet.spaces import Candidate

        try:
            key = Candidate.from_dict(trial.user_attrs["candidate"]).config_key()
        except ConfigError:
            return None
    return key


def record_duplicate(
    study: optuna.Study, trial: optuna.Trial, original: optuna.trial.FrozenTrial, *, exhausted: bool
) -> tuple[float, ...]:
    """Handle a sampled config that ``original`` measured or is building: PRUNED (sample again) unless the
    space is exhausted, then COMPLETE with ``original``'s stored result (nothing is measured)."""
    import optuna

    trial.set_user_attr("duplicate_of", original.number)
    if not exhausted or original.state != optuna.trial.TrialState.COMPLETE:
        if exhausted:  # every config left is being built by another process: nothing new to do here
            study.stop()
        raise optuna.TrialPruned(f"same config as trial {original.number}")
    for key in ("metrics", "artifact"):
        trial.set_user_attr(key, original.user_attrs.get(key))
    trial.set_user_attr("cache_hits", [])
    for name, violation in (original.constraints or {}).items():
        trial.set_constraint(name, violation)
    return tuple(original.values)
