"""Chaos: does a study on PostgreSQL survive workers killed at random and a database restart?

One ``paretodet search --trials 1`` starts a study of the demo teacher on a cheap space (FP32 / FP16 / INT8
at small input sizes, no training); then ``--workers`` workers join it, each until the study holds
``--trials`` completed trials. Every 20-40 s one worker chosen at random gets SIGKILL and is started again;
once, mid-run, the PostgreSQL server is restarted (``--restart-cmd``). The same study is then run with no
faults, for the wall-time overhead.

Checks, printed as a table: the target is reached; completed trials seen during the run are never lost
(same trial, same values at the end); no config is measured twice; every killed worker's RUNNING trial ends
FAIL with a reason and its config is measured later; no worker's output holds a traceback.

Usage::

    python benchmarks/chaos.py --storage postgresql://paretodet:PW@localhost/paretodet --workdir /tmp/chaos
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from paretodet.base import cpu_model
from paretodet.models import demo_teacher_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _demo import demo_workdir

SPACE = """knobs:
  imgsz: {choices: [96, 128, 160, 192, 224, 256, 288, 320]}
  quant.precision: {choices: [fp32, fp16, int8]}
  quant.calibration: {choices: [minmax, entropy, percentile], when: {quant.precision: [int8]}}
  quant.per_channel: {choices: [false, true], when: {quant.precision: [int8]}}
