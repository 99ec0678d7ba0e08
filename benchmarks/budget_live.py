"""Live: the demo teacher searched for a time budget, today's search against the new one (issue 36).

Today's search is the code of the commit before issue 36 (``--today-rev``, checked out in a git worktree),
run with a large ``--trials`` and stopped (SIGINT) when the budget is spent, then verified. The new search is
this tree's ``paretodet search --time-budget`` (its verification inside the budget). Both sample the ``quick``
preset on the demo data, seeds 0..N-1.

Each verified front's hypervolume is computed on (mAP50-95, speed-up over the original model from the
verification's interleaved rounds, size in bytes), reference point (0, 0, 13 MB), so that studies timed at
different moments compare. Prints per run: wall time, trials completed / stopped, the verified front's
hypervolume, and the trials below 0.05 mAP50-95 that trained for more than one rung epoch; then the medians.

Usage: python benchmarks/budget_live.py [--workdir /tmp/bench/live] [--budget 600] [--seeds 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _demo import demo_workdir

from paretodet.base import cpu_model
from paretodet.models import demo_teacher_path
from paretodet.reports import build_info, hypervolume
from paretodet.search import load_trials

REFERENCE = (0.0, 0.0, 13e6)  # mAP50-95, speed-up, size: worse than the original (12.1 MB) on every axis
ROOT = Path(__file__).resolve().parents[1]


def today_tree(work: Path, rev: str) -> Path:
    """A checkout of ``rev`` (today's search) beside this repository."""
    tree = work / f"today-{rev}"
    if not (tree / "paretodet").is_dir():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "paretodet"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def _search(data: Path, work: Path, seed: int) -> list[str]:
    """The search command both sides share: the demo teacher, the quick preset, a seed."""
    model = str(demo_teacher_path())
    return [sys.executable, "-m", "paretodet.cli", "search", "--model", model, "--data", str(data), "--space", "quick",
            "--seed", str(seed), "--workdir", str(work)]  # fmt: skip


def run_today(tree: Path, data: Path, work: Path, seed: int, budget: float) -> float:
    """Today's search, stopped at the budget (SIGINT, as a user's Ctrl-C), then verified; its wall time."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [*_search(data, work, seed), "--trials", "500", "--no-verify"]
    start = time.perf_counter()
    # run from outside this repository: the current folder would come before PYTHONPATH on sys.path
    proc = subprocess.Popen(cmd, env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    verify = [sys.executable, "-m", "paretodet.cli", "verify", str(work)]
    subprocess.run(verify, env=env, cwd=tree, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def run_new(data: Path, work: Path, seed: int, budget: float) -> float:
    """The new search with ``--time-budget`` (verification included in the budget); its wall time."""
    cmd = [*_search(data, work, seed), "--time-budget", f"{budget:.0f}s"]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=work.parent, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def judge(work: Path) -> dict[str, float]:
    """The verified front's hypervolume, the trial counts, and the low-mAP trials that trained past one epoch."""
    trials, _ = load_trials(work)
    front = build_info(trials).front
    values = np.column_stack(
        [front["map50_95"].astype(float), 1.0 / front["latency_ratio"].astype(float), front["size_bytes"].astype(float)]
    )
    epochs = trials.get("prune.finetune_epochs", 0).fillna(0) + trials.get("quant.qat_epochs", 0).fillna(0)
    complete = trials["state"] == "COMPLETE"
    wasted = int((complete & (trials["map50_95"] < 0.05) & (epochs > 1)).sum())
    stopped = int(trials["stop_kind"].isin(["rung", "bound"]).sum()) if "stop_kind" in trials else 0
    return {
        "hv": hypervolume(values, (1, 1, -1), REFERENCE),
        "completed": int(complete.sum()),
        "stopped": stopped,
        "front": len(front),
        "wasted": wasted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench/live"))
    parser.add_argument("--budget", type=float, default=600.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--today-rev", default="97c23a6")
    args = parser.parse_args()
    work, data = demo_workdir(args.workdir, "live")
    tree = today_tree(work, args.today_rev)
    print(f"cpu: {cpu_model()}; budget {args.budget:.0f} s; today = {args.today_rev}", flush=True)
    results: dict[str, list[dict[str, float]]] = {"today": [], "new": []}
    for seed in range(args.seeds):
        for variant in ("today", "new"):
            run_dir = work / f"{variant}-{seed}"
            if not (run_dir / "done").is_file():
                if variant == "today":
                    wall = run_today(tree, data, run_dir, seed, args.budget)
                else:
                    wall = run_new(data, run_dir, seed, args.budget)
                (run_dir / "done").write_text(f"{wall:.1f}\n")
            figures = {"wall_s": float((run_dir / "done").read_text()), **judge(run_dir)}
            results[variant].append(figures)
            print(f"{variant:<5} seed {seed}: " + ", ".join(f"{k} {v:.4g}" for k, v in figures.items()), flush=True)
    for variant, runs in results.items():
        print(f"{variant:<5} median hypervolume {statistics.median(r['hv'] for r in runs):.4f}; "
              f"wall {statistics.median(r['wall_s'] for r in runs):.0f} s; "
              f"low-mAP trials trained past one epoch: {sum(r['wasted'] for r in runs)}")  # fmt: skip


if __name__ == "__main__":
    main()
