"""TPE that learns from stopped trials.

In a multi-objective study Optuna's TPE has no values for a PRUNED trial (``Trial.report`` is refused there),
so it cannot rank a trial that early stopping stopped against the others. The sampler here shows TPE the
study as it is, except that:

- a trial stopped by early stopping is seen as completed at what was known when it stopped: its rung mAP
  (a pessimistic value: training would only have gone on had it been good) or, stopped by the bound before
  training, the optimistic mAP that was still dominated, each with the FPS and size its untrained twin measured;
  non-dominated sorting then ranks it with every measured trial;
- any other PRUNED trial (a duplicate sample, a trial the time budget skipped or interrupted) is left as
  Optuna has it: TPE puts PRUNED trials without values among the worse ones, which keeps it from proposing a
  config again and again (hiding duplicates made it re-propose them until the space counted as exhausted).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from paretodet.search.study._early_stop import SHAPE_ATTR, STOPPED_ATTR

__all__ = ["InformedTPESampler", "informed_trials"]


def _as_completed(trial: FrozenTrial, objectives: Sequence[str]) -> FrozenTrial | None:
    stopped, shape = trial.user_attrs.get(STOPPED_ATTR), trial.user_attrs.get(SHAPE_ATTR)
    if not stopped or not shape or stopped.get("kind") == "budget":
        return None
    known = stopped.get("rung_map") if stopped.get("rung_map") is not None else stopped.get("optimistic_map")
    if known is None:
        return None
    figures = {**shape, "map50_95": known}
    return FrozenTrial(
        number=trial.number,
        state=TrialState.COMPLETE,
        value=None,
        values=[float(figures[m]) for m in objectives],
        datetime_start=trial.datetime_start,
        datetime_complete=trial.datetime_complete,
        params=trial.params,
        distributions=trial.distributions,
        user_attrs=trial.user_attrs,
        system_attrs=trial.system_attrs,
        intermediate_values={},
        trial_id=trial._trial_id,
    )


def informed_trials(
    trials: Sequence[FrozenTrial], objectives: Sequence[str], states: Container[TrialState] | None = None
) -> list[FrozenTrial]:
    """``trials`` as the sampler sees them (see the module's docstring), filtered to ``states``."""
    seen = []
    for trial in trials:
        if trial.state == TrialState.PRUNED:
            trial = _as_completed(trial, objectives) or trial
        if states is None or trial.state in states:
            seen.append(trial)
    return seen


class _InformedView:
    """The study as the sampler sees it: every attribute is the study's, except its trials."""

    def __init__(self, study: optuna.Study, objectives: Sequence[str]) -> None:
        self._study, self._objectives = study, objectives

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def _get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None, use_cache: bool = False
    ) -> list[FrozenTrial]:
        trials = self._study._get_trials(deepcopy=deepcopy, states=None, use_cache=use_cache)
        return informed_trials(trials, self._objectives, states)

    def get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        return informed_trials(self._study.get_trials(deepcopy=deepcopy), self._objectives, states)


class InformedTPESampler(optuna.samplers.TPESampler):
    """Optuna's TPE over :class:`_InformedView` of the study (``objectives``: metric names in the study's order).

    Example:
        >>> sampler = InformedTPESampler(["map50_95", "fps", "size_bytes"], seed=0, multivariate=True)
    """

    def __init__(self, objectives: Sequence[str], **tpe_options: Any) -> None:
        super().__init__(**tpe_options)
        self._objectives = tuple(objectives)

    def _view(self, study: optuna.Study) -> Any:
        return _InformedView(study, self._objectives)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
        return super().infer_relative_search_space(self._view(study), trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, Any]) -> dict[str, Any]:
        return super().sample_relative(self._view(study), trial, search_space)

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: Any
    ) -> Any:
        return super().sample_independent(self._view(study), trial, param_name, param_distribution)
