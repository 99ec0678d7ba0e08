"""The replay table of issue 36: real candidates of the demo teacher over a discretised space, each built and
measured once, for the replay simulator (``benchmarks/replay.py``) to run the real search code against.

Space (156 configs): imgsz {160, 224, 320} x quant.precision {fp32, fp16, int8} (int8: quant.calibration
{minmax, percentile}) x pruning {none, L1 at 0.1, 0.2, 0.3, 0.4} x prune.finetune_epochs {0, 1, 3} (recovery at
the family's learning rate, no KD; the 4 precision variants of a recovered model share its training, as in a
search's stage cache: ``train_key`` names it, and only the row that trained it has ``epoch_s``). Each row holds
what the search would see of that candidate:

- ``map50_95``: mAP50-95 on the whole demo val split (100 images), the trial's own evaluation;
- ``size_bytes``; ``latency_ms`` (the trial's own timing) and, after every row is built, ``latency_ratio``:
  the median ratio to the original FP32 model at 320 px over interleaved rounds (``--rounds``), with its 95%
  interval (``latency_ratio_low``/``_high``) and ``fps_rounds`` (the reference's FPS over that ratio);
- the seconds of each part: ``twin_s`` (the untrained twin built and timed, trained configs only),
  ``epoch_s`` (each training epoch, ``;``-separated), ``build_s`` (the whole build, training included),
  ``rung_s`` (scoring the rungs, inside ``build_s``), ``eval_s`` (scoring and timing), ``trial_s`` (build +
  eval);
- ``twin_fps``, ``twin_size_bytes``: the untrained twin's figures; ``rung_<stage>@<epoch>``: mAP50-95 on the
  32 rung images after that epoch (rung 1 of a 3-epoch recovery), copied to every row sharing the training.

Rows are appended as they finish (resumable: a re-run skips the configs the CSV holds). Cheap configs come
first. Training runs one at a time on this machine's cores; nothing else should run meanwhile.

Usage: python benchmarks/replay_table.py [--workdir DIR] [--out benchmarks/replay_table.csv] [--rounds 10]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import time
from pathlib import Path
from typing import Any

from _demo import demo_workdir

from paretodet.base import cpu_model
from paretodet.data import read_truth, split_images, val_subset
from paretodet.models import demo_teacher_path
from paretodet.objectives import EvalSettings, RoundSettings, evaluate, measure_shape, score_detector, time_interleaved
from paretodet.runtimes import Artifact, open_runner
from paretodet.search import build, load_model_and_data
from paretodet.spaces import Candidate

SIZES = (160, 224, 320)
PRECISIONS = (("fp32", None), ("fp16", None), ("int8", "minmax"), ("int8", "percentile"))
PRUNING = ((None, 0), *((r, e) for r in (0.1, 0.2, 0.3, 0.4) for e in (0, 1, 3)))
KNOBS = ("imgsz", "quant.precision", "quant.calibration", "prune.method", "prune.ratio", "prune.finetune_epochs")
RUNG_IMAGES = 32  # as the search's early stopping (search.study._early_stop.RUNG_VAL_IMAGES)
RUNG_EPOCHS = (1, 3, 9)


def configs() -> list[dict[str, Any]]:
    """Every config of the table, cheap ones first (no training), then by training epochs."""
    rows = []
    for imgsz, (precision, calibration), (ratio, epochs) in itertools.product(SIZES, PRECISIONS, PRUNING):
        rows.append(
            {
                "imgsz": imgsz,
                "quant.precision": precision,
                "quant.calibration": calibration or "minmax",
                "prune.method": "l1" if ratio else "none",
                "prune.ratio": ratio or 0.3,
                "prune.finetune_epochs": epochs,
            }
        )
    return sorted(rows, key=lambda r: (r["prune.finetune_epochs"], r["imgsz"]))


def key_of(row: dict[str, Any]) -> str:
    return "|".join(str(row[k]) for k in KNOBS)


def train_key(row: dict[str, Any]) -> str:
    """What a recovery training depends on here (its stage cache key's knobs): input size, ratio, epochs."""
    if not row["prune.finetune_epochs"]:
        return ""
    return f"{row['imgsz']}|{row['prune.ratio']}|{row['prune.finetune_epochs']}"


class _Recorder:
    """A training watch that times each epoch and scores the model on the rung images at the rung epochs."""

    def __init__(self, truths: list[Any], imgsz: int) -> None:
        self.truths, self.imgsz = truths, imgsz
        self.epoch_s: list[float] = []
        self.rung_s = 0.0  # scoring the rungs (inside the build's time, not an epoch's)
        self.rungs: dict[str, float] = {}
        self.last = time.perf_counter()

    def after_epoch(self, stage: str, done: int, total: int, model: Any) -> None:
        now = time.perf_counter()
        self.epoch_s.append(now - self.last)
        if done in RUNG_EPOCHS and done < total:
            self.rungs[f"rung_{stage}@{done}"] = score_detector(model, self.truths, imgsz=self.imgsz)
        self.last = time.perf_counter()  # the rung's scoring is not the epoch's
        self.rung_s += self.last - now


def measure_row(values: dict[str, Any], detector: Any, data: Any, work: Path, rung_truths: list[Any]) -> dict:
    """Build and measure one config as a trial of the search would, timing each part."""
    candidate = Candidate().replace(values)
    settings = EvalSettings(threads=2)
    row: dict[str, Any] = {**values, "twin_s": 0.0, "train_key": train_key(values)}
    if values["prune.finetune_epochs"]:
        start = time.perf_counter()
        twin = build(candidate, detector, data, workdir=work, untrained=True)
        shape = measure_shape(twin.artifact, settings=settings)
        row.update(twin_s=time.perf_counter() - start, twin_fps=shape.fps, twin_size_bytes=shape.size_bytes)
    recorder = _Recorder(rung_truths, candidate.imgsz)
    start = time.perf_counter()
    result = build(candidate, detector, data, workdir=work, watch=recorder)
    row["build_s"] = time.perf_counter() - start
    start = time.perf_counter()
    metrics = evaluate(result.artifact, data, settings=settings, keep_evals=False)
    row["eval_s"] = time.perf_counter() - start
    row["trial_s"] = row["build_s"] + row["eval_s"]
    row.update(
        map50_95=metrics.map50_95,
        size_bytes=metrics.size_bytes,
        latency_ms=metrics.latency_ms,
        epoch_s=";".join(f"{s:.1f}" for s in recorder.epoch_s),
        rung_s=recorder.rung_s,
        artifact=str(result.artifact.path),
        **recorder.rungs,
    )
    return row


def add_latency_ratios(rows: list[dict[str, Any]], rounds: int) -> None:
    """Every row's latency ratio to the original FP32 model at 320 px, timed together in interleaved rounds."""
    ref = next(i for i, r in enumerate(rows) if r["imgsz"] == 320 and r["quant.precision"] == "fp32"
               and r["prune.method"] == "none")  # fmt: skip
    artifacts = [Artifact.read_sidecar(Path(r["artifact"])) for r in rows]
    runners = [open_runner(a, threads=2) for a in artifacts]
    order = [ref] + [i for i in range(len(rows)) if i != ref]
    timing = time_interleaved([runners[i] for i in order], [artifacts[i].imgsz for i in order],
                              settings=RoundSettings(rounds=rounds))  # fmt: skip
    ref_ms = timing.latency(0).median
    for position, index in enumerate(order):
        ratio = timing.ratio(position)
        rows[index].update(latency_ratio=ratio.median, latency_ratio_low=ratio.low, latency_ratio_high=ratio.high)
        rows[index]["fps_rounds"] = 1000.0 / (ref_ms * ratio.median)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench/replay"))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("replay_table.csv"))
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--limit", type=int, default=None, help="build at most this many new rows")
    args = parser.parse_args()
    work, data_yaml = demo_workdir(args.workdir, "replay")
    detector, data = load_model_and_data(str(demo_teacher_path()), data_yaml)
    truths = [read_truth(data, p) for p in split_images(data)]
    rung_truths = [truths[i] for i in val_subset(truths, RUNG_IMAGES, seed=0)]
    raw = args.out.with_suffix(".rows.csv")  # rows as built (before the interleaved rounds)
    done = {key_of(r): r for r in _read(raw) or _read(args.out)}  # resume from either (rounds are re-timed)
    print(f"cpu: {cpu_model()}; {len(done)} of {len(configs())} rows already built", flush=True)
    built = 0
    for values in configs():
        if key_of(values) in done or (args.limit is not None and built >= args.limit):
            continue
        row = measure_row(values, detector, data, work / "cache-root", rung_truths)
        trained = next((r for r in done.values() if r.get("train_key") and r["train_key"] == row["train_key"]), None)
        if trained is not None:  # the training came from the cache: its rungs are that row's
            row.update({k: v for k, v in trained.items() if k.startswith("rung_")})
        _append(raw, row)
        done[key_of(values)] = row
        built += 1
        print(f"{len(done)}/{len(configs())} {key_of(values)}: mAP {row['map50_95']:.4f} trial {row['trial_s']:.0f} s",
              flush=True)  # fmt: skip
    if len(done) == len(configs()):
        rows = [done[key_of(v)] for v in configs()]
        add_latency_ratios(rows, args.rounds)
        _write(args.out, rows)
        print(f"wrote {args.out}: {len(rows)} rows", flush=True)


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with path.open() as fh:
        return [_typed(r) for r in csv.DictReader(fh)]


def _typed(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        try:
            out[k] = int(v) if v.isdigit() else float(v)
        except ValueError:
            out[k] = v
    return out


def _append(path: Path, row: dict[str, Any]) -> None:
    rows = [*_read(path), row]
    _write(path, rows)


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
