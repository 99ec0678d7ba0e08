"""SearchConfig: everything a study needs, typed and validated up front."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from paretodet.errors import ConfigError
from paretodet.models import check_device
from paretodet.objectives import METRICS, OBJECTIVE_METRICS, EvalSettings, LatencySettings, NmsSettings
from paretodet.reports import Budget, parse_budgets
from paretodet.spaces import SearchSpace, default_space, parse_space, space_to_dict

__all__ = ["OBJECTIVES", "SAMPLERS", "SearchConfig"]

SAMPLERS: tuple[str, ...] = ("tpe", "nsga2", "random", "grid")
# (metric, optuna direction): the study's objectives, in this order
OBJECTIVES: tuple[tuple[str, str], ...] = tuple((m, METRICS[m].optuna_direction) for m in OBJECTIVE_METRICS)


@dataclass(frozen=True)
class SearchConfig:
    """One search.

    Attributes:
        model: checkpoint / model YAML / Ultralytics name / ``torchvision:BUILDER`` of the detector to compress.
        weights: a state dict for a builder name (``torchvision:...``); None: the file or name holds them.
        data: data YAML (its val split is scored).
        workdir: where the study database, cache and artifacts go.
        trials: the study's target number of completed trials (re-running continues up to it); None: as many as
            the time budget allows (``time_budget_s`` must then be set).
        time_budget_s: the study's time budget in seconds (None: none): no trial starts whose expected cost
            would overrun it, training stops when it runs out (the trial is queued again), and a tenth is left to
            the front's verification (see ``search.store._clock``). Every worker honours it.
        early_stop: stop training that cannot reach the front (at rungs, by non-dominated rank among its peers,
            or before training by an optimistic bound: see ``search.study._early_stop``).
        cost_aware: with a time budget and TPE, cool TPE's acquisition by each candidate's expected cost (see
            ``search.study._cost_sampler``); off by default: it stays off until the replay benchmark shows it wins.
        sampler: tpe (multivariate, grouped by condition: the default, the best front per trial in
            benchmarks/search.py), nsga2, random, or grid (a baseline: the space's grid in seeded random order).
        seed: sampler seed.
        storage: Optuna storage URL (default: SQLite in the work dir). study: study name.
        budgets: constraints the sampler steers towards; reports mark infeasible trials.
        space: what is sampled. evaluation: how artifacts are measured.
        trust_model: load the model with full unpickling (it may run code); off by default: checkpoints load
            through allow-lists. The study records it, and a process joining it must opt in too.
        device: where this process trains (students, pruning recovery, QAT): cpu, cuda or cuda:N; a worker
            gives its own (never taken from the storage).
        storage_grace_s: how long this process waits for an unreachable storage (a restarting database, a
            locked SQLite file) before it gives up; a process's own choice, never taken from the storage.
        probes: measure the reference probes first (the unmodified model and each technique alone at its
            default knobs, see ``search.study._probes``), so every report can say what each technique buys.
    """

    model: str
    data: Path
    workdir: Path
    trials: int | None = 20
    sampler: str = "tpe"
    seed: int = 0
    storage: str | None = None
    study: str = "paretodet"
    budgets: tuple[Budget, ...] = ()
    space: SearchSpace = field(default_factory=default_space)
    evaluation: EvalSettings = field(default_factory=EvalSettings)
    probes: bool = True
    trust_model: bool = False
    weights: Path | None = None
    device: str = "cpu"
    storage_grace_s: float = 600.0
    time_budget_s: float | None = None
    early_stop: bool = True
    cost_aware: bool = False

    def __post_init__(self) -> None:
        if self.trials is None and self.time_budget_s is None:
            raise ConfigError("give --trials N or --time-budget (e.g. 2h): the search needs to know when to stop")
        if self.trials is not None and self.trials < 1:
            raise ConfigError(f"--trials must be >= 1, got {self.trials}")
        if self.time_budget_s is not None and self.time_budget_s <= 0:
            raise ConfigError(f"--time-budget must be a positive duration, got {self.time_budget_s} s")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler '{self.sampler}': use one of {', '.join(SAMPLERS)}")
        if not self.study.strip():
            raise ConfigError("--study must not be empty")
        check_device(self.device)
        if self.storage_grace_s < 0:
            raise ConfigError(f"--storage-grace must be >= 0 seconds, got {self.storage_grace_s}")

    def to_stored(self) -> dict[str, Any]:
        """What a study stores so that any worker runs it exactly as started (everything but the per-process
        work dir, storage URL and study name, which a worker gives itself)."""
        return {
            "model": str(self.model),
            "data": str(Path(self.data).resolve()),
            "trials": self.trials,
            "time_budget_s": self.time_budget_s,
            "early_stop": self.early_stop,
            "cost_aware": self.cost_aware,
            "sampler": self.sampler,
            "seed": self.seed,
            "budgets": [str(b) for b in self.budgets],
            "space": space_to_dict(self.space),
            "evaluation": asdict(self.evaluation),
            "probes": self.probes,
            "trust_model": self.trust_model,
            "weights": str(Path(self.weights).resolve()) if self.weights is not None else None,
        }

    @classmethod
    def from_stored(
        cls,
        stored: dict[str, Any],
        *,
        workdir: Path,
        storage: str | None,
        study: str,
        trials: int | None = None,
        trust_model: bool = False,
        device: str = "cpu",
        storage_grace_s: float = 600.0,
    ) -> SearchConfig:
        """Inverse of :meth:`to_stored`; ``trials`` overrides the stored target. ``trust_model`` is this
        process's own choice, never taken from the storage (whoever can write the database must not be able to
        make workers run code).

        Example:
            >>> stored = config.to_stored()  # doctest: +SKIP
            >>> again = SearchConfig.from_stored(stored, workdir=Path("w"), storage=None, study="s")  # doctest: +SKIP
        """
        return cls(
            model=str(stored["model"]),
            data=Path(stored["data"]),
            workdir=workdir,
            trials=trials or (int(stored["trials"]) if stored.get("trials") is not None else None),
            sampler=str(stored["sampler"]),
            seed=int(stored["seed"]),
            storage=storage,
            study=study,
            budgets=tuple(parse_budgets(stored.get("budgets", []))),
            space=parse_space(stored["space"], where=f"study '{study}'"),
            evaluation=_evaluation_from_dict(stored.get("evaluation") or {"threads": stored.get("threads", 2)}),
            probes=bool(stored.get("probes", True)),
            time_budget_s=stored.get("time_budget_s"),
            early_stop=bool(stored.get("early_stop", True)),
            cost_aware=bool(stored.get("cost_aware", False)),
            trust_model=trust_model,
            weights=Path(stored["weights"]) if stored.get("weights") else None,
            device=device,
            storage_grace_s=storage_grace_s,
        )

    @property
    def storage_url(self) -> str:
        """The Optuna storage URL (SQLite file in the work dir unless given)."""
        return self.storage or f"sqlite:///{(self.workdir / 'study.db').resolve()}"


def _evaluation_from_dict(values: dict[str, Any]) -> EvalSettings:
    """EvalSettings from ``asdict(EvalSettings)`` (unknown keys, from a newer version, are ignored)."""
    nested = {"nms": NmsSettings, "latency": LatencySettings}
    known = {f.name for f in fields(EvalSettings)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            continue
        if key in nested and isinstance(value, dict):
            sub = {f.name for f in fields(nested[key])}
            value = nested[key](**{k: v for k, v in value.items() if k in sub})
        kwargs[key] = value
    return EvalSettings(**kwargs)
