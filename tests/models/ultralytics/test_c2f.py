from __future__ import annotations

from pathlib import Path

import torch

from paretodet.models import demo_teacher_path, load_detector
from paretodet.models.ultralytics._c2f import C2fSplit, split_c2f_blocks


def test_split_blocks_are_numerically_identical(tiny_model: Path) -> None:
    from ultralytics.nn.modules.block import C2f

    model = load_detector(tiny_model).model.eval()
    split, replaced = split_c2f_blocks(model)
    assert replaced == sum(type(m) is C2f for m in model.modules()) > 0
    assert not any(type(m) is C2f for m in split.modules())
    assert sum(isinstance(m, C2fSplit) for m in split.modules()) == replaced
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        a, b = model(x)[0], split.eval()(x)[0]
    assert torch.equal(a, b) or torch.allclose(a, b, atol=1e-5, rtol=0)
    assert sum(p.numel() for p in split.parameters()) == sum(p.numel() for p in model.parameters())


def test_batchnorm_settings_outside_the_state_dict_are_kept() -> None:
    model = load_detector(demo_teacher_path()).model.eval()
    split, _ = split_c2f_blocks(model)
    block = next(m for m in split.modules() if isinstance(m, C2fSplit))
    original = model.model[block.i]
    for half in (block.cv0, block.cv1):
        assert half.bn.eps == original.cv1.bn.eps and half.bn.momentum == original.cv1.bn.momentum
    x = torch.rand(1, 3, 160, 160)
    with torch.no_grad():
        assert torch.allclose(model(x)[0], split.eval()(x)[0], atol=1e-4, rtol=1e-5)


def test_split_model_saves_and_reloads_as_an_ultralytics_checkpoint(tiny_model: Path, tmp_path: Path) -> None:
    from ultralytics import YOLO

    from paretodet.compress import export_artifact
    from paretodet.models import Detector

    det = load_detector(tiny_model)
    split, _ = split_c2f_blocks(det.model)
    art = export_artifact(
        Detector(model=split, names=det.names, source="split", digest="split", family="ultralytics"),
        tmp_path / "split.pt",
        runtime="torch",
        imgsz=64,
        precision="fp32",
    )
    reloaded = YOLO(str(art.path)).model.eval()
    assert any(isinstance(m, C2fSplit) for m in reloaded.modules())
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(det.model.eval()(x)[0], reloaded(x)[0], atol=1e-5, rtol=0)


def test_yolo11_c3k2_blocks_split_identically() -> None:
    from ultralytics.nn.modules.block import C3k2

    torch.manual_seed(0)
    net = torch.nn.Sequential(C3k2(16, 32, n=1, c3k=True), C3k2(32, 32, n=2, c3k=False)).eval()
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.running_mean.data.normal_(0.0, 0.2)
    split, replaced = split_c2f_blocks(net)
    assert replaced == 2 and all(isinstance(m, C2fSplit) for m in split)
    x = torch.rand(2, 16, 24, 24)
    with torch.no_grad():
        assert torch.allclose(net(x), split.eval()(x), atol=1e-5, rtol=0)
