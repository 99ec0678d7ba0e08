"""The torchvision family deployed: ONNX export agreement, INT8 blocks, and pruning with Torch-Pruning."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from paretodet.data import SHAPE_CLASSES
from paretodet.models._base import Detector
from paretodet.models.torchvision._family import TorchvisionFamily, build_torchvision
from paretodet.models.torchvision._onnx import block_of, module_path
from tests.models.torchvision.test_torchvision import IMGSZ, RCNN, SSD, calibrate_bn

FAMILY = TorchvisionFamily()


def _export(module: torch.nn.Module, path: Path) -> Path:
    """What the lead's exporter does (the legacy TorchScript exporter)."""
    dummy = torch.zeros(1, 3, IMGSZ, IMGSZ)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and legacy-exporter deprecation warnings
        torch.onnx.export(
            module,
            (dummy,),
            str(path),
            opset_version=17,
            input_names=["images"],
            output_names=list(FAMILY.output_names),
            dynamo=False,
            do_constant_folding=True,
        )
    return path


def _ort(path: Path, x: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": x})


def _image() -> np.ndarray:
    """A letterboxed-looking input: texture with a grey pad band."""
    rng = np.random.default_rng(4)
    img = rng.random((1, 3, IMGSZ, IMGSZ), dtype=np.float32)
    img[:, :, : IMGSZ // 8] = 114 / 255
    return img


def _spread_scores(model: torch.nn.Module) -> None:
    """An untrained R-CNN scores every box alike (vanishing features, std-0.01 classifiers): jitter weights
    by half their spread, classifiers by 0.3 and biases by 0.1, deterministically."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() > 1:
                scale = 0.3 if "cls" in name else 0.5 * float(param.std().clamp(min=0.02))
            else:
                scale = 0.1 if name.endswith("bias") else 0.0
            param.add_(scale * torch.randn(param.shape, generator=generator))


def _assert_same_detections(got: list[np.ndarray], ref: list[np.ndarray], *, share: float = 1.0) -> None:
    """Each runtime's detections have a partner in the other's: same class, score within 1e-4, box within
    1e-3 px (near-equal scores may come out in either order); ``share``: at least that fraction of them."""
    assert got[0].shape == ref[0].shape and got[2].dtype == np.int64
    for a, b in ((got, ref), (ref, got)):
        matched = 0
        for box, score, cls in zip(*a, strict=True):
            partner = (b[2] == cls) & (np.abs(b[1] - score) < 1e-4)
            matched += bool(partner.any() and np.abs(b[0][partner] - box).max(axis=1).min() < 1e-3)
        assert matched >= share * len(a[0]), f"{matched} of {len(a[0])} detections have a partner"


@pytest.fixture(scope="module")
def ssd() -> Detector:
    torch.manual_seed(0)
    det = build_torchvision(SSD, names=SHAPE_CLASSES)
    calibrate_bn(det.model)  # untrained SSDlite with fresh batch norms scores every box alike
    return det


@pytest.fixture(scope="module")
def ssd_onnx(ssd: Detector, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(FAMILY.inference_module(ssd, imgsz=IMGSZ), tmp_path_factory.mktemp("onnx") / "ssd.onnx")


@pytest.mark.parametrize("builder", [SSD, RCNN])
def test_onnx_runtime_matches_torch(builder: str, ssd: Detector, ssd_onnx: Path, tmp_path: Path) -> None:
    if builder == SSD:
        det, path = ssd, ssd_onnx
    else:
        torch.manual_seed(0)
        det = build_torchvision(builder, names=SHAPE_CLASSES)
        _spread_scores(det.model)
        path = _export(FAMILY.inference_module(det, imgsz=IMGSZ), tmp_path / "rcnn.onnx")
    x = _image()
    with torch.no_grad():
        ref = [t.numpy() for t in FAMILY.inference_module(det, imgsz=IMGSZ)(torch.from_numpy(x))]
    got = _ort(path, x)
    assert len(ref[1]) > 100 and np.unique(ref[1]).size > 0.9 * len(ref[1])  # a real spread of scores
    # R-CNN: the RPN keeps its top-k proposals by objectness; in this jittered untrained net near-equal
    # objectness can swap a proposal between the runtimes' summation orders (seen once in CI: 1 box of 300)
    _assert_same_detections(got, ref, share=1.0 if builder == SSD else 0.98)
    dets = FAMILY.decode(got, conf=0.001, iou=0.7, max_det=100)
    assert dets.shape == (100, 6) and set(np.unique(dets[:, 5])) <= set(range(len(SHAPE_CLASSES)))


def test_fp16_conversion_of_the_export_runs(ssd_onnx: Path, tmp_path: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(ssd_onnx))
    assert not [n for n in model.graph.node if n.op_type in {"If", "Loop"}]  # no branches the converter breaks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        half = convert_float_to_float16(model, keep_io_types=True)
    path = tmp_path / "ssd_fp16.onnx"
    onnx.save(half, str(path))
    x = _image()
    ref, got = _ort(ssd_onnx, x), _ort(path, x)
    assert len(got[1]) > 100 and abs(float(got[1][0]) - float(ref[1][0])) < 1e-2


def test_no_detections_export_and_run(tmp_path: Path) -> None:
    torch.manual_seed(0)
    det = build_torchvision(SSD, names=SHAPE_CLASSES)
    with torch.no_grad():  # background wins everywhere: nothing passes the 0.001 score threshold
        for name, param in det.model.named_parameters():
            if name.startswith("head.classification_head") and name.endswith(".1.bias"):
                param[0 :: len(SHAPE_CLASSES) + 1] = 40.0
    module = FAMILY.inference_module(det, imgsz=IMGSZ)
    with torch.no_grad():
        assert len(module(torch.from_numpy(_image()))[0]) == 0
    got = _ort(_export(module, tmp_path / "empty.onnx"), _image())
    assert [o.shape for o in got] == [(0, 4), (0,), (0,)]
    assert FAMILY.decode(got, conf=0.001, iou=0.7, max_det=300).shape == (0, 6)


def test_branch_free_batched_nms_matches_torchvision() -> None:
    from torchvision.ops import batched_nms

    from paretodet.models.torchvision._onnx import _offset_batched_nms

    generator = torch.Generator().manual_seed(0)
    xy = torch.rand(200, 2, generator=generator) * 100
    boxes = torch.cat([xy, xy + 5 + torch.rand(200, 2, generator=generator) * 30], 1)
    scores = torch.rand(200, generator=generator)
    idxs = torch.randint(0, 4, (200,), generator=generator)
    assert torch.equal(_offset_batched_nms(boxes, scores, idxs, 0.5), batched_nms(boxes, scores, idxs, 0.5))
    assert _offset_batched_nms(boxes[:0], scores[:0], idxs[:0], 0.5).numel() == 0


def test_blocks_name_modules_and_split_the_graph(ssd: Detector, ssd_onnx: Path) -> None:
    import onnx

    model = onnx.load(str(ssd_onnx))
    blocks = FAMILY.quantizable_blocks(model)
    fp32 = FAMILY.fp32_nodes(model)
    modules = dict(ssd.model.named_modules())
    nodes = {n.name: n for n in model.graph.node}
    assert next(iter(blocks)) == "backbone.features.0.0"
    assert {"backbone.features.1.0", "backbone.extra.0", "head.classification_head", "head.regression_head"} <= set(
        blocks
    )
    quantized = [name for names in blocks.values() for name in names]
    assert len(quantized) == sum(isinstance(m, torch.nn.Conv2d) for m in modules.values())
    assert all(nodes[n].op_type == "Conv" and module_path(n) in modules for n in quantized)
    assert set(quantized).isdisjoint(fp32) and len(quantized) + len(fp32) == len(nodes)
    assert {"NonZero", "TopK", "Softmax"} <= {nodes[n].op_type for n in fp32}
    assert block_of("backbone.fpn.inner_blocks.2.0") == "backbone.fpn.inner_blocks.2"
    assert block_of("roi_heads.box_head.fc6") == "roi_heads.box_head"


def test_int8_model_runs_and_is_small(ssd_onnx: Path, tmp_path: Path) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            rng = np.random.default_rng(0)
            self.items = iter([{"images": rng.random((1, 3, IMGSZ, IMGSZ), dtype=np.float32)} for _ in range(3)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    model = onnx.load(str(ssd_onnx))
    dest = tmp_path / "ssd_int8.onnx"
    quantize_static(
        str(ssd_onnx),
        str(dest),
        Reader(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=FAMILY.fp32_nodes(model),
    )
    ratio = dest.stat().st_size / ssd_onnx.stat().st_size
    assert ratio <= 0.35, ratio
    boxes, scores, classes = _ort(dest, _image())
    assert boxes.shape == (len(scores), 4) and len(scores) > 0 and classes.dtype == np.int64


@pytest.mark.parametrize("builder", [SSD, RCNN])
def test_torch_pruning_removes_channels(builder: str, tmp_path: Path) -> None:
    import torch_pruning as tp

    torch.manual_seed(0)
    det = build_torchvision(builder, names=SHAPE_CLASSES)
    net = FAMILY.prunable_copy(det.model, structured=True)
    parts = FAMILY.prune_parts(net)
    assert set(parts.values()) == {"backbone", "neck"}
    assert not any(name.startswith(("head.", "rpn.", "roi_heads.")) for name in parts)
    module, example = FAMILY.prune_trace(net, imgsz=IMGSZ)
    graph = tp.DependencyGraph().build_dependency(module, example_inputs=example)
    done: set[int] = set()
    for name in parts:  # 30% of each listed conv's output channels, smallest L1 first
        conv: Any = net.get_submodule(name)
        if id(conv) in done:
            continue
        norms = conv.weight.detach().flatten(1).abs().sum(1)
        group = graph.get_pruning_group(
            conv, tp.prune_conv_out_channels, idxs=norms.argsort()[: int(0.3 * len(norms))].tolist()
        )
        if graph.check_pruning_group(group):
            done.update(id(dep.target.module) for dep, _ in group if dep.handler == tp.prune_conv_out_channels)
            group.prune()
    pruned = det.with_model(net.eval(), source="pruned", digest="0")
    assert pruned.params() < 0.75 * det.params()
    FAMILY.check_forward(net, imgsz=IMGSZ)
    path = tmp_path / "pruned.pt"
    FAMILY.save(pruned, path)
    loaded = FAMILY.load(str(path))
    assert loaded.params() == pruned.params()
    x = torch.from_numpy(_image())
    with torch.no_grad():
        ref = FAMILY.inference_module(pruned, imgsz=IMGSZ)(x)
        again = FAMILY.inference_module(loaded, imgsz=IMGSZ)(x)
    assert len(ref[0]) > 0 and all(torch.equal(a, b) for a, b in zip(ref, again, strict=True))
    onnx_path = _export(FAMILY.inference_module(loaded, imgsz=IMGSZ), tmp_path / "pruned.onnx")
    got = _ort(onnx_path, x.numpy())
    assert got[0].shape[1] == 4 and len(got[1]) > 0


def _rcnn_without_proposals_on_blank_images() -> torch.nn.Module:
    """A small Faster R-CNN whose RPN keeps no proposal on a black image and many on a textured one (a trained
    RPN under ``rpn_score_thresh`` on the blank image the exporter traces with)."""
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.ops import MultiScaleRoIAlign

    backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 8, stride=8, bias=False), torch.nn.ReLU())
    backbone.out_channels = 8  # type: ignore[assignment]
    torch.manual_seed(0)
    model = FasterRCNN(
        backbone,
        num_classes=len(SHAPE_CLASSES) + 1,
        image_mean=[0.0] * 3,
        image_std=[1.0] * 3,
        min_size=IMGSZ,
        max_size=IMGSZ,
        rpn_score_thresh=0.05,
        rpn_anchor_generator=AnchorGenerator(((24,),), ((1.0,),)),
        box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2),
    )
    with torch.no_grad():  # black -> zero features -> objectness sigmoid(-5) < 0.05; texture -> well above
        backbone[0].weight.fill_(1 / 192)
        model.rpn.head.conv[0][0].weight.fill_(0.1)
        model.rpn.head.conv[0][0].bias.zero_()
        model.rpn.head.cls_logits.weight.fill_(1.0)
        model.rpn.head.cls_logits.bias.fill_(-5.0)
    return model.eval()


def test_rcnn_traced_without_proposals_runs_on_images_with_them(tmp_path: Path) -> None:
    from paretodet.models.torchvision._onnx import TorchvisionInference

    labels = [-1, *range(len(SHAPE_CLASSES))]
    module = TorchvisionInference(_rcnn_without_proposals_on_blank_images(), labels, imgsz=IMGSZ)
    x = _image()
    rpn = module.model.rpn
    with torch.no_grad():  # the premise: no proposal on the exporter's blank image, many on the textured one
        images, _ = module.model.transform([torch.zeros(3, IMGSZ, IMGSZ), torch.from_numpy(x[0])])
        proposals, _ = rpn(images, {"0": module.model.backbone(images.tensors)})
        ref = module(torch.from_numpy(x))
    assert len(proposals[0]) == 0 and len(proposals[1]) > 10 and len(ref[0]) > 0
    path = _export(module, tmp_path / "rcnn.onnx")
    got = _ort(path, x)

    def rows(boxes: Any, scores: Any, classes: Any) -> np.ndarray:  # one row a detection, in a fixed order
        table = np.column_stack([np.asarray(boxes), np.asarray(scores), np.asarray(classes)]).round(2)
        return table[np.lexsort(table.T[::-1])]

    np.testing.assert_allclose(rows(*got), rows(*(r.numpy() for r in ref)), atol=0.02)
    assert [o.shape[0] for o in _ort(path, np.zeros_like(x))] == [0, 0, 0]  # and none on a blank image
