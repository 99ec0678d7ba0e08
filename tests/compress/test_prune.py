from __future__ import annotations

from pathlib import Path

import pytest
import torch

from paretodet.compress._prune import structured_prune
from paretodet.errors import ConfigError
from paretodet.models import demo_teacher_path, get_family, load_detector


@pytest.mark.parametrize("method", ["l1", "l2", "fpgm"])
def test_channels_are_physically_removed(method: str) -> None:
    model = load_detector(demo_teacher_path()).model  # the real YOLOv8n layout
    pruned, report = structured_prune(model, method=method, ratio=0.3, imgsz=64, family="ultralytics")
    assert report.groups_pruned > 0
    assert report.params_after < 0.85 * report.params_before
    assert sum(p.numel() for p in pruned.parameters()) == report.params_after
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert pruned(x)[0].shape == model.eval()(x)[0].shape  # same detections layout, fewer channels inside


def test_pruned_model_exports_and_reloads(tmp_path: Path) -> None:
    from ultralytics import YOLO

    from paretodet.compress import export_artifact
    from paretodet.models import Detector

    det = load_detector(demo_teacher_path())
    pruned, report = structured_prune(det.model, method="l2", ratio=0.3, imgsz=64, family="ultralytics")
    pruned_det = Detector(model=pruned, names=det.names, source="pruned", digest="pruned", family="ultralytics")
    pt = export_artifact(pruned_det, tmp_path / "p.pt", runtime="torch", imgsz=64, precision="fp32")
    onnx_art = export_artifact(pruned_det, tmp_path / "p.onnx", runtime="onnxruntime", imgsz=64, precision="fp32")
    assert sum(p.numel() for p in YOLO(str(pt.path)).model.parameters()) == report.params_after
    full = export_artifact(det, tmp_path / "f.onnx", runtime="onnxruntime", imgsz=64, precision="fp32")
    assert onnx_art.path.stat().st_size < full.path.stat().st_size
    assert onnx_art.gflops < full.gflops


def test_bad_pruning_settings(tiny_model: Path) -> None:
    model = load_detector(tiny_model).model
    with pytest.raises(ConfigError, match=r"in \[0, 0.9\]"):
        structured_prune(model, method="l1", ratio=0.95, family="ultralytics")
    with pytest.raises(ConfigError, match="unknown pruning method"):
        structured_prune(model, method="random", ratio=0.3, family="ultralytics")


def _out_channels(model: torch.nn.Module, prefix: str) -> int:
    return sum(
        m.out_channels for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d) and n.startswith(prefix)
    )


def test_backbone_and_neck_ratios_and_skip_apply_to_their_parts(tiny_model: Path) -> None:
    from paretodet.compress import PruneSpec, prune_model

    model = load_detector(tiny_model).model  # YOLOv8 layout: model.0-9 backbone, 10-21 neck, 22 head
    pruned, report = prune_model(
        model, PruneSpec("l1", 0.3, backbone_ratio=0.0, neck_ratio=0.5, skip=("model.15",)), family="ultralytics"
    )
    assert report.groups_pruned > 0
    for i in range(10):  # backbone untouched
        assert _out_channels(pruned, f"model.{i}.") == _out_channels(model, f"model.{i}.")
    assert _out_channels(pruned, "model.12.") < _out_channels(model, "model.12.")
    assert _out_channels(pruned, "model.15.") == _out_channels(model, "model.15.")  # skipped
    assert _out_channels(pruned, "model.22.") == _out_channels(model, "model.22.")  # head never pruned


def test_unknown_skip_layer_names_the_layer(tiny_model: Path) -> None:
    from paretodet.compress import PruneSpec, prune_model

    with pytest.raises(ConfigError, match=r"'model.2.cv9'.*did you mean 'model.2.cv"):
        prune_model(load_detector(tiny_model).model, PruneSpec("l2", 0.3, skip=("model.2.cv9",)), family="ultralytics")


