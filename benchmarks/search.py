"""How good is the search itself: samplers' hypervolume at N trials, and what the stage cache saves.

Usage: python benchmarks/search.py [--workdir DIR] [--trials 40] [--seeds 0 1] [--samplers tpe nsga2 random]
                                   [--budgets size_mb<=4 map50_95>=0.5] [--part all|samplers|budgets|cache]

samplers: on the demo (packaged teacher, synthetic data), each sampler runs ``--trials`` trials per seed over
the quick preset without its training knobs (so a trial takes seconds on a CPU); the hypervolume of each
run's completed trials is computed with the objectives scaled to [0, 1] over *all* runs together (one
yardstick), reference 10% beyond the worst. Each run has its own stage cache (in its study folder).

budgets: the default sampler on the same space, with ``--budgets`` as Optuna constraints and without them:
how many of the first ``--trials`` completed trials meet the budgets, and the best feasible mAP.

cache: wall time of a full trial (prune + 5 recovery epochs + export + measure) against trials that differ
from it only in quantization (the pruned and recovered model come from the cache).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _demo import demo_workdir

from paretodet.data import load_data_yaml
from paretodet.models import demo_teacher_path, load_detector
from paretodet.objectives import EvalSettings
from paretodet.reports import Budget, build_info
from paretodet.reports._pareto import hypervolume, normalize
from paretodet.search import OBJECTIVES, SearchConfig, build_and_measure, load_trials, run_study
from paretodet.spaces import Candidate, load_space


def _run(work: Path, data_yaml: Path, name: str, *, sampler: str, seed: int, trials: int, budgets=()) -> pd.DataFrame:
    """One study on the demo over the quick preset without training knobs; its first ``trials`` completed trials."""
    config = SearchConfig(
        model=str(demo_teacher_path()),
        data=data_yaml,
        workdir=work / "studies" / name,
        trials=trials,
        sampler=sampler,
        seed=seed,
        storage=f"sqlite:///{work / 'studies.db'}",
        study=name,
        budgets=tuple(budgets),
        space=load_space("quick").without_training(),
        evaluation=EvalSettings(threads=2),
    )
    start = time.perf_counter()
    run_study(config)
    df, _ = load_trials(config.workdir)
    done = df[df["state"] == "COMPLETE"].sort_values("number").head(trials)
    print(f"{name}: {len(done)} trials in {time.perf_counter() - start:.0f} s", flush=True)
    return done


def sampler_part(work: Path, data_yaml: Path, args: argparse.Namespace) -> None:
    """Hypervolume after N trials for each sampler and seed."""
    runs: dict[tuple[str, int], np.ndarray] = {}
    for sampler in args.samplers:
        for seed in args.seeds:
            done = _run(work, data_yaml, f"{sampler}-{seed}", sampler=sampler, seed=seed, trials=args.trials)
            runs[(sampler, seed)] = done[[m for m, _ in OBJECTIVES]].to_numpy(dtype=float)
    directions = [1 if d == "maximize" else -1 for _, d in OBJECTIVES]
    everything = np.vstack(list(runs.values()))
    lows, highs = everything.min(axis=0), everything.max(axis=0)
    volumes = {
        key: hypervolume(normalize(v, directions, lows=lows, highs=highs), [1, 1, 1], [-0.1] * 3)
        for key, v in runs.items()
    }
    print(f"\nhypervolume after {args.trials} trials (demo, quick preset without training knobs)\n")
    print("| sampler | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean | vs random |")
    print("|---|" + "---|" * (len(args.seeds) + 2))
    means = {s: statistics.mean(volumes[(s, seed)] for seed in args.seeds) for s in args.samplers}
    for sampler in args.samplers:
        per_seed = " | ".join(f"{volumes[(sampler, seed)]:.4f}" for seed in args.seeds)
        ratio = f"{means[sampler] / means['random']:.2f}x" if means.get("random") else "-"
        print(f"| {sampler} | {per_seed} | {means[sampler]:.4f} | {ratio} |")


def budget_part(work: Path, data_yaml: Path, args: argparse.Namespace) -> None:
    """Do budgets steer the default sampler? Feasible trials with the budgets as constraints vs without."""
    budgets = [Budget.parse(b) for b in args.budgets]
    print(f"\nbudgets {' and '.join(args.budgets)}: feasible trials among the first {args.trials} (default sampler)\n")
    print("| run | " + " | ".join(f"seed {s}" for s in args.seeds) + " | best feasible mAP50-95 per seed |")
    print("|---|" + "---|" * (len(args.seeds) + 1))
    for label, steer in (("budgets as constraints", budgets), ("no constraints", [])):
        counts, bests = [], []
        for seed in args.seeds:
            tag = "constrained" if steer else "free"
            done = _run(
                work, data_yaml, f"budget-{tag}-{seed}", sampler="tpe", seed=seed, trials=args.trials, budgets=steer
            )
            rows = build_info(done, budgets=budgets).trials
            feasible = rows[rows["feasible"]]
            counts.append(f"{len(feasible)} / {len(rows)}")
            bests.append(f"{feasible['map50_95'].max():.4f}" if len(feasible) else "-")
        print(f"| {label} | {' | '.join(counts)} | {' / '.join(bests)} |", flush=True)


def cache_part(work: Path, data_yaml: Path) -> None:
    """Wall time of a full trial vs trials that only change quantization."""
    det, data = load_detector(demo_teacher_path()), load_data_yaml(data_yaml)
    base = {"imgsz": 320, "prune.method": "l2", "prune.ratio": 0.3, "prune.finetune_epochs": 5}
    rows = []
    for label, extra in (
        ("full trial: prune + 5 recovery epochs, FP32", {}),
        ("only quantization changed: FP16", {"quant.precision": "fp16"}),
        ("only quantization changed: INT8", {"quant.precision": "int8"}),
        ("identical candidate again", {}),
    ):
        start = time.perf_counter()
        result, _ = build_and_measure(
            Candidate.from_dict({**base, **extra}), det, data, workdir=work / "cache_bench", settings=EvalSettings()
        )
        rows.append((label, time.perf_counter() - start, result.cache_hits))
    full = rows[0][1]
    print("\n| trial | wall s | share of a full trial | cache hits |\n|---|---|---|---|")
    for label, seconds, hits in rows:
        print(f"| {label} | {seconds:.1f} | {seconds / full:.2f} | {', '.join(hits) or '-'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--samplers", nargs="+", default=["tpe", "nsga2", "random"])
    parser.add_argument("--budgets", nargs="+", default=["size_mb<=4", "map50_95>=0.5"])
    parser.add_argument("--part", choices=("all", "samplers", "budgets", "cache"), default="all")
    args = parser.parse_args()
    work, data_yaml = demo_workdir(args.workdir, "paretodet-search-")
    if args.part in ("all", "cache"):
        cache_part(work, data_yaml)
    if args.part in ("all", "samplers"):
        sampler_part(work, data_yaml, args)
    if args.part in ("all", "budgets"):
        budget_part(work, data_yaml, args)


if __name__ == "__main__":
    main()
