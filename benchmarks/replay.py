"""Replay: the real search code (the sampler, the time budget and its cost model, early stopping with its twin
and rung rules) run against the replay table (``benchmarks/replay_table.csv``, real measured candidates of the
demo teacher) with a simulated clock, many seeds per variant, to compare the fronts each finds per hour.

What is simulated and nothing else: building and measuring a candidate (the table's row: its mAP50-95 on the
whole val split, its FPS from interleaved rounds, its size, and the seconds it cost; a recovery training is
charged once per study, as the stage cache does, and epoch by epoch so early stopping can cut it), timing an
untrained twin (the row's FPS and size, its measured seconds), scoring a rung (the row's rung mAP), and the
clock every module of the search reads. The study itself (Optuna, the sampler, probes, duplicates, the budget,
the rules) is paretodet's own code, unchanged, on an in-memory storage.

Variants: ``today`` (TPE, trials run until the time is spent, no budget awareness, no early stopping),
``budget`` (the time budget and its cost model), ``budget+early`` (and early stopping), ``budget+cost`` (and
cost-cooled TPE), ``budget+early+cost`` (all), ``random`` (random sampling, as today). Prints, per variant,
the hypervolume of the front of the trials finished by each time
(final-measured figures, normalised to the table's whole front) over the seeds: median and quartiles, the time
each variant needs to reach today's median final hypervolume, and writes a CSV of the curves (and a PNG plot).

Usage: python benchmarks/replay.py [--table benchmarks/replay_table.csv] [--budget 1800] [--seeds 20]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import statistics
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from _demo import demo_workdir

import paretodet.search.store._clock as clock_module
import paretodet.search.study._duplicates as duplicates_module
import paretodet.search.study._early_stop as early_stop_module
import paretodet.search.study._objective as objective_module
import paretodet.search.study._study as study_module
from paretodet.models import demo_teacher_path
from paretodet.objectives import ShapeFigures
from paretodet.reports import hypervolume
from paretodet.search import SearchConfig, run_study
from paretodet.spaces import Knob, SearchSpace

KNOBS = ("imgsz", "quant.precision", "quant.calibration", "prune.method", "prune.ratio", "prune.finetune_epochs")
SIGNS = (1, 1, -1)  # mAP50-95, FPS, size
VARIANTS: dict[str, dict[str, Any]] = {
    "today": {"early_stop": False, "budget_aware": False, "sampler": "tpe", "cost_aware": False},
    "budget": {"early_stop": False, "budget_aware": True, "sampler": "tpe", "cost_aware": False},
    "budget+early": {"early_stop": True, "budget_aware": True, "sampler": "tpe", "cost_aware": False},
    "budget+cost": {"early_stop": False, "budget_aware": True, "sampler": "tpe", "cost_aware": True},
    "budget+early+cost": {"early_stop": True, "budget_aware": True, "sampler": "tpe", "cost_aware": True},
    "random": {"early_stop": False, "budget_aware": False, "sampler": "random", "cost_aware": False},
}


def replay_space() -> SearchSpace:
    """The space the table covers (every sample it can draw is a row of the table)."""
    return SearchSpace(
        knobs=(
            Knob("imgsz", choices=(160, 224, 320)),
            Knob("quant.precision", choices=("fp32", "fp16", "int8")),
            Knob("quant.calibration", choices=("minmax", "percentile")),
            Knob("prune.method", choices=("none", "l1")),
            Knob("prune.ratio", choices=(0.1, 0.2, 0.3, 0.4)),
            Knob("prune.finetune_epochs", choices=(0, 1, 3)),
        )
    )


def key_of(values: dict[str, Any]) -> str:
    flat = dict(values)
    if flat["quant.precision"] != "int8":
        flat["quant.calibration"] = "minmax"
    if flat["prune.method"] == "none":
        flat["prune.ratio"], flat["prune.finetune_epochs"] = 0.3, 0
    return "|".join(str(flat[k]) for k in KNOBS)


def read_table(path: Path) -> dict[str, dict[str, Any]]:
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    table = {}
    for row in rows:
        typed = {k: _number(v) for k, v in row.items()}
        table[key_of(typed)] = typed
    return table


def _number(value: str) -> Any:
    try:
        return int(value) if value.isdigit() else float(value)
    except ValueError:
        return value


class SimClock:
    """The clock every patched module reads: ``time()``, ``perf_counter()``, ``monotonic()``, ``sleep()``."""

    def __init__(self) -> None:
        self.now = 1.0e9

    def time(self) -> float:
        return self.now

    perf_counter = monotonic = time

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class _Result:
    artifact: Any
    cache_hits: tuple[str, ...] = ()
    cache_entries: tuple[str, ...] = ()
    cache_repairs: tuple[str, ...] = ()


@dataclass
class _Artifact:
    row: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"path": f"replay://{key_of(self.row)}"}


@dataclass
class _Metrics:
    row: dict[str, Any]

    @property
    def map50_95(self) -> float:
        return float(self.row["map50_95"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "map50_95": self.map50_95,
            "fps": float(self.row["fps_rounds"]),
            "size_bytes": float(self.row["size_bytes"]),
            "latency_ms": 1000.0 / float(self.row["fps_rounds"]),
        }


@dataclass
class _Model:
    row: dict[str, Any]
    epoch: int


@dataclass
class Replay:
    """One simulated study's world: the table, the clock, what the stage cache holds, what finished when."""

    table: dict[str, dict[str, Any]]
    clock: SimClock = field(default_factory=SimClock)
    trained: set[str] = field(default_factory=set)
    finished: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def row(self, candidate: Any) -> dict[str, Any]:
        return self.table[key_of(candidate.to_dict())]

    def epochs_of(self, row: dict[str, Any]) -> list[float]:
        """The seconds of each epoch of the row's training (from the row that trained it)."""
        source = next(r for r in self.table.values() if r.get("train_key") == row["train_key"] and r.get("epoch_s"))
        return [float(s) for s in str(source["epoch_s"]).split(";")]

    def build_and_measure(self, candidate: Any, detector: Any, data: Any, **kw: Any) -> tuple[_Result, _Metrics]:
        row, watch = self.row(candidate), kw.get("watch")
        rest = float(row["build_s"]) + float(row["eval_s"])
        if row.get("epoch_s"):  # this row's build trained: its training is charged below
            rest -= sum(float(s) for s in str(row["epoch_s"]).split(";")) + float(row.get("rung_s") or 0.0)
        if row["train_key"] and row["train_key"] not in self.trained:
            epochs = self.epochs_of(row)
            for done, seconds in enumerate(epochs, start=1):
                self.clock.sleep(seconds)
                if watch is not None:
                    watch.after_epoch("recover", done, len(epochs), _Model(row, done))
            self.trained.add(row["train_key"])
        self.clock.sleep(max(0.0, rest))
        self.finished.append((self.clock.now, row))
        return _Result(_Artifact(row)), _Metrics(row)

    def build(self, candidate: Any, detector: Any, data: Any, **kw: Any) -> _Result:
        row = self.row(candidate)
        self.clock.sleep(float(row.get("twin_s") or 0.0))
        return _Result(_Artifact(row))

    def measure_shape(self, artifact: _Artifact, **kw: Any) -> ShapeFigures:
        fps = float(artifact.row["fps_rounds"])
        return ShapeFigures(latency_ms=1000.0 / fps, fps=fps, size_bytes=int(artifact.row["size_bytes"]))

    def score_detector(self, model: _Model, truths: Any, **kw: Any) -> float:
        rung = model.row.get(f"rung_recover@{model.epoch}")
        if rung in (None, ""):
            raise KeyError(f"no rung {model.epoch} in the table for {key_of(model.row)}")
        return float(rung)


