"""Which calibration images set INT8 activation ranges: all of them, or all but the most extreme few.

A detector family may declare ``calibration_trim`` (see :class:`paretodet.models.DetectorFamily`): that share of
the calibration images, the ones whose activations are largest relative to the other images, is left out of
calibration. On the torchvision demo SSDlite about 3% of images (bright pastel backgrounds) drive the activations
of its last MobileNetV3 stages 100-2,000x above the median image; one of them among 64 calibration images set
every MinMax range there, and the typical image's activations fell below one quantization step (INT8 kept 6%
of the FP32 mAP50-95; BENCHMARKS.md, issue 35). The histogram methods suffer the same way, and ORT's entropy
search, quadratic in a histogram that keeps the first image's bin width, ran for hours.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paretodet.data import letterbox, read_image

if TYPE_CHECKING:
    from paretodet.models import DetectorFamily

__all__ = ["activation_outlier_scores", "typical_images"]

# the nodes whose outputs show an image's activation magnitudes: the products that INT8 quantizes
_PRODUCTS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul"})


def activation_outlier_scores(
    onnx_model: Any, images: Sequence[Path], *, imgsz: int, nodes: Collection[str]
) -> np.ndarray:
    """How extreme each image's activations are: the mean over the outputs of ``nodes`` (their convolutions and
    matrix products) of log(the image's largest magnitude there / the median image's). ~0 for a typical image;
    an image whose activations run 100x above the others' scores several units.

    Example:
        >>> activation_outlier_scores(model, images, imgsz=192, nodes=names)  # doctest: +SKIP
        array([ 0.05, -0.1 ,  2.3 , ...])
    """
    import onnx
    import onnxruntime as ort

    model = onnx.ModelProto()
    model.CopyFrom(onnx_model)
    outputs = [n.output[0] for n in model.graph.node if n.name in nodes and n.op_type in _PRODUCTS]
    if not outputs:
        return np.zeros(len(images))
    declared = {o.name for o in model.graph.output}
    model.graph.output.extend(
        onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
        for name in outputs
        if name not in declared
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = model.graph.input[0].name
    peaks = np.array(
        [
            [float(np.abs(a).max()) if a.size else 0.0 for a in session.run(outputs, {feed: _image(p, imgsz)})]
            for p in images
        ],
        dtype=np.float64,
    ).reshape(len(images), len(outputs))
    median = np.median(peaks, axis=0)
    live = median > 0  # tensors that are zero on most images say nothing about scale
    if not live.any():
        return np.zeros(len(images))
    return np.log(np.maximum(peaks[:, live] / median[live], 1e-12)).mean(axis=1)


def typical_images(onnx_path: Path, images: Sequence[Path], *, imgsz: int, family: DetectorFamily) -> list[Path]:
    """``images`` without the ``int(family.calibration_trim * len(images))`` whose activations are most extreme
    (see :func:`activation_outlier_scores`, over the family's quantizable blocks), in their order; all of them
    when that is 0 (the model is not even read).

    Example:
        >>> typical_images(Path("m.onnx"), images, imgsz=192, family=get_family("torchvision"))  # doctest: +SKIP
    """
    drop = int(family.calibration_trim * len(images))
    if drop <= 0:
        return list(images)
    import onnx

    model = onnx.load(str(onnx_path))
    nodes = {name for names in family.quantizable_blocks(model).values() for name in names}
    scores = activation_outlier_scores(model, images, imgsz=imgsz, nodes=nodes)
    keep = sorted(np.argsort(scores, kind="stable")[: len(images) - drop])
    return [images[i] for i in keep]


def _image(path: Path, imgsz: int) -> np.ndarray:
    return letterbox(read_image(path), imgsz)[0]
