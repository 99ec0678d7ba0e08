from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnx
import pytest

from paretodet.compress import Int8Settings, export_artifact, pick_calibration_images, quantize_int8
from paretodet.data import list_images, load_data_yaml
from paretodet.errors import ConfigError, DataError
from paretodet.models import head_decode_nodes, load_detector, quantizable_blocks
from paretodet.runtimes import open_runner


@pytest.fixture(scope="module")
def fp32(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("q") / "fp32.onnx"
    return export_artifact(load_detector(tiny_model), out, runtime="onnxruntime", imgsz=64, precision="fp32")


@pytest.fixture(scope="module")
def calib(tiny_data: Path) -> list[Path]:
    info = load_data_yaml(tiny_data)
    assert info.train is not None
    return pick_calibration_images(list_images(info.train), 4)


def _int8_weights(model: onnx.ModelProto) -> dict[str, bool]:
    """conv node name -> whether its weight comes out of a DequantizeLinear (i.e. is stored as INT8)."""
    dq_outputs = {o for n in model.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    return {n.name: n.input[1] in dq_outputs for n in model.graph.node if n.op_type == "Conv"}


def _quantized_outputs(model: onnx.ModelProto) -> set[str]:
    """names of nodes whose output is re-quantized (feeds a QuantizeLinear)."""
    q_inputs = {n.input[0] for n in model.graph.node if n.op_type == "QuantizeLinear"}
    return {n.name for n in model.graph.node if set(n.output) & q_inputs}


def test_blocks_and_decode_split(fp32) -> None:
    model = onnx.load(str(fp32.path))
    decode = head_decode_nodes(model)
    blocks = quantizable_blocks(model)
    assert decode and all(n.startswith("/model.22/") and "/cv2." not in n and "/cv3." not in n for n in decode)
    assert list(blocks)[:2] == ["model.0", "model.1"]
    assert {"model.22.cv2.0", "model.22.cv3.2"} <= set(blocks)
    assert not set(decode) & {n for nodes in blocks.values() for n in nodes}


@pytest.mark.parametrize("method", ["minmax", "entropy", "percentile"])
def test_each_calibration_method_gives_a_smaller_runnable_int8_model(fp32, calib, tmp_path: Path, method: str) -> None:
    out = tmp_path / f"{method}.onnx"
    quantize_int8(
        fp32.path,
        out,
        calibration_images=calib,
        imgsz=64,
        settings=Int8Settings(calibration=method),
        family="ultralytics",
    )
    assert out.stat().st_size < 0.4 * fp32.path.stat().st_size
    model = onnx.load(str(out))
    assert sum(n.op_type == "QuantizeLinear" for n in model.graph.node) > 10
    assert not _quantized_outputs(model) & set(head_decode_nodes(model))  # the decode computes in FP32
    assert not _int8_weights(model)["/model.22/dfl/conv/Conv"]
    x = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
    art = dataclasses.replace(fp32, path=out, precision="int8")
    assert open_runner(art, threads=1)(x)[0].shape == open_runner(fp32, threads=1)(x)[0].shape


def test_per_channel_scales(fp32, calib, tmp_path: Path) -> None:
    def weight_scale_sizes(path: Path) -> set[int]:
        model = onnx.load(str(path))
        inits = {i.name: i for i in model.graph.initializer}
        sizes = set()
        for node in model.graph.node:
            if node.op_type == "DequantizeLinear" and node.input[0] in inits and len(inits[node.input[0]].dims) == 4:
                sizes.add(int(np.prod(inits[node.input[1]].dims)))
        return sizes

    quantize_int8(
        fp32.path,
        tmp_path / "t.onnx",
        calibration_images=calib,
        imgsz=64,
        settings=Int8Settings(),
        family="ultralytics",
    )
    quantize_int8(
        fp32.path,
        tmp_path / "c.onnx",
        calibration_images=calib,
        imgsz=64,
        settings=Int8Settings(per_channel=True),
        family="ultralytics",
    )
    assert weight_scale_sizes(tmp_path / "t.onnx") == {1}
    assert max(weight_scale_sizes(tmp_path / "c.onnx")) > 1


def test_mixed_precision_keeps_blocks_fp32_and_reuses_ranges(fp32, calib, tmp_path: Path) -> None:
    ranges = tmp_path / "ranges.json"
    quantize_int8(
        fp32.path,
        tmp_path / "all.onnx",
        calibration_images=calib,
        imgsz=64,
        settings=Int8Settings(),
        calibration_cache=ranges,
        family="ultralytics",
    )
    assert ranges.is_file()
    settings = Int8Settings(fp32_blocks=("model.0", "model.22.cv3.0"))
    quantize_int8(
        fp32.path,
        tmp_path / "mixed.onnx",
        calibration_images=[],
        imgsz=64,
        settings=settings,
        calibration_cache=ranges,
        family="ultralytics",
    )  # ranges come from the cache: no images needed
    weights = _int8_weights(onnx.load(str(tmp_path / "mixed.onnx")))
    assert not weights["/model.0/conv/Conv"] and not weights["/model.22/cv3.0/cv3.0.0/conv/Conv"]
    assert weights["/model.1/conv/Conv"]
    assert (tmp_path / "mixed.onnx").stat().st_size > (tmp_path / "all.onnx").stat().st_size


def test_only_blocks_quantizes_one_block(fp32, calib, tmp_path: Path) -> None:
    quantize_int8(
        fp32.path,
        tmp_path / "one.onnx",
        calibration_images=calib,
        imgsz=64,
        settings=Int8Settings(),
        only_blocks=["model.1"],
        family="ultralytics",
    )
    weights = _int8_weights(onnx.load(str(tmp_path / "one.onnx")))
    assert weights["/model.1/conv/Conv"] and sum(weights.values()) == 1


def test_bad_inputs(fp32, calib, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no calibration images"):
        pick_calibration_images([], 8)
    with pytest.raises(ConfigError, match="unknown block"):
        quantize_int8(
            fp32.path,
            tmp_path / "x.onnx",
            calibration_images=calib,
            imgsz=64,
            settings=Int8Settings(fp32_blocks=("model.99",)),
            family="ultralytics",
        )
    with pytest.raises(ConfigError, match="unknown calibration"):
        Int8Settings(calibration="kl")


def test_calibration_picks_are_spread_and_deterministic() -> None:
    images = [Path(f"{i}.png") for i in range(10)]
    assert pick_calibration_images(images, 3) == [Path("0.png"), Path("4.png"), Path("9.png")]
    assert pick_calibration_images(images, 50) == images


def test_calibration_memory_is_bounded_by_chunks() -> None:
    from paretodet.compress._quantize import _calibration_chunking

    assert _calibration_chunking(640, 128) == {"CalibStridedMinMax": 2}
    assert _calibration_chunking(640, 127) == {"CalibStridedMinMax": 1}  # chunks must divide the count
    assert _calibration_chunking(160, 96) == {"CalibStridedMinMax": 32}
    # histograms are stacked per chunk: one image each, whatever shapes its tensors have (issue 35)
    assert _calibration_chunking(160, 96, method="entropy") == {"CalibStridedMinMax": 1}


def test_chunked_minmax_ranges_equal_one_pass(fp32, calib, tmp_path: Path, monkeypatch) -> None:
    import json

    import paretodet.compress._quantize as quantize_module

    ranges = {}
    for chunk in (1, 4):

        def chunking(*_: object, c: int = chunk, **__: object) -> dict[str, int]:
            return {"CalibStridedMinMax": c}

        monkeypatch.setattr(quantize_module, "_calibration_chunking", chunking)
        cache = tmp_path / f"ranges{chunk}.json"
        quantize_int8(
            fp32.path,
            tmp_path / f"m{chunk}.onnx",
            calibration_images=calib,
            imgsz=64,
            settings=Int8Settings(),
            calibration_cache=cache,
            family="ultralytics",
        )
        ranges[chunk] = json.loads(cache.read_text())
    assert ranges[1] == ranges[4]


def test_histogram_calibrators_are_fed_in_chunks(fp32, calib, tmp_path: Path, monkeypatch) -> None:
    """ORT's entropy calibrator ignores CalibMaxIntermediateOutputs: it must really get a few images per call."""
    from onnxruntime.quantization.calibrate import HistogramCalibrater

    import paretodet.compress._quantize as quantize_module

    fed: list[int] = []
    original = HistogramCalibrater.collect_data

    def spy(self, reader):  # type: ignore[no-untyped-def]
        before = reader._iter
        images = list(before)
        fed.append(len(images))
        reader._iter = iter(images)
        return original(self, reader)

    monkeypatch.setattr(HistogramCalibrater, "collect_data", spy)
    monkeypatch.setattr(quantize_module, "_calibration_chunking", lambda *_, **__: {"CalibStridedMinMax": 2})
    out = tmp_path / "entropy.onnx"
    quantize_int8(
        fp32.path,
        out,
        calibration_images=calib,
        imgsz=64,
        settings=Int8Settings(calibration="entropy"),
        family="ultralytics",
    )
    assert fed == [2, 2] and out.is_file()


def test_subnormal_activations_get_a_one_line_fix(tiny_model: Path, calib, tmp_path: Path) -> None:
    """An activation within a subnormal float of zero (a dead or heavily pruned layer) breaks numpy's histogram
    in ONNX Runtime's percentile calibrator: the error names the cause and the fix; min-max still quantizes."""
    import torch

    from paretodet.errors import ExportError

    det = load_detector(tiny_model)
    first = det.model.model[0]
    with torch.no_grad():  # the first layer's output: about 1e-41 (BatchNorm folded in as identity)
        first.conv.weight.fill_(1e-41)
        first.bn.weight.fill_(1.0)
        first.bn.bias.zero_()
        first.bn.running_mean.zero_()
        first.bn.running_var.fill_(1.0)
    fp32 = export_artifact(det, tmp_path / "fp32.onnx", runtime="onnxruntime", imgsz=64, precision="fp32")
    common = {"calibration_images": calib, "imgsz": 64, "family": "ultralytics"}
    with pytest.raises(ExportError, match=r"cannot histogram .* use quant.calibration=minmax") as caught:
        quantize_int8(fp32.path, tmp_path / "p.onnx", settings=Int8Settings(calibration="percentile"), **common)
    assert "\n" not in str(caught.value)
    quantize_int8(fp32.path, tmp_path / "m.onnx", settings=Int8Settings(calibration="minmax"), **common)
    assert (tmp_path / "m.onnx").stat().st_size < fp32.path.stat().st_size
