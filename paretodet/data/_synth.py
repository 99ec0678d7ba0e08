"""Synthetic detection data: coloured shapes on cluttered, textured backgrounds.

Deterministic for a seed. Each image gets its own generator seeded from ``(seed, split, index)``, so
the same image comes out whatever the number of images asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from paretodet.data._info import FORMATS
from paretodet.data._layout import write_data_yaml
from paretodet.data._voc import write_voc_xml

__all__ = ["SHAPE_CLASSES", "SynthSpec", "synthesize"]

SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "ring")
_MIN_VISIBLE = 0.45  # an object less visible than this (occluded) gets no label


@dataclass(frozen=True)
class SynthSpec:
    """What to synthesize.

    Attributes:
        images: number of training images; the val split gets ``max(8, images // 4)``.
        seed: base seed; every image derives its own generator from it.
        min_side / max_side: image sides are drawn uniformly from this range (pixels).
        max_objects: most labelled shapes in one image.
    """

    images: int = 400
    seed: int = 0
    min_side: int = 256
    max_side: int = 384
    max_objects: int = 12

    @property
    def val_images(self) -> int:
        """Number of val images."""
        return max(8, self.images // 4)


def synthesize(
    out: Path | str,
    spec: SynthSpec | None = None,
    *,
    splits: tuple[str, ...] = ("train", "val"),
    format: str = "yolo",
) -> Path:
    """Write a synthetic dataset in the ``format`` layout and return the path of its data YAML (``out/data.yaml``,
    no ``path:`` key, so the splits are read from its folder whatever the working directory).

    Layouts (the same images, PNG, and the same boxes in each):

    - ``yolo``: ``images/{train,val}``, ``labels/{train,val}`` (YOLO txt), ``annotations/instances_val.json``
      (COCO ground truth of the val split, category id = class id).
    - ``voc``: ``VOCdevkit/VOC2007/{JPEGImages, Annotations, ImageSets/Main/{train,val}.txt}``.
    - ``coco``: ``images/{train,val}``, ``annotations/instances_{train,val}.json`` (category ids from 1).

    ``splits`` limits what is written (each image depends only on its seed, split and index, so a val-only set
    equals the full set's val).

    Example:
        >>> yaml_path = synthesize("demo_data", SynthSpec(images=16, seed=1))  # doctest: +SKIP
    """
    spec = spec or SynthSpec()
    root = Path(out)
    unknown = set(splits) - {"train", "val"}
    if unknown:
        raise ValueError(f"unknown splits {sorted(unknown)}: use train and/or val")
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
    for split, count in (("train", spec.images), ("val", spec.val_images)):
        if split not in splits:
            continue
        samples = (_sample(spec, split, index) for index in range(count))
        if format == "voc":
            _write_voc(root, split, samples)
        elif format == "coco":
            _write_coco(root, split, samples)
        else:
            _write_yolo(root, split, samples)
    if format == "voc":
        return _voc_yaml(root)
    if format == "coco":
        return _coco_yaml(root)
    return write_data_yaml(root, names=list(SHAPE_CLASSES), train=(root / "images" / "train").is_dir())


_Sample = tuple[str, np.ndarray, list[tuple[int, int, int, int, int]]]


def _sample(spec: SynthSpec, split: str, index: int) -> _Sample:
    """``(name, image, boxes)`` of image ``index`` of ``split``."""
    rng = np.random.default_rng([spec.seed, 0 if split == "train" else 1, index])
    image, boxes = _render_image(rng, spec)
    return f"{split}_{index:05d}", image, boxes


def _write_yolo(root: Path, split: str, samples: Iterable[_Sample]) -> None:
    import cv2

    img_dir, lbl_dir = root / "images" / split, root / "labels" / split
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    gt = _coco_gt(first_category=0)
    for index, (name, image, boxes) in enumerate(samples):
        cv2.imwrite(str(img_dir / f"{name}.png"), image)
        h, w = image.shape[:2]
        lines = [
            f"{c} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}"
            for c, x0, y0, x1, y1 in boxes
        ]
        (lbl_dir / f"{name}.txt").write_text("".join(line + "\n" for line in lines))
        _add_coco_image(gt, index, f"{name}.png", image, boxes, first_category=0)
    if split == "val":
        ann_dir = root / "annotations"
        ann_dir.mkdir(parents=True, exist_ok=True)
        (ann_dir / "instances_val.json").write_text(json.dumps(gt))


def _write_coco(root: Path, split: str, samples: Iterable[_Sample]) -> None:
    import cv2

    img_dir, ann_dir = root / "images" / split, root / "annotations"
    img_dir.mkdir(parents=True, exist_ok=True)
    ann_dir.mkdir(parents=True, exist_ok=True)
    gt = _coco_gt(first_category=1)
    for index, (name, image, boxes) in enumerate(samples):
        cv2.imwrite(str(img_dir / f"{name}.png"), image)
        _add_coco_image(gt, index + 1, f"{name}.png", image, boxes, first_category=1)
    (ann_dir / f"instances_{split}.json").write_text(json.dumps(gt))


def _coco_gt(*, first_category: int) -> dict[str, Any]:
    return {
        "images": [],
        "annotations": [],
        "categories": [{"id": i + first_category, "name": n} for i, n in enumerate(SHAPE_CLASSES)],
    }


def _add_coco_image(
    gt: dict[str, Any], image_id: int, file_name: str, image: np.ndarray, boxes: list[Any], *, first_category: int
) -> None:
    h, w = image.shape[:2]
    gt["images"].append({"id": image_id, "file_name": file_name, "width": w, "height": h})
    anns = gt["annotations"]
    for c, x0, y0, x1, y1 in boxes:
        anns.append(
            {
                "id": len(anns) + 1,
                "image_id": image_id,
                "category_id": c + first_category,
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "area": (x1 - x0) * (y1 - y0),
                "iscrowd": 0,
            }
        )


_VOC_YEAR = Path("VOCdevkit") / "VOC2007"


def _write_voc(root: Path, split: str, samples: Iterable[_Sample]) -> None:
    import cv2

    year = root / _VOC_YEAR
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (year / sub).mkdir(parents=True, exist_ok=True)
    ids = []
    for name, image, boxes in samples:
        cv2.imwrite(str(year / "JPEGImages" / f"{name}.png"), image)  # PNG: the same pixels as the other layouts
        h, w = image.shape[:2]
        objects = [(SHAPE_CLASSES[c], x0, y0, x1, y1, False) for c, x0, y0, x1, y1 in boxes]
        write_voc_xml(year / "Annotations" / f"{name}.xml", filename=f"{name}.png", height=h, width=w, objects=objects)
        ids.append(name)
    (year / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))


def _voc_yaml(root: Path) -> Path:
    data: dict[str, Any] = {"format": "voc"}
    for split in ("train", "val"):
        if (root / _VOC_YEAR / "ImageSets" / "Main" / f"{split}.txt").is_file():
            data[split] = (_VOC_YEAR / "ImageSets" / "Main" / f"{split}.txt").as_posix()
    data["names"] = list(SHAPE_CLASSES)
    path = root / "data.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _coco_yaml(root: Path) -> Path:
    data: dict[str, Any] = {"format": "coco"}
    for split in ("train", "val"):
        if (root / "annotations" / f"instances_{split}.json").is_file():
            data[split] = {"images": f"images/{split}", "annotations": f"annotations/instances_{split}.json"}
    path = root / "data.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _render_image(rng: np.random.Generator, spec: SynthSpec) -> tuple[np.ndarray, list[tuple[int, int, int, int, int]]]:
    """Draw one image; return it (BGR uint8) and its visible boxes ``(cls, x0, y0, x1, y1)``."""
    w = int(rng.integers(spec.min_side, spec.max_side + 1))
    h = int(rng.integers(spec.min_side, spec.max_side + 1))
    image = _background(rng, h, w)
    owner = np.full((h, w), -1, dtype=np.int32)  # which labelled object owns each pixel
    full_area: list[int] = []
    classes: list[int] = []
    n_objects = int(rng.integers(1, spec.max_objects + 1))
    for obj in range(n_objects):
        if rng.random() < 0.3:
            _draw_distractor(rng, image)
        cls = int(rng.integers(len(SHAPE_CLASSES)))
        mask = _shape_mask(rng, cls, h, w)
        area = int(mask.sum())
        if area < 12:
            continue
        colour = _colour(rng)
        image[mask] = colour
        _add_shading(rng, image, mask)
        owner[mask] = obj
        while len(full_area) <= obj:
            full_area.append(0)
            classes.append(-1)
        full_area[obj], classes[obj] = area, cls
    boxes = []
    for obj, (area, cls) in enumerate(zip(full_area, classes)):
        if cls < 0:
            continue
        ys, xs = np.nonzero(owner == obj)
        if len(xs) < max(12, _MIN_VISIBLE * area):
            continue
        boxes.append((cls, int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
    # global colour jitter and sensor noise, applied after labelling (boxes do not move)
    gain = rng.uniform(0.75, 1.25, size=3)
    noisy = image.astype(np.float32) * gain + rng.normal(0, rng.uniform(2, 10), image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8), boxes


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A textured, cluttered background: gradient + low-frequency noise + stripes or blobs."""
    import cv2

    base = rng.uniform(40, 215, size=3)
    tilt = rng.uniform(-60, 60, size=3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (xx / w * np.cos(rng.uniform(0, np.pi)) + yy / h * np.sin(rng.uniform(0, np.pi)))[..., None]
    img = base + tilt * ramp
    coarse = rng.normal(0, 25, size=(max(2, h // 24), max(2, w // 24), 3)).astype(np.float32)
    img = img + cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        period = rng.uniform(6, 30)
        angle = rng.uniform(0, np.pi)
        stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) / period * 2 * np.pi)
        img = img + stripes[..., None] * rng.uniform(5, 25)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 6))):
        _draw_distractor(rng, img)
    return img


def _draw_distractor(rng: np.random.Generator, img: np.ndarray) -> None:
    """Unlabelled clutter: lines, blotches and irregular polygons."""
    import cv2

    h, w = img.shape[:2]
    kind = int(rng.integers(3))
    colour = _colour(rng).tolist()
    if kind == 0:
        p0 = (int(rng.integers(w)), int(rng.integers(h)))
        p1 = (int(rng.integers(w)), int(rng.integers(h)))
        cv2.line(img, p0, p1, colour, int(rng.integers(1, 4)), lineType=cv2.LINE_AA)
    elif kind == 1:
        centre = (int(rng.integers(w)), int(rng.integers(h)))
        axes = (int(rng.integers(3, max(4, w // 10))), int(rng.integers(2, max(3, h // 25))))
        cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
    else:
        cx, cy = rng.integers(w), rng.integers(h)
        n = int(rng.integers(5, 9))
        radius = rng.uniform(4, max(5, min(h, w) / 10), size=n)
        angles = np.sort(rng.uniform(0, 2 * np.pi, size=n))
        pts = np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], 1).astype(np.int32)
        cv2.fillPoly(img, [pts], colour, cv2.LINE_AA)


def _colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated random colour (BGR)."""
    import cv2

    hsv = np.array([[[rng.integers(0, 180), rng.integers(120, 256), rng.integers(90, 256)]]], np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.uint8)


def _shape_mask(rng: np.random.Generator, cls: int, h: int, w: int) -> np.ndarray:
    """Boolean mask of one shape of class ``cls``; sizes are log-uniform from tiny to large."""
    import cv2

    size = float(np.exp(rng.uniform(np.log(7), np.log(0.45 * min(h, w)))))
    cx = rng.uniform(size * 0.3, w - size * 0.3)
    cy = rng.uniform(size * 0.3, h - size * 0.3)
    r = size / 2
    angle = rng.uniform(0, 2 * np.pi)
    canvas = np.zeros((h, w), np.uint8)
    name = SHAPE_CLASSES[cls]
    if name == "circle":
        cv2.circle(canvas, (int(cx), int(cy)), max(2, int(r)), 1, -1)
    elif name == "ring":
        thickness = max(2, int(r * rng.uniform(0.25, 0.4)))
        cv2.circle(canvas, (int(cx), int(cy)), max(3, int(r - thickness / 2)), 1, thickness)
    elif name == "square":
        canvas = _poly(canvas, cx, cy, [r * 1.2] * 4, angle + np.arange(4) * np.pi / 2)
    elif name == "triangle":
        canvas = _poly(canvas, cx, cy, [r * 1.15] * 3, angle + np.arange(3) * 2 * np.pi / 3)
    elif name == "star":
        radii = [r * 1.15 if i % 2 == 0 else r * 0.45 for i in range(10)]
        canvas = _poly(canvas, cx, cy, radii, angle + np.arange(10) * np.pi / 5)
    else:  # cross
        arm = max(1.0, r * rng.uniform(0.28, 0.4))
        for rot in (angle, angle + np.pi / 2):
            c, s = np.cos(rot), np.sin(rot)
            corners = [(-r, -arm), (r, -arm), (r, arm), (-r, arm)]
            pts = np.array([[cx + x * c - y * s, cy + x * s + y * c] for x, y in corners], np.int32)
            cv2.fillPoly(canvas, [pts], 1)
    return canvas.astype(bool)


def _poly(canvas: np.ndarray, cx: float, cy: float, radii: list[float], angles: np.ndarray) -> np.ndarray:
    """Fill a polygon given by polar vertices around ``(cx, cy)``."""
    import cv2

    pts = np.array([[cx + rr * np.cos(a), cy + rr * np.sin(a)] for rr, a in zip(radii, angles)], np.int32)
    cv2.fillPoly(canvas, [pts], 1)
    return canvas


def _add_shading(rng: np.random.Generator, img: np.ndarray, mask: np.ndarray) -> None:
    """Give a shape a light gradient so it is not a flat colour."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return
    direction = rng.normal(size=2)
    direction /= np.linalg.norm(direction) + 1e-9
    proj = (xs - xs.mean()) * direction[0] + (ys - ys.mean()) * direction[1]
    span = max(1.0, float(np.abs(proj).max()))
    shade = 1.0 + rng.uniform(0.0, 0.35) * proj / span
    img[ys, xs] = np.clip(img[ys, xs].astype(np.float32) * shade[:, None], 0, 255).astype(np.uint8)
