"""Cost-aware ordering: TPE whose acquisition is divided by each candidate's expected cost to a power that cools
with the time budget (cost cooling, as CArBO: Lee et al. 2020), so that cheap candidates (post-training
precision, input size, runtime) come first and training is proposed as the budget's spent share grows.

The acquisition of TPE is ``log l(x) - log g(x)``; here it is that minus ``alpha * log(cost(x))`` with
``alpha`` the share of the time budget still left (1 at the start, 0 at the end) and ``cost(x)`` the study's
cost model (:func:`~paretodet.search.study._cost.fit_cost`: seconds of a trial without training plus seconds
per training epoch). Without a time budget it is :class:`InformedTPESampler` unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from paretodet.search.store import BUDGET_ATTR, used_seconds
from paretodet.search.study._cost import EPOCH_KNOBS, finished_costs, fit_cost
from paretodet.search.study._informed_sampler import InformedTPESampler

__all__ = ["CostCooledTPESampler", "cooling_alpha"]


def cooling_alpha(attrs: dict[str, Any]) -> float:
    """The share of a study's time budget still left (0 without a budget or once it is spent).

    Example:
        >>> cooling_alpha({"paretodet_time_budget_s": 100.0, "paretodet_clock:a": [0.0, 25.0]})
        0.75
    """
    budget = attrs.get(BUDGET_ATTR)
    if not budget:
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - used_seconds(attrs) / float(budget))))


class CostCooledTPESampler(InformedTPESampler):
    """:class:`InformedTPESampler` with cost cooling (see the module's docstring).

    Example:
        >>> sampler = CostCooledTPESampler(["map50_95", "fps", "size_bytes"], seed=0, multivariate=True)
    """

    def __init__(self, objectives: Sequence[str], **tpe_options: Any) -> None:
        super().__init__(objectives, **tpe_options)
        self._alpha = 0.0
        self._space: dict[str, Any] = {}
        self._per_epoch_s, self._fixed_s = 0.0, 1.0

    def _sample(self, study: Any, trial: Any, search_space: dict[str, Any]) -> dict[str, Any]:
        self._alpha = cooling_alpha(study.user_attrs)
        cost = fit_cost(finished_costs(study))
        self._fixed_s, self._per_epoch_s, self._space = max(cost.fixed_s, 1e-3), cost.per_epoch_s, search_space
        return super()._sample(study, trial, search_space)

    def _compute_acquisition_func(self, samples: dict[str, np.ndarray], mpe_below: Any, mpe_above: Any) -> np.ndarray:
        acquisition = super()._compute_acquisition_func(samples, mpe_below, mpe_above)
        if self._alpha <= 0 or not samples:
            return acquisition
        count = len(next(iter(samples.values())))
        costs = np.array([self._cost_of(samples, i) for i in range(count)])
        return acquisition - self._alpha * np.log(costs)

    def _cost_of(self, samples: dict[str, np.ndarray], index: int) -> float:
        """Expected seconds of sample ``index`` (its epoch knobs; a knob outside this subspace counts as 0)."""
        values = {
            name: self._space[name].to_external_repr(samples[name][index]) for name in samples if name in self._space
        }
        # a conditional epoch knob is sampled only where its stage trains (TPE groups knobs by condition)
        epochs = sum(int(values[k]) for k in EPOCH_KNOBS if k in values)
        return self._fixed_s + self._per_epoch_s * epochs
