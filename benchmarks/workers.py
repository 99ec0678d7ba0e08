"""Many workers on one machine: do they measure distinct configs, and is their latency comparable?

Parts:
- ``distinct``: ``paretodet search --trials 1`` starts a study on the default space, then workers join it at
  once (PostgreSQL: 2 workers; SQLite: the search and 1 worker, 2 local processes) until the study holds
  ``--trials`` completed trials. Prints completed trials, distinct configs among the measured ones,
  re-sampled duplicates, and wall time.
- ``timing``: the same candidate measured by 3 ``paretodet evaluate`` processes, in interleaved rounds of
  three modes: one after the other (``sequential``: the host's own noise between processes), all at once
  without the host-wide timing lock (``PARETODET_TIMING_LOCK=off``), all at once with it (``on``). Prints
  each process's median latency and the CV of the 3 medians.

Usage::

    python benchmarks/workers.py --part distinct --postgres postgresql://paretodet:paretodet@localhost/paretodet
    python benchmarks/workers.py --part timing --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna

from paretodet.base import cpu_model
from paretodet.data import SynthSpec, synthesize
from paretodet.models import demo_teacher_path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "paretodet.cli", *args]


def _data(work: Path, images: int) -> Path:
    yaml_path = work / "data" / "data.yaml"
    if not yaml_path.is_file():
        synthesize(work / "data", SynthSpec(images=images, seed=0))
    return yaml_path


def distinct(storage: str, *, work: Path, trials: int, joiners: int, data: Path) -> dict[str, object]:
    """Start a study, let ``joiners`` worker processes join it, and count what was measured."""
    study = f"bench-{uuid.uuid4().hex[:6]}"
    start = time.perf_counter()
    model = str(demo_teacher_path())
    first = _cli("search", "--model", model, "--data", str(data), "--storage", storage, "--study", study)
    procs = []
    if joiners == 2:  # the search measures one trial first, then two workers join
        subprocess.run([*first, "--trials", "1", "--workdir", str(work / "w0")], check=True, capture_output=True)
    else:  # the search and one worker at once
        procs.append(subprocess.Popen([*first, "--trials", str(trials), "--workdir", str(work / "w0")]))
        time.sleep(20)  # the study exists before the worker joins it
    for i in range(1, joiners + 1):
        worker = ["worker", "--storage", storage, "--study", study, "--trials", str(trials)]
        procs.append(subprocess.Popen(_cli(*worker, "--workdir", str(work / f"w{i}"))))
    for proc in procs:
        proc.wait()
    wall = time.perf_counter() - start
    all_trials = optuna.load_study(study_name=study, storage=storage).get_trials()
    done = [t for t in all_trials if t.state.name == "COMPLETE"]
    measured = [t.user_attrs["config_key"] for t in done if "duplicate_of" not in t.user_attrs]
    return {
        "storage": storage.split(":")[0],
        "study": study,
        "processes": 1 + joiners,
        "completed": len(done),
        "measured": len(measured),
        "distinct_configs": len(set(measured)),
        "duplicate_configs": len(measured) - len(set(measured)),
        "resampled": sum(1 for t in all_trials if t.state.name == "PRUNED"),
        "failed": sum(1 for t in all_trials if t.state.name == "FAIL"),
        "workers": sorted({str(t.user_attrs.get("worker")) for t in done}),
        "wall_s": round(wall, 1),
    }


MODES = ("sequential", "off", "on")


def timing(*, work: Path, data: Path, rounds: int, imgsz: int) -> list[dict[str, object]]:
    """3 evaluate processes of one candidate per mode (see the module docstring), ``rounds`` times."""
    rows = []
    model = str(demo_teacher_path())
    cmd = _cli("evaluate", model, "--data", str(data), "--imgsz", str(imgsz), "--threads", "2", "--json")
    for round_no in range(rounds):
        for mode in MODES:
            env = dict(os.environ)
            env["PARETODET_TIMING_LOCK"] = "off" if mode == "off" else str(work / "timing.lock")

            def start(env: dict[str, str] = env) -> subprocess.Popen[str]:
                return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)

            if mode == "sequential":
                outputs = [start().communicate()[0] for _ in range(3)]
            else:
                procs = [start() for _ in range(3)]
                outputs = [p.communicate()[0] for p in procs]
            medians = [json.loads(out)["latency_ms"] for out in outputs]
            cv = statistics.pstdev(medians) / statistics.mean(medians)
            rows.append({"round": round_no, "mode": mode, "medians_ms": [round(m, 2) for m in medians], "cv": cv})
            print(f"round {round_no} {mode:>10}: medians {rows[-1]['medians_ms']} ms, CV {cv:.3f}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("distinct", "timing"), required=True)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/paretodet-workers"))
    parser.add_argument("--postgres", default=os.environ.get("PARETODET_TEST_POSTGRES", ""))
    parser.add_argument("--backends", nargs="+", default=["postgres", "sqlite"], choices=("postgres", "sqlite"))
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--images", type=int, default=64, help="train images of the synthetic data (val: a quarter)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--imgsz", type=int, default=320)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = _data(args.workdir, args.images)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores", flush=True)
    if args.part == "timing":
        rows = timing(work=args.workdir, data=data, rounds=args.rounds, imgsz=args.imgsz)
        for mode in MODES:
            part = [r for r in rows if r["mode"] == mode]
            cvs = [float(r["cv"]) for r in part]  # type: ignore[arg-type]
            medians = [m for r in part for m in r["medians_ms"]]  # type: ignore[attr-defined]
            print(
                f"{mode:>10}: CV per round {[round(c, 3) for c in cvs]}, mean {statistics.mean(cvs):.3f}, "
                f"max {max(cvs):.3f}; medians {min(medians):.2f}-{max(medians):.2f} ms"
            )
        return
    for backend in args.backends:
        if backend == "postgres":
            if not args.postgres:
                print("postgres: skipped (no --postgres URL)")
                continue
            result = distinct(args.postgres, work=args.workdir / "pg", trials=args.trials, joiners=2, data=data)
        else:
            db = args.workdir / "sqlite" / "study.db"
            db.parent.mkdir(parents=True, exist_ok=True)
            result = distinct(f"sqlite:///{db}", work=args.workdir / "sqlite", trials=args.trials, joiners=1, data=data)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