@contextlib.contextmanager
def patched(replay: Replay, *, budget_aware: bool) -> Iterator[None]:
    """The search's modules, reading the simulated clock and the table (restored on exit)."""
    saved: list[tuple[Any, str, Any]] = []

    def put(module: Any, name: str, value: Any) -> None:
        saved.append((module, name, getattr(module, name)))
        setattr(module, name, value)

    for module in (clock_module, objective_module, early_stop_module, study_module, duplicates_module):
        put(module, "time", replay.clock)
    put(objective_module, "build_and_measure", replay.build_and_measure)
    put(objective_module, "build", replay.build)
    put(objective_module, "measure_shape", replay.measure_shape)
    put(early_stop_module, "score_detector", replay.score_detector)
    put(study_module, "open_storage", lambda url, grace_s=None: optuna.storages.InMemoryStorage())
    if not budget_aware:
        put(objective_module.TrialObjective, "_check_budget", lambda self, trial, candidate: None)
    try:
        yield
    finally:
        for module, name, value in reversed(saved):
            setattr(module, name, value)


def simulate(table: dict[str, dict[str, Any]], variant: str, seed: int, budget_s: float, data: Path) -> Replay:
    """One simulated study of ``variant`` with ``seed``, its budget ``budget_s`` simulated seconds."""
    options = VARIANTS[variant]
    replay = Replay(table)
    with tempfile.TemporaryDirectory(prefix="replay-") as work, patched(replay, budget_aware=options["budget_aware"]):
        config = SearchConfig(
            model=str(demo_teacher_path()),
            data=data,
            workdir=Path(work),
            trials=None,
            time_budget_s=budget_s / (1 - clock_module.VERIFY_SHARE),  # the search share is the budget here
            early_stop=bool(options["early_stop"]),
            cost_aware=bool(options["cost_aware"]),
            sampler=str(options["sampler"]),
            seed=seed,
            space=replay_space(),
        )
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        run_study(config)
    return replay


