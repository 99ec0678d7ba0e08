"""SearchConfig: everything a study needs, typed and validated up front."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from paretodet.errors import ConfigError
from paretodet.objectives import EvalSettings
from paretodet.reports import Budget
from paretodet.spaces import SearchSpace, default_space

__all__ = ["OBJECTIVES", "SAMPLERS", "SearchConfig"]

SAMPLERS: tuple[str, ...] = ("tpe", "nsga2", "random", "grid")
# (metric, optuna direction): the study's objectives, in this order
OBJECTIVES: tuple[tuple[str, str], ...] = (("map50_95", "maximize"), ("fps", "maximize"), ("size_bytes", "minimize"))


@dataclass(frozen=True)
class SearchConfig:
    """One search.

    Attributes:
        model: checkpoint / model YAML / Ultralytics name of the detector to compress.
        data: data YAML (its val split is scored).
        workdir: where the study database, cache and artifacts go.
        trials: the study's target number of completed trials (re-running continues up to it).
        sampler: tpe (multivariate, grouped by condition: the default, the best front per trial in
            benchmarks/search.py), nsga2, random, or grid (a baseline: the space's grid in seeded random order).
        seed: sampler seed.
        storage: Optuna storage URL (default: SQLite in the work dir). study: study name.
        budgets: constraints the sampler steers towards; reports mark infeasible trials.
        space: what is sampled. evaluation: how artifacts are measured.
    """

    model: str
    data: Path
    workdir: Path
    trials: int = 20
    sampler: str = "tpe"
    seed: int = 0
    storage: str | None = None
    study: str = "paretodet"
    budgets: tuple[Budget, ...] = ()
    space: SearchSpace = field(default_factory=default_space)
    evaluation: EvalSettings = field(default_factory=EvalSettings)

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ConfigError(f"--trials must be >= 1, got {self.trials}")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler '{self.sampler}': use one of {', '.join(SAMPLERS)}")
        if not self.study.strip():
            raise ConfigError("--study must not be empty")

    @property
    def storage_url(self) -> str:
        """The Optuna storage URL (SQLite file in the work dir unless given)."""
        return self.storage or f"sqlite:///{(self.workdir / 'study.db').resolve()}"
