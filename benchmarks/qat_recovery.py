"""How much quantization-aware fine-tuning recovers over plain INT8 PTQ, and what it costs.

Usage: python benchmarks/qat_recovery.py [--imgsz 320] [--epochs 1 2] [--calibration minmax] [--workdir DIR]

Same INT8 knobs with and without QAT; FP32 for reference. Wall time is the build time of the artifact
(QAT fine-tuning + export + calibration + quantization) on this machine.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from paretodet.compress import QatRecipe, qat_finetune
from paretodet.data import load_data_yaml, synthesize, write_resolved_yaml
from paretodet.models import DEMO_DATA_SPEC, Detector, demo_teacher_path, load_detector
from paretodet.objectives import EvalSettings, evaluate
from paretodet.search import build
from paretodet.spaces import Candidate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--calibration", default="minmax")
    parser.add_argument("--per-channel", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="paretodet-qat-"))
    work = args.workdir or tmp / "work"
    data = load_data_yaml(synthesize(tmp / "data", DEMO_DATA_SPEC))
    det = load_detector(demo_teacher_path())
    settings = EvalSettings(threads=2)
    knobs = {"imgsz": args.imgsz, "quant.calibration": args.calibration, "quant.per_channel": args.per_channel}
    rows = []
    for name, extra in [("FP32", {"quant.precision": "fp32"}), ("INT8 PTQ", {"quant.precision": "int8"})] + [
        (f"INT8 + QAT {e} epoch(s)", {"quant.precision": "int8", "quant.qat_epochs": e}) for e in args.epochs
    ]:
        start = time.perf_counter()
        result = build(Candidate.from_dict({**knobs, **extra}), det, data, workdir=work)
        build_s = time.perf_counter() - start
        m = evaluate(result.artifact, data, settings=settings)
        rows.append((name, m.map50_95, m.map50, m.latency_ms, m.size_bytes, build_s, result.cache_hits))
    # equal-compute baseline: the same fine-tuning without fake quantization, then the same INT8 export
    for epochs in args.epochs:
        start = time.perf_counter()
        tuned = qat_finetune(
            det.model,
            write_resolved_yaml(data, tmp / "abs.yaml"),
            imgsz=args.imgsz,
            per_channel=args.per_channel,
            fp32_blocks=(),
            workdir=tmp / f"ft{epochs}",
            recipe=QatRecipe(epochs=epochs),
            fake_quant=False,
        )
        ft_s = time.perf_counter() - start
        ft_det = Detector(
            model=tuned, names=det.names, source="fine-tuned", digest=f"ft{epochs}-{det.digest}", family="ultralytics"
        )
        for name, extra in (
            (f"FP32 fine-tuned {epochs} epoch(s), no fake quant", {"quant.precision": "fp32"}),
            ("  + INT8 PTQ", {"quant.precision": "int8"}),
        ):
            result = build(Candidate.from_dict({**knobs, **extra}), ft_det, data, workdir=work)
            m = evaluate(result.artifact, data, settings=settings)
            rows.append((name, m.map50_95, m.map50, m.latency_ms, m.size_bytes, ft_s, result.cache_hits))
    print(
        f"demo teacher, demo val, imgsz {args.imgsz}, calibration {args.calibration}, "
        f"per_channel {args.per_channel}, 2 threads\n"
    )
    print("| variant | mAP50-95 | mAP50 | latency ms | size bytes | build s (cache hits) |")
    print("|---|---|---|---|---|---|")
    for name, a, b, lat, size, secs, hits in rows:
        print(f"| {name} | {a:.4f} | {b:.4f} | {lat:.2f} | {size:,} | {secs:.0f} ({','.join(hits) or '-'}) |")
    by_name = {r[0]: r[1] for r in rows}
    for e in args.epochs:
        qat = by_name[f"INT8 + QAT {e} epoch(s)"]
        ft = by_name[f"FP32 fine-tuned {e} epoch(s), no fake quant"]
        print(
            f"{e} epoch(s): INT8 after QAT {qat:.4f} vs the equal-compute FP32 fine-tune {ft:.4f} "
            f"(gap {ft - qat:+.4f}; plain PTQ gap to its FP32: {by_name['FP32'] - by_name['INT8 PTQ']:+.4f})"
        )
    if args.workdir is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