def hv_curve(replay: Replay, times: np.ndarray, reference: list[float], whole: float) -> np.ndarray:
    """Normalised hypervolume of the front of the trials finished by each of ``times`` (from the study's start)."""
    start = SimClock().now
    done = sorted(replay.finished, key=lambda item: item[0])
    curve = []
    for t in times:
        rows = [r for end, r in done if end - start <= t]
        values = np.array([[r["map50_95"], r["fps_rounds"], r["size_bytes"]] for r in rows], dtype=float)
        curve.append(hypervolume(values, SIGNS, reference) / whole if len(rows) else 0.0)
    return np.array(curve)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=Path(__file__).with_name("replay_table.csv"))
    parser.add_argument("--budget", type=float, default=1800.0, help="simulated seconds of search")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench/replay_curves.csv"))
    args = parser.parse_args()
    table = read_table(args.table)
    _, data = demo_workdir(Path("/tmp/bench/replay"), "replay")
    everything = np.array([[r["map50_95"], r["fps_rounds"], r["size_bytes"]] for r in table.values()], dtype=float)
    reference = [float(everything[:, 0].min()), float(everything[:, 1].min()), float(everything[:, 2].max())]
    whole = hypervolume(everything, SIGNS, reference)
    times = np.linspace(0, args.budget, 61)
    curves: dict[str, np.ndarray] = {}
    for variant in args.variants.split(","):
        runs = [hv_curve(simulate(table, variant, s, args.budget, data), times, reference, whole)
                for s in range(args.seeds)]  # fmt: skip
        curves[variant] = np.array(runs)
        final = curves[variant][:, -1]
        q1, med, q3 = np.percentile(final, [25, 50, 75])
        print(f"{variant:<13} final hypervolume (of the table's front) median {med:.3f} [quartiles {q1:.3f}, "
              f"{q3:.3f}] over {args.seeds} seeds", flush=True)  # fmt: skip
    _report(curves, times)
    _write(args.out, curves, times)
    _plot(args.out.with_suffix(".png"), curves, times)


def _report(curves: dict[str, np.ndarray], times: np.ndarray) -> None:
    if "today" not in curves:
        return
    today = float(np.median(curves["today"][:, -1]))
    for variant, runs in curves.items():
        median = np.median(runs, axis=0)
        reach = next((float(t) for t, v in zip(times, median) if v >= today), None)
        ratio = float(np.median(runs[:, -1])) / today if today else float("nan")
        when = f"{reach:.0f} s ({reach / times[-1]:.2f} of the budget)" if reach is not None else "never"
        print(f"{variant:<13} reaches today's final median {today:.3f} at {when}; final / today's {ratio:.2f}x")
    _ = statistics  # medians above are numpy's


def _write(path: Path, curves: dict[str, np.ndarray], times: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["variant", "time_s", "hv_q1", "hv_median", "hv_q3"])
        for variant, runs in curves.items():
            q1, med, q3 = np.percentile(runs, [25, 50, 75], axis=0)
            for t, a, b, c in zip(times, q1, med, q3):
                writer.writerow([variant, f"{t:.0f}", f"{a:.4f}", f"{b:.4f}", f"{c:.4f}"])
    print(f"curves: {path}")


def _plot(path: Path, curves: dict[str, np.ndarray], times: np.ndarray) -> None:
    """Median hypervolume against simulated time per variant, with its quartile band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for variant, runs in curves.items():
        q1, med, q3 = np.percentile(runs, [25, 50, 75], axis=0)
        ax.plot(times / 60, med, label=variant)
        ax.fill_between(times / 60, q1, q3, alpha=0.15)
    ax.set_xlabel("simulated search time (min)")
    ax.set_ylabel("hypervolume / the table's whole front")
    ax.set_title(
        f"Replay of the demo teacher's table: median and quartiles over {len(next(iter(curves.values())))} seeds"
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
