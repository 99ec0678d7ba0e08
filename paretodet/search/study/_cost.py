"""What a candidate is expected to cost before it is built: seconds of a trial without training plus seconds
per training epoch, fitted on the study's own finished trials (medians), with a prior for the first ones.

The time budget uses it (no trial starts whose expected cost would overrun what is left), and early stopping
uses the seconds per epoch to say what a stopped trial saved.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paretodet.spaces import Candidate

if TYPE_CHECKING:
    import optuna

__all__ = ["EPOCH_KNOBS", "PRIOR_FIXED_S", "CostModel", "finished_costs", "fit_cost", "training_epochs"]

EPOCH_KNOBS = ("distill.epochs", "prune.finetune_epochs", "quant.qat_epochs")  # each trained stage's epochs
PRIOR_FIXED_S = 30.0  # a trial without training, before any finished: export, calibration, scoring, timing


def training_epochs(candidate: Mapping[str, Any]) -> int:
    """The epochs a candidate trains (student, pruning recovery, QAT together); 0 for post-training ones.

    Example:
        >>> training_epochs({"prune.method": "l1", "prune.finetune_epochs": 3})
        3
    """
    c = Candidate.from_dict({**Candidate().to_dict(), **candidate})
    student = c.distill.epochs if c.distill.has_student() else 0  # the stages the pipeline trains
    recovery = c.prune.finetune_epochs if c.prune.method != "none" else 0
    qat = c.quant.qat_epochs if c.quant.precision == "int8" else 0
    return int(student + recovery + qat)


@dataclass(frozen=True)
class CostModel:
    """Expected seconds of a trial: ``fixed_s + per_epoch_s * epochs``, and how many finished trials said so."""

    fixed_s: float = PRIOR_FIXED_S
    per_epoch_s: float = PRIOR_FIXED_S
    fitted_on: int = 0

    def expected_s(self, candidate: Mapping[str, Any]) -> float:
        """Expected wall seconds of building and measuring ``candidate`` (flat knob values)."""
        return self.fixed_s + self.per_epoch_s * training_epochs(candidate)


def fit_cost(finished: Iterable[tuple[Mapping[str, Any], float]]) -> CostModel:
    """A cost model from ``(candidate, wall seconds)`` of finished trials: the median wall time of those that
    trained nothing, and the median of ``(wall - fixed) / epochs`` of those that trained (the prior where a kind
    has not finished yet: a trial without training costs ``PRIOR_FIXED_S``, an epoch as much).

    Example:
        >>> fit_cost([({}, 10.0), ({"prune.method": "l1", "prune.finetune_epochs": 2}, 30.0)]).per_epoch_s
        10.0
    """
    fixed: list[float] = []
    trained: list[tuple[int, float]] = []
    for candidate, wall in finished:
        epochs = training_epochs(candidate)
        (trained.append((epochs, wall)) if epochs else fixed.append(wall))
    fixed_s = statistics.median(fixed) if fixed else PRIOR_FIXED_S
    per_epoch = [max(0.0, wall - fixed_s) / epochs for epochs, wall in trained]
    per_epoch_s = statistics.median(per_epoch) if per_epoch else fixed_s
    return CostModel(fixed_s=fixed_s, per_epoch_s=per_epoch_s, fitted_on=len(fixed) + len(trained))


def finished_costs(study: optuna.Study) -> list[tuple[dict[str, Any], float]]:
    """``(candidate, wall seconds)`` of a study's trials that were built and measured (the cost model's data)."""
    return [
        (t.user_attrs["candidate"], float(t.user_attrs["wall_s"]))
        for t in study.get_trials(deepcopy=False)
        if t.state.name == "COMPLETE" and "duplicate_of" not in t.user_attrs and t.user_attrs.get("wall_s")
    ]
