"""Our COCO evaluator (pycocotools on the artifact's own predictions) vs Ultralytics' own val().

Usage: python benchmarks/evaluator_agreement.py [--model PT] [--data YAML] [--imgsz N]
Defaults: the packaged demo teacher on the synthetic demo val split at its final training size.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from paretodet.compress import export_artifact
from paretodet.data import load_data_yaml, synthesize, write_resolved_yaml
from paretodet.models import DEMO_DATA_SPEC, demo_teacher_path, load_detector
from paretodet.objectives import EvalSettings, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(demo_teacher_path()))
    parser.add_argument("--data", default=None)
    parser.add_argument("--imgsz", type=int, default=None)
    args = parser.parse_args()
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        data = Path(args.data) if args.data else synthesize(tmpdir / "data", DEMO_DATA_SPEC, splits=("val",))
        meta_file = demo_teacher_path().parent / "demo_teacher.json"
        recipe = json.loads(meta_file.read_text())["recipe"] if meta_file.exists() else {}
        imgsz = args.imgsz or recipe.get("large_imgsz", 320)
        info = load_data_yaml(data)
        n_images = len(list(info.val.glob("*")))
        rows = []
        for runtime, suffix in (("torch", ".pt"), ("onnxruntime", ".onnx")):
            art = export_artifact(
                load_detector(args.model), tmpdir / f"m{suffix}", runtime=runtime, imgsz=imgsz, precision="fp32"
            )
            m = evaluate(art, info, settings=EvalSettings(threads=2))
            rows.append((f"paretodet ({runtime}, pycocotools)", m.map50_95, m.map50))
        resolved = write_resolved_yaml(info, tmpdir / "resolved.yaml")
        for rect in (False, True):
            res = YOLO(args.model).val(
                data=str(resolved),
                imgsz=imgsz,
                batch=16,
                conf=0.001,
                iou=0.7,
                max_det=300,
                device="cpu",
                plots=False,
                rect=rect,
                project=str(tmpdir / "val"),
                verbose=False,
                workers=0,
            )
            rows.append((f"ultralytics val() rect={rect}", float(res.box.map), float(res.box.map50)))
    print(f"model {args.model}  data {data}  imgsz {imgsz}  images {n_images}")
    print(f"{'evaluator':<40}{'mAP50-95':>10}{'mAP50':>10}")
    for name, a, b in rows:
        print(f"{name:<40}{a:>10.4f}{b:>10.4f}")
    ours, theirs = rows[1][1], rows[2][1]
    print(f"difference (ours ORT vs ultralytics square): {abs(ours - theirs):.4f} mAP50-95 (target <= 0.01)")


if __name__ == "__main__":
    main()