"""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "paretodet.cli", *args]


@dataclass
class Chaos:
    """One run: its workers, their logs, and what happened."""

    storage: str
    study: str
    work: Path
    trials: int
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)
    kills: list[tuple[float, int]] = field(default_factory=list)
    seen: dict[int, tuple[float, ...]] = field(default_factory=dict)  # COMPLETE trials seen during the run
    restarted_at: float | None = None

    def start_worker(self, slot: int) -> None:
        log = self.work / "logs" / f"worker{slot}-{len(self.logs)}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.logs.append(log)
        cmd = _cli("worker", "--storage", self.storage, "--study", self.study, "--trials", str(self.trials))
        cmd += ["--workdir", str(self.work / "shared")]
        with log.open("wb") as out:
            self.procs[slot] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)

    def completed(self) -> list[optuna.trial.FrozenTrial]:
        study = optuna.load_study(study_name=self.study, storage=self.storage)
        return [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]


def start_study(storage: str, study: str, work: Path, data: Path) -> None:
    space = work / "space.yaml"
    space.write_text(SPACE)
    cmd = _cli("search", "--model", str(demo_teacher_path()), "--data", str(data), "--storage", storage)
    cmd += ["--study", study, "--trials", "1", "--workdir", str(work / "shared"), "--space", str(space)]
    cmd += ["--no-verify", "--threads", "1"]
    subprocess.run(cmd, check=True, capture_output=True)


def run(
    storage: str, work: Path, data: Path, *, workers: int, trials: int, faults: bool, restart_cmd: str, seed: int
) -> tuple[Chaos, float]:
    rng = random.Random(seed)
    chaos = Chaos(storage, f"chaos-{uuid.uuid4().hex[:6]}", work, trials)
    work.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    start_study(storage, chaos.study, work, data)
    for slot in range(workers):
        chaos.start_worker(slot)
    next_kill = time.monotonic() + rng.uniform(20, 40)
    restart_after = len(chaos.completed()) + trials // 2  # once, half way
    while any(p.poll() is None for p in chaos.procs.values()):
        time.sleep(1)
        try:
            for trial in chaos.completed():
                chaos.seen.setdefault(trial.number, tuple(trial.values))
        except Exception as exc:  # the database is restarting: look again next second
            print(f"  (monitor: {str(exc).splitlines()[0][:80]})", flush=True)
        if not faults:
            continue
        if chaos.restarted_at is None and len(chaos.seen) >= restart_after:
            print(f"{time.monotonic() - start:6.0f} s: restarting PostgreSQL", flush=True)
            chaos.restarted_at = time.monotonic() - start
            subprocess.run(restart_cmd, shell=True, check=True, capture_output=True)
        if time.monotonic() >= next_kill and len(chaos.seen) < trials:
            alive = [slot for slot, p in chaos.procs.items() if p.poll() is None]
            if alive:
                slot = rng.choice(alive)
                chaos.procs[slot].send_signal(signal.SIGKILL)
                chaos.procs[slot].wait()
                chaos.kills.append((time.monotonic() - start, slot))
                print(f"{time.monotonic() - start:6.0f} s: killed worker {slot}, starting it again", flush=True)
                chaos.start_worker(slot)
            next_kill = time.monotonic() + rng.uniform(20, 40)
    return chaos, time.monotonic() - start


def checks(chaos: Chaos) -> dict[str, Any]:
    study = optuna.load_study(study_name=chaos.study, storage=chaos.storage)
    trials = study.get_trials(deepcopy=False)
    by_number = {t.number: t for t in trials}
    done = [t for t in trials if t.state.name == "COMPLETE"]
    lost = [n for n, values in chaos.seen.items() if by_number[n].state.name != "COMPLETE"]
    changed = [n for n, values in chaos.seen.items() if n not in lost and tuple(by_number[n].values) != values]
    measured = [t.user_attrs["config_key"] for t in done if "duplicate_of" not in t.user_attrs]
    failed = [t for t in trials if t.state.name == "FAIL"]
    no_reason = [t.number for t in failed if not (t.user_attrs.get("fail_reason") or t.system_attrs.get("fail_reason"))]
    done_keys = set(measured)
    not_rerun = [t.number for t in failed if t.user_attrs.get("config_key") not in done_keys and t.params]
    tracebacks = [log.name for log in chaos.logs if "Traceback" in log.read_text(errors="replace")]
    return {
        "completed": len(done),
        "target": chaos.trials,
        "kills": len(chaos.kills),
        "db_restart_s": chaos.restarted_at,
        "completed_lost": len(lost) + len(changed),
        "duplicate_configs": len(measured) - len(set(measured)),
        "failed": len(failed),
        "failed_without_reason": no_reason,
        "failed_not_rerun": not_rerun,
        "logs_with_traceback": tracebacks,
        "reasons": sorted({str(t.user_attrs.get("fail_reason") or t.system_attrs.get("fail_reason")) for t in failed}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", default=os.environ.get("PARETODET_TEST_POSTGRES", ""))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/paretodet-chaos"))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--restart-cmd", default="pg_ctlcluster $(ls /usr/lib/postgresql | sort -n | tail -1) main restart"
    )
    parser.add_argument("--no-reference", action="store_true", help="Skip the fault-free run (no overhead figure).")
    args = parser.parse_args()
    if not args.storage.startswith("postgresql"):
        parser.error("--storage must be a PostgreSQL URL (or set PARETODET_TEST_POSTGRES)")
    work, data = demo_workdir(args.workdir, "paretodet-chaos-")
    print(f"CPU: {cpu_model()}; {args.workers} workers, target {args.trials} trials, PostgreSQL", flush=True)
    chaos, wall = run(
        args.storage, work / "faults", data, workers=args.workers, trials=args.trials, faults=True,
        restart_cmd=args.restart_cmd, seed=args.seed,
    )  # fmt: skip
    result = checks(chaos)
    result["wall_s"] = round(wall)
    reference_wall = None
    if not args.no_reference:
        ref, reference_wall = run(
            args.storage, work / "reference", data, workers=args.workers, trials=args.trials, faults=False,
            restart_cmd=args.restart_cmd, seed=args.seed,
        )  # fmt: skip
        result["reference"] = checks(ref)
    print("\n| check | result |\n|---|---|")
    print(f"| target reached | {result['completed']} / {result['target']} completed |")
    print(f"| kills survived | {result['kills']} SIGKILLs, each worker started again |")
    print(f"| database restart survived | restarted at {result['db_restart_s']:.0f} s |")
    print(f"| completed trials lost | {result['completed_lost']} |")
    print(f"| duplicate configs | {result['duplicate_configs']} |")
    print(f"| failed trials | {result['failed']} (without a reason: {len(result['failed_without_reason'])}; "
          f"config never measured later: {len(result['failed_not_rerun'])}) |")  # fmt: skip
    print(f"| worker logs with a traceback | {len(result['logs_with_traceback'])} of {len(chaos.logs)} |")
    if reference_wall is not None:
        print(f"| wall time | {wall:.0f} s with faults, {reference_wall:.0f} s without: {wall / reference_wall:.2f}x |")
    for reason in result["reasons"]:
        print(f"fail reason: {reason}")


if __name__ == "__main__":
    main()
