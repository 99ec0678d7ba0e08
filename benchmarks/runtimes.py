"""Runtimes benchmark: the same model as ONNX Runtime and OpenVINO artifacts, FP32 to INT8, in one run.

Usage: python benchmarks/runtimes.py [--model demo|yolov5n] [--imgsz 640] [--rounds 5] [--workdir DIR]
                                     [--accuracy-control] [--shared ../shared]

demo: the packaged demo teacher (YOLOv8n) on the synthetic demo set (INT8 calibrated on its train images,
scored on its 100 val images); its Ultralytics `format=openvino, int8=True` export is measured beside ours.
yolov5n: the official COCO YOLOv5n from the shared folder, calibrated on coco128's 128 train2017 photos, scored
on its 128 val2017 photos (Ultralytics' exporter cannot load this original-YOLOv5 checkpoint).

Every artifact is built by paretodet's pipeline (`paretodet apply` with the same knobs), scored once (mAP50-95
by pycocotools), then timed in `--rounds` interleaved rounds (every artifact once per round, batch 1, fixed
threads, median of 50 runs each); a row's latency is the median of its rounds, ratios are against ONNX
Runtime FP32 of the same run. The CPU is printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from paretodet.base import cpu_model
from paretodet.data import load_data_yaml, synthesize, write_resolved_yaml
from paretodet.models import DEMO_DATA_SPEC, demo_teacher_path, load_detector
from paretodet.objectives import EvalSettings, LatencySettings, evaluate, measure_latency
from paretodet.runtimes import Artifact, open_runner
from paretodet.search import build
from paretodet.spaces import Candidate

BEST_QDQ = {"quant.calibration": "percentile", "quant.per_channel": True, "quant.fp_layers": 2}
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("ORT FP32", {}),
    ("ORT INT8 qdq default", {"quant.precision": "int8"}),
    ("ORT INT8 qdq best", {"quant.precision": "int8", **BEST_QDQ}),
    ("OV FP32 f32", {"runtime": "openvino"}),
    ("OV FP32 bf16", {"runtime": "openvino", "precision_hint": "bf16"}),
    ("OV FP16 f32", {"runtime": "openvino", "quant.precision": "fp16"}),
    ("OV INT8 qdq default f32", {"runtime": "openvino", "quant.precision": "int8"}),
    ("OV INT8 qdq best f32", {"runtime": "openvino", "quant.precision": "int8", **BEST_QDQ}),
    ("OV INT8 qdq best bf16", {"runtime": "openvino", "quant.precision": "int8", "precision_hint": "bf16", **BEST_QDQ}),
    ("OV INT8 nncf f32", {"runtime": "openvino", "quant.precision": "int8", "quant.engine": "nncf"}),
    (
        "OV INT8 nncf bf16",
        {"runtime": "openvino", "quant.precision": "int8", "quant.engine": "nncf", "precision_hint": "bf16"},
    ),
    (
        "OV INT8 nncf 2 FP32 blocks f32",
        {"runtime": "openvino", "quant.precision": "int8", "quant.engine": "nncf", "quant.fp_layers": 2},
    ),
    (
        "OV INT8 nncf 4 FP32 blocks f32",
        {"runtime": "openvino", "quant.precision": "int8", "quant.engine": "nncf", "quant.fp_layers": 4},
    ),
]
MORE_VARIANTS: list[tuple[str, dict[str, Any]]] = [
    (
        "OV INT8 nncf 128 images f32",
        {"runtime": "openvino", "quant.precision": "int8", "quant.engine": "nncf", "quant.calib_images": 128},
    ),
    (
        "OV INT8 nncf 1 FP32 block f32",
        {"runtime": "openvino", "quant.precision": "int8", "quant.engine": "nncf", "quant.fp_layers": 1},
    ),
    (
        "OV INT8 nncf 1 FP32 block 128 images f32",
        {
            "runtime": "openvino",
            "quant.precision": "int8",
            "quant.engine": "nncf",
            "quant.fp_layers": 1,
            "quant.calib_images": 128,
        },
    ),
]
ACCURACY_CONTROL: list[tuple[str, dict[str, Any]]] = [
    (
        f"OV INT8 nncf accuracy control 0.5 pt {hint}",
        {
            "runtime": "openvino",
            "quant.precision": "int8",
            "quant.engine": "nncf",
            "quant.max_drop": 0.005,
            "precision_hint": hint,
        },
    )
    for hint in ("f32", "bf16")
]


def _ultralytics_openvino(teacher: Path, data_yaml: Path, imgsz: int, tmp: Path, names: Any) -> Artifact:
    import shutil

    from ultralytics import YOLO

    local = tmp / f"ultra{imgsz}.pt"
    shutil.copy2(teacher, local)
    out = YOLO(str(local)).export(
        format="openvino", int8=True, data=str(data_yaml), imgsz=imgsz, split="train", batch=1, device="cpu"
    )
    xml = next(Path(out).glob("*.xml"))
    return Artifact(
        path=xml,
        runtime="openvino",
        imgsz=imgsz,
        precision="int8",
        names=names,
        params=0,
        gflops=0.0,
        family="ultralytics",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("demo", "yolov5n"), default="demo")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--accuracy-control", action="store_true", help="add NNCF's accuracy control (slow)")
    parser.add_argument("--more", action="store_true", help="add NNCF variants: 128 calibration images, 1 FP32 block")
    parser.add_argument("--only", nargs="*", default=None, help="keep variants whose name contains one of these")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="paretodet-rt-"))
    if args.model == "demo":
        data_yaml = work / "data" / "data.yaml"
        if not data_yaml.is_file():
            data_yaml = synthesize(work / "data", DEMO_DATA_SPEC)
        model_path = demo_teacher_path()
    else:
        data_yaml = args.shared / "data" / "coco128" / "data.yaml"
        model_path = args.shared / "models" / "yolov5n-coco.pt"
    data = load_data_yaml(data_yaml)
    det = load_detector(model_path)
    settings = EvalSettings(threads=args.threads)
    variants = VARIANTS + (MORE_VARIANTS if args.more else []) + (ACCURACY_CONTROL if args.accuracy_control else [])
    if args.only:
        variants = [v for v in variants if v[0] == "ORT FP32" or any(key in v[0] for key in args.only)]

    artifacts: dict[str, Artifact] = {}
    scores: dict[str, float] = {}
    for name, knobs in variants:
        artifact = build(Candidate.from_dict({"imgsz": args.imgsz, **knobs}), det, data, workdir=work).artifact
        artifacts[name] = artifact
        scores[name] = evaluate(artifact, data, settings=settings).map50_95
        print(f"built {name}: mAP50-95 {scores[name]:.4f}", flush=True)
    if args.model == "demo" and not args.only:
        name = "Ultralytics openvino int8=True"
        absolute = write_resolved_yaml(data, work / "abs.yaml")
        artifacts[name] = _ultralytics_openvino(model_path, absolute, args.imgsz, work, det.names)
        scores[name] = evaluate(artifacts[name], data, settings=settings).map50_95
        print(f"built {name}: mAP50-95 {scores[name]:.4f}", flush=True)

    runners = {name: open_runner(art, threads=args.threads) for name, art in artifacts.items()}
    timings: dict[str, list[float]] = {name: [] for name in runners}
    latency = LatencySettings()
    for _ in range(args.rounds):
        for name, runner in runners.items():
            timings[name].append(measure_latency(runner, imgsz=args.imgsz, settings=latency).median_ms)
    base = statistics.median(timings["ORT FP32"])
    fp32_map = scores["ORT FP32"]
    print(
        f"\nCPU: {cpu_model()}, {args.threads} threads, {args.imgsz} px, {args.rounds} interleaved rounds, "
        f"model {args.model}, val images {len(data.val) if isinstance(data.val, list) else data.val}\n"
    )
    print("| variant | runtime | hint (reported) | bytes | mAP50-95 | drop pt | latency ms | x ORT FP32 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, art in artifacts.items():
        ms = statistics.median(timings[name])
        hint = getattr(runners[name], "precision_hint", "") or "-"
        drop = 100 * (fp32_map - scores[name])
        print(
            f"| {name} | {art.runtime} | {hint} | {art.size_bytes():,} | {scores[name]:.4f} | {drop:+.2f} | "
            f"{ms:.2f} | {ms / base:.3f} |"
        )
    int8 = [n for n, a in artifacts.items() if a.precision == "int8" and 100 * (fp32_map - scores[n]) <= 0.5]
    if int8:
        fastest = min(int8, key=lambda n: statistics.median(timings[n]))
        ratio = statistics.median(timings[fastest]) / base
        print(f"\nfastest INT8 with <= 0.5 pt drop: {fastest}, {ratio:.3f}x ORT FP32")
    else:
        print("\nno INT8 artifact within 0.5 pt")


if __name__ == "__main__":
    main()
