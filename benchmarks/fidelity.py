"""Fidelity of val subsets: a quick-space study scored on a seeded 200-image subset of a 2,000-image val split
against the same study scoring all 2,000, both verified at the end.

Prints each study's wall time (search + verification) and the hypervolume of each verified front on
whole-split mAP50-95, with the fronts' artifacts re-timed together in one set of interleaved rounds, so that
FPS comes from one host state (targets: subset wall time <= 0.4x, hypervolume >= 0.97x).

Usage: python benchmarks/fidelity.py [--workdir DIR] [--trials 30] [--subset 200] [--val 2000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from _demo import demo_workdir

from paretodet.base import cpu_model
from paretodet.data import SynthSpec, load_dataset, synthesize
from paretodet.models import DEMO_DATA_SPEC, demo_teacher_path
from paretodet.objectives import RoundSettings
from paretodet.reports import build_info, hypervolume
from paretodet.search import load_trials


def data_yaml(work: Path, val_images: int) -> Path:
    """The demo's train split with a val split of ``val_images`` synthetic images."""
    _, demo = demo_workdir(work / "demo", "fidelity")
    val_root = work / f"val{val_images}"
    spec = SynthSpec(images=4 * val_images, seed=DEMO_DATA_SPEC.seed + 1)
    if not (val_root / "data.yaml").is_file():
        synthesize(val_root, spec, splits=("val",))
    names = yaml.safe_load(demo.read_text())["names"]
    path = work / f"data_val{val_images}.yaml"
    body = {"train": str(demo.parent / "images" / "train"), "val": str(val_root / "images" / "val"), "names": names}
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def run_search(work: Path, data: Path, trials: int, subset: int | None) -> float:
    """One study through the CLI (search + verify); its wall time in seconds."""
    extra = ["--val-images", str(subset)] if subset else []
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "paretodet.cli", "search", "--model", str(demo_teacher_path()), "--data", str(data),
         "--space", "quick", "--trials", str(trials), "--workdir", str(work), *extra],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return time.perf_counter() - start


def verified_front(work: Path) -> list[dict[str, object]]:
    df, _ = load_trials(work)
    front = build_info(df).front
    return [row.to_dict() for _, row in front.iterrows()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/paretodet-fidelity"))
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--subset", type=int, default=200)
    parser.add_argument("--val", type=int, default=2000)
    args = parser.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    data = data_yaml(work, args.val)
    walls = {}
    for name, subset in (("subset", args.subset), ("full", None)):
        if not (work / name / "study.db").is_file():
            walls[name] = run_search(work / name, data, args.trials, subset)
            (work / f"{name}.wall").write_text(str(walls[name]))
        walls[name] = float((work / f"{name}.wall").read_text())
    fronts = {name: verified_front(work / name) for name in walls}
    fps = retime_together(fronts, data)
    rows = {
        n: np.array([[r["map50_95"], fps[(n, int(r["number"]))], r["size_bytes"]] for r in f])
        for n, f in fronts.items()
    }
    every = np.vstack(list(rows.values()))
    reference = [every[:, 0].min() * 0.9, every[:, 1].min() * 0.9, every[:, 2].max() * 1.1]
    volumes = {n: hypervolume(v, [1, 1, -1], reference) for n, v in rows.items()}
    print(f"CPU: {cpu_model()}; {args.trials}-trial quick-space studies on a {args.val}-image val split")
    for name in walls:
        numbers = sorted(int(r["number"]) for r in fronts[name])
        print(f"{name:>7}: wall {walls[name]:7.0f} s; verified front {numbers}; hypervolume {volumes[name]:.4g}")
    wall, volume = walls["subset"] / walls["full"], volumes["subset"] / volumes["full"]
    print(f"subset / full: wall {wall:.3f}x, hypervolume {volume:.4f}x")


def retime_together(fronts: dict[str, list[dict[str, object]]], data: Path) -> dict[tuple[str, int], float]:
    """FPS of every front artifact of both studies, timed in one set of interleaved rounds. The same config built
    by both studies (the same knobs from the same model and data: the same network) is timed once and shares the
    figure: timing its two builds would only measure the rounds' noise."""
    from paretodet.runtimes import Artifact
    from paretodet.search.artifacts._compare import measure_side_by_side
    from paretodet.spaces import Candidate, knob_names

    keys = [(n, int(r["number"])) for n, f in fronts.items() for r in f]
    digest_of: dict[tuple[str, int], str] = {}
    unique: dict[str, Artifact] = {}
    for name, number in keys:
        path = next(Path(str(r["artifact"])) for r in fronts[name] if int(r["number"]) == number)
        artifact = Artifact.read_sidecar(path)
        row = next(r for r in fronts[name] if int(r["number"]) == number)
        digest = Candidate.from_dict({k: row[k] for k in knob_names() if k in row}).config_key()
        digest_of[(name, number)] = digest
        unique.setdefault(digest, artifact)
    table = measure_side_by_side(
        list(unique), list(unique.values()), load_dataset(data), rounds=RoundSettings(rounds=10), threads=2,
        stage=lambda _t: None, on_progress=None, score=False,
    )  # fmt: skip
    fps = {digest: 1000.0 / item.latency.median for digest, item in zip(unique, table.items)}
    print(f"{len(keys)} front artifacts, {len(unique)} distinct configs timed")
    return {key: fps[digest_of[key]] for key in keys}


if __name__ == "__main__":
    main()