def test_taylor_scores_channels_from_training_gradients(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    from paretodet.compress import PruneSpec, prune_model
    from paretodet.data import load_data_yaml, write_resolved_yaml

    model = load_detector(tiny_model).model
    with pytest.raises(ConfigError, match="needs training images"):
        prune_model(model, PruneSpec("taylor", 0.3), imgsz=64, family="ultralytics")
    data_yaml = write_resolved_yaml(load_data_yaml(tiny_data), tmp_path / "data.yaml")
    pruned, report = prune_model(model, PruneSpec("taylor", 0.3), imgsz=64, data=data_yaml, family="ultralytics")
    l1, l1_report = prune_model(model, PruneSpec("l1", 0.3), imgsz=64, family="ultralytics")
    assert report.groups_pruned > 0 and report.params_after == l1_report.params_after  # same budget...
    assert any(  # ... different channels kept
        not torch.equal(a, b)
        for a, b in zip(pruned.state_dict().values(), l1.state_dict().values())
        if a.shape == b.shape
    )
    with torch.no_grad():
        assert pruned.eval()(torch.rand(1, 3, 64, 64))[0].shape == model.eval()(torch.rand(1, 3, 64, 64))[0].shape


def test_level_pruning_zeroes_weights_in_place(tiny_model: Path, tmp_path: Path) -> None:
    from paretodet.compress import PruneSpec, export_artifact, prune_model
    from paretodet.models import Detector

    det = load_detector(tiny_model)
    pruned, report = prune_model(det.model, PruneSpec("level", 0.6), imgsz=64, family="ultralytics")
    assert report.params_after == report.params_before and report.groups_pruned == 0
    head_weights = sum(m.weight.numel() for m in det.model.model[-1].modules() if isinstance(m, torch.nn.Conv2d))
    all_weights = sum(m.weight.numel() for m in det.model.modules() if isinstance(m, torch.nn.Conv2d))
    expected = 0.6 * (all_weights - head_weights) / all_weights
    assert report.zero_fraction == pytest.approx(expected, abs=0.02)
    dense = export_artifact(det, tmp_path / "d.onnx", runtime="onnxruntime", imgsz=64, precision="fp32")
    sparse = export_artifact(
        Detector(pruned, det.names, "level", "level", family="ultralytics"),
        tmp_path / "s.onnx",
        runtime="onnxruntime",
        imgsz=64,
        precision="fp32",
    )
    # honest size: the file is as large as before; only its compressed form is smaller
    assert abs(sparse.size_bytes() - dense.size_bytes()) < 0.02 * dense.size_bytes()
    assert sparse.compressed_bytes() < 0.8 * dense.compressed_bytes()


def test_a_module_that_breaks_is_named() -> None:
    from paretodet.compress import PruneSpec
    from paretodet.compress._prune import _check_forward
    from paretodet.errors import ExportError

    class Fixed(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.view(1, 3, 8, -1).reshape(1, 5, -1)  # hard-coded channel count: breaks

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), torch.nn.Sequential(torch.nn.Identity(), Fixed()))
    with pytest.raises(ExportError, match=r"pruning broke module '1.1'.*prune.skip=1.1"):
        _check_forward(net, 8, PruneSpec("l1", 0.3), family=get_family("ultralytics"))


def test_pruned_model_fine_tunes_without_losing_its_pruning(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    import os

    from ultralytics import YOLO
    from ultralytics.nn.tasks import torch_safe_load

    from paretodet.compress import PruneSpec, export_artifact, prune_model
    from paretodet.data import load_data_yaml, write_resolved_yaml
    from paretodet.models import Detector, FinetuneRecipe, finetune

    det = load_detector(tiny_model)
    pruned, report = prune_model(det.model, PruneSpec("fpgm", 0.4), imgsz=64, family="ultralytics")
    epochs: list[int] = []
    tuned = finetune(
        pruned,
        write_resolved_yaml(load_data_yaml(tiny_data), tmp_path / "data.yaml"),
        imgsz=64,
        recipe=FinetuneRecipe(epochs=1, lr=1e-3),
        workdir=tmp_path / "ft",
        on_epoch=lambda done, total, _m: epochs.append(done),
    )
    assert epochs == [1]
    assert sum(p.numel() for p in tuned.parameters()) == report.params_after  # not rebuilt from the YAML
    assert any(not torch.equal(a, b) for a, b in zip(tuned.state_dict().values(), pruned.state_dict().values()))
    art = export_artifact(
        Detector(tuned, det.names, "t", "t", family="ultralytics"),
        tmp_path / "t.pt",
        runtime="torch",
        imgsz=64,
        precision="fp32",
    )
    assert sum(p.numel() for p in YOLO(str(art.path)).model.parameters()) == report.params_after
    # Ultralytics' weights-only loader accepts it once paretodet registered its block (load_detector does)
    os.environ.pop("ULTRALYTICS_SAFE_LOAD", None)
    reloaded = load_detector(art.path)
    ckpt, _ = torch_safe_load(str(art.path), safe_only=True)
    assert sum(p.numel() for p in ckpt["model"].parameters()) == reloaded.params() == report.params_after


def test_kept_channel_counts_are_rounded_for_fast_kernels() -> None:
    from paretodet.compress import PruneSpec, prune_model

    model = load_detector(demo_teacher_path()).model
    rounded, r8 = prune_model(model, PruneSpec("l2", 0.3), imgsz=64, family="ultralytics")
    exact, r1 = prune_model(model, PruneSpec("l2", 0.3, round_to=1), imgsz=64, family="ultralytics")
    convs = [m for n, m in rounded.named_modules() if isinstance(m, torch.nn.Conv2d) and not n.startswith("model.22.")]
    assert all(c.out_channels % 8 == 0 for c in convs)
    assert any(m.out_channels % 8 for m in exact.modules() if isinstance(m, torch.nn.Conv2d))
    assert r1.params_after < r8.params_after < 0.7 * r8.params_before
