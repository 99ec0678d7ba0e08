"""Bootstrap intervals for mAP: do 100-image intervals cover the 2,000-image figure?

Usage: python benchmarks/intervals.py [--workdir DIR] [--reps 1000] [--subsets 20] [--subset-size 100]

The packaged demo teacher is built at 320 px as FP32 ONNX and as INT8 (QDQ, default knobs) by the project's own
pipeline (calibrated on the demo data's train split), and each artifact predicts once over a 2,000-image
synthetic val split (the demo spec's generator, more images). From those predictions alone: the 2,000-image
mAP50-95, then for each of 20 disjoint 100-image subsets its 95% bootstrap interval by each method, and how many
of the 20 contain the 2,000-image figure (a 95% interval should, about 19 times). Everything else (predictions,
match records) is cached in the work dir, so a rerun only re-bootstraps.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _demo import demo_workdir  # benchmarks/ is on sys.path when this script runs

from paretodet.data import load_data_yaml, read_truth, split_images, synthesize
from paretodet.models import DEMO_DATA_SPEC, demo_teacher_path, load_detector
from paretodet.objectives import (
    INTERVAL_METHODS,
    ImageEvals,
    bootstrap_map,
    coco_ground_truth,
    image_evals,
    map_from_evals,
    paired_delta,
    predict,
    score_coco,
    separable,
)
from paretodet.runtimes import open_runner
from paretodet.search import build
from paretodet.spaces import Candidate

ARTIFACTS = {"FP32": {"imgsz": 320}, "INT8": {"imgsz": 320, "quant.precision": "int8"}}


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (the platform's processor string elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def val_set(work: Path, images: int) -> Path:
    """Data YAML of a val-only synthetic split of ``images`` images (the demo spec's generator and seed)."""
    spec = dataclasses.replace(DEMO_DATA_SPEC, images=4 * images)  # the val split is a quarter of `images`
    assert spec.val_images == images
    yaml_path = work / f"val{images}" / "data.yaml"
    if not yaml_path.is_file():
        synthesize(yaml_path.parent, spec, splits=("val",))
    return yaml_path


def predictions(work: Path, name: str, knobs: dict[str, Any], val_yaml: Path) -> tuple[Path, float]:
    """Build one artifact (demo data, the project's pipeline) and cache its predictions on the big val set."""
    out = work / f"pred_{name}.json"
    if out.is_file():
        return out, json.loads(out.read_text())["seconds"]
    _, demo_yaml = demo_workdir(work / "demo", "intervals")
    result = build(Candidate.from_dict(knobs), load_detector(demo_teacher_path()), load_data_yaml(demo_yaml),
                   workdir=work / "build")  # fmt: skip
    info = load_data_yaml(val_yaml)
    truths = [read_truth(info, path) for path in split_images(info)]
    runner = open_runner(result.artifact, threads=2)
    start = time.perf_counter()
    preds = predict(runner, truths, imgsz=result.artifact.imgsz)
    seconds = time.perf_counter() - start
    out.write_text(json.dumps({"seconds": seconds, "artifact": str(result.artifact.path), "results": preds.results}))
    return out, seconds


def match_records(work: Path, name: str, pred_file: Path, val_yaml: Path) -> tuple[ImageEvals, dict[str, float]]:
    """The artifact's ``ImageEvals`` on the big val set (cached), with the pycocotools timings of the first run."""
    cache = work / f"evals_{name}.npz"
    timing_file = cache.with_suffix(".json")
    if cache.is_file() and timing_file.is_file():
        return ImageEvals.load(cache), json.loads(timing_file.read_text())
    info = load_data_yaml(val_yaml)
    gt = coco_ground_truth([read_truth(info, path) for path in split_images(info)], info.names)
    results = json.loads(pred_file.read_text())["results"]
    start = time.perf_counter()
    evals = image_evals(gt, results)
    timings = {"image_evals_s": time.perf_counter() - start}
    start = time.perf_counter()
    reference = score_coco(gt, results)
    timings["score_coco_s"] = time.perf_counter() - start
    timings["identical"] = float(map_from_evals(evals) == reference)
    evals.save(cache)
    timing_file.write_text(json.dumps(timings))
    return evals, timings


def coverage(evals: ImageEvals, *, subsets: int, size: int, reps: int) -> dict[str, Any]:
    """Each method's interval on each disjoint subset of ``size`` images, against the whole set's mAP50-95."""
    whole = map_from_evals(evals)[0]
    rows: list[dict[str, Any]] = []
    seconds: list[float] = []
    for s in range(subsets):
        sub = evals.select(np.arange(s * size, (s + 1) * size))
        row: dict[str, Any] = {}
        for method in INTERVAL_METHODS:
            start = time.perf_counter()
            row[method] = bootstrap_map(sub, reps=reps, seed=s, method=method).map50_95
            if method == "percentile":
                seconds.append(time.perf_counter() - start)
        rows.append(row)
    return {"whole": whole, "rows": rows, "percentile_seconds": seconds}


def print_table(name: str, evals: ImageEvals, found: dict[str, Any], size: int) -> None:
    """One artifact's per-subset table and its coverage summary."""
    whole, rows = found["whole"], found["rows"]
    print(f"\n{name}: mAP50-95 on all {evals.n_images} images = {whole:.4f}")
    header = "".join(f"{m + ' 95% interval':>26}{'in':>4}" for m in INTERVAL_METHODS)
    print(f"{'subset':<10}{'mAP50-95':>9}{header}")
    for s, row in enumerate(rows):
        cells = "".join(
            f"{f'[{row[m].low:.4f}, {row[m].high:.4f}]':>26}{'y' if row[m].contains(whole) else 'n':>4}"
            for m in INTERVAL_METHODS
        )
        print(f"{f'{s * size}-{(s + 1) * size - 1}':<10}{row['percentile'].estimate:>9.4f}{cells}")
    estimates = np.array([row["percentile"].estimate for row in rows])
    mean = estimates.mean()
    print(f"subset mAP50-95: mean {mean:.4f} (whole {whole:.4f}, difference {mean - whole:+.4f}),"
          f" sd across subsets {estimates.std(ddof=1):.4f}")  # fmt: skip
    implied_sd = np.mean([row["percentile"].high - row["percentile"].low for row in rows]) / 3.92
    bias = np.mean([row["percentile"].bias for row in rows])
    print(f"bootstrap: implied sd {implied_sd:.4f} (mean width / 3.92), mean bias of resamples {bias:+.4f}")
    for m in INTERVAL_METHODS:
        hits = sum(row[m].contains(whole) for row in rows)
        widths = [row[m].high - row[m].low for row in rows]
        print(f"coverage {m:<11}{hits:>3} of {len(rows)}   mean width {np.mean(widths):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None, help="cache dir (default: a new temporary one)")
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--subsets", type=int, default=20)
    parser.add_argument("--subset-size", type=int, default=100)
    args = parser.parse_args()
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="intervals_"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    images = args.subsets * args.subset_size
    start = time.perf_counter()
    val_yaml = val_set(work, images)
    print(f"CPU: {cpu_name()}  ({images}-image val set ready in {time.perf_counter() - start:.0f} s)")
    evals_by_name = {}
    for name, knobs in ARTIFACTS.items():
        pred_file, seconds = predictions(work, name, knobs, val_yaml)
        evals, timings = match_records(work, name, pred_file, val_yaml)
        evals_by_name[name] = evals
        same = bool(timings["identical"])
        print(f"{name} {knobs}: inference over {images} images {seconds:.0f} s (2 threads, cached after the first"
              f" run); pycocotools evaluate for ImageEvals {timings['image_evals_s']:.1f} s, full score_coco"
              f" {timings['score_coco_s']:.1f} s, map_from_evals == score_coco: {same}")  # fmt: skip
        found = coverage(evals, subsets=args.subsets, size=args.subset_size, reps=args.reps)
        print_table(name, evals, found, args.subset_size)
        secs = found["percentile_seconds"]
        print(f"bootstrap wall time ({args.reps} reps, {args.subset_size} images, percentile): median"
              f" {np.median(secs):.3f} s, max {max(secs):.3f} s")  # fmt: skip
    start = time.perf_counter()
    full = bootstrap_map(evals_by_name["FP32"], reps=args.reps)
    print(f"\nbootstrap of all {images} FP32 images ({args.reps} reps): {time.perf_counter() - start:.2f} s,"
          f" mAP50-95 {full.map50_95.estimate:.4f} [{full.map50_95.low:.4f}, {full.map50_95.high:.4f}]")  # fmt: skip
    start = time.perf_counter()
    delta = paired_delta(evals_by_name["FP32"], evals_by_name["INT8"], reps=args.reps)
    d = delta.map50_95
    print(f"paired INT8 - FP32 on all {images} images: {d.estimate:+.4f} [{d.low:+.4f}, {d.high:+.4f}]"
          f" ({time.perf_counter() - start:.2f} s)")  # fmt: skip
    paired_subsets(evals_by_name["FP32"], evals_by_name["INT8"], d.estimate, args)


def paired_subsets(a: ImageEvals, b: ImageEvals, whole: float, args: argparse.Namespace) -> None:
    """The paired INT8 - FP32 interval on each subset: does it hold the whole set's change, does it exclude 0?"""
    size = args.subset_size
    print(f"\npaired INT8 - FP32 mAP50-95 on each {size}-image subset (whole set: {whole:+.4f})")
    print(f"{'method':<12}{'holds whole-set change':>24}{'excludes 0 (separable)':>24}{'mean width':>12}")
    for method in INTERVAL_METHODS:
        found = []
        for s in range(args.subsets):
            idx = np.arange(s * size, (s + 1) * size)
            found.append(paired_delta(a.select(idx), b.select(idx), reps=args.reps, seed=s, method=method))
        holds = sum(f.map50_95.contains(whole) for f in found)
        apart = sum(separable(f) for f in found)
        width = np.mean([f.map50_95.high - f.map50_95.low for f in found])
        print(f"{method:<12}{f'{holds} of {len(found)}':>24}{f'{apart} of {len(found)}':>24}{width:>12.4f}")


if __name__ == "__main__":
    main()
