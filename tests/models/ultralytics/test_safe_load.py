"""Loading a model never runs code from it (issue 17): malicious pickles are refused, legitimate files load."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch

from paretodet.data import SHAPE_CLASSES
from paretodet.errors import ModelError, UntrustedModelError
from paretodet.models import demo_teacher_path, load_detector
from tests.conftest import SHARED

V5 = SHARED / "models" / "yolov5n-coco.pt"
HINT = "if you trust this file, pass --trust-model (workers: PARETODET_TRUST_MODEL=1)"


class _Touch:
    """Unpickles as ``Path(marker).touch()``: a harmless, visible side effect."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (pathlib.Path.touch, (self.marker,))


class _System:
    """Unpickles as ``os.system("touch marker")`` (only ever loaded where it must be refused)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (os.system, (f"touch '{self.marker}'",))


class _GetattrOfAllowed:
    """``getattr(PosixPath, "touch")``: both globals are on Ultralytics' allow-list, the attribute is not."""

    def __call__(self, path: Path) -> None:  # pickle wants a callable; the unpickled one is PosixPath.touch
        path.touch()

    def __reduce__(self) -> Any:
        return (getattr, (pathlib.PosixPath, "touch"))


class _TouchViaGetattr:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (_GetattrOfAllowed(), (self.marker,))


def _ultralytics_style(dest: Path, payload: object) -> Path:
    """A dict shaped like an Ultralytics checkpoint whose ``model`` entry is the payload."""
    torch.save({"model": payload, "names": {0: "a"}, "train_args": {}, "date": "2024"}, dest)
    return dest


def _yolov5_style(dest: Path, payload: object) -> Path:
    """A YOLOv5-shaped pickle (it references ``models.yolo.Model``) carrying the payload."""
    yolo = types.ModuleType("models.yolo")

    class Model(torch.nn.Module):
        pass

    Model.__module__, Model.__qualname__ = "models.yolo", "Model"
    yolo.Model = Model  # type: ignore[attr-defined]
    package = types.ModuleType("models")
    package.yolo = yolo  # type: ignore[attr-defined]
    sys.modules.update({"models": package, "models.yolo": yolo})
    try:
        torch.save({"model": Model(), "extra": payload}, dest)
    finally:
        del sys.modules["models"], sys.modules["models.yolo"]
    return dest


@pytest.mark.parametrize(
    ("make", "payload", "refused"),
    [
        (_ultralytics_style, _Touch, "pathlib.Path"),
        (_ultralytics_style, _System, "posix.system"),
        (_ultralytics_style, _TouchViaGetattr, "getattr(type, 'touch')"),
        (_yolov5_style, _Touch, "pathlib.Path"),
        (_yolov5_style, _System, "posix.system"),
    ],
    ids=["ultralytics-touch", "ultralytics-system", "ultralytics-getattr", "yolov5-touch", "yolov5-system"],
)
def test_malicious_checkpoints_are_refused_without_side_effect(
    tmp_path: Path, make: Any, payload: Any, refused: str
) -> None:
    marker = tmp_path / "MARKER"
    evil = make(tmp_path / "evil.pt", payload(marker))
    if os.name != "posix" and refused == "posix.system":
        pytest.skip("os.system pickles as nt.system here")
    with pytest.raises(UntrustedModelError) as info:
        load_detector(evil)
    message = str(info.value)
    assert f"refused to unpickle '{refused}' from {evil}" in message
    assert message.endswith(HINT) and "\n" not in message
    assert info.value.refused == refused
    assert isinstance(info.value, ModelError)
    assert not marker.exists()


def test_trust_model_is_the_only_way_to_run_a_checkpoint(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    evil = _ultralytics_style(tmp_path / "evil.pt", _Touch(marker))
    with pytest.raises(UntrustedModelError):
        load_detector(evil)
    assert not marker.exists()
    with pytest.raises(ModelError):  # the file runs its code, then holds no model
        load_detector(evil, trust_model=True)
    assert marker.exists()


def test_trusted_yolov5_style_file_runs_its_code(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    evil = _yolov5_style(tmp_path / "evil.pt", _Touch(marker))
    with pytest.raises(ModelError, match="malformed YOLOv5 model"):  # the stand-in Model is empty
        load_detector(evil, trust_model=True)
    assert marker.exists()


def test_cli_refuses_in_one_line_without_side_effect(tmp_path: Path, tiny_data: Path) -> None:
    marker = tmp_path / "MARKER"
    evil = _ultralytics_style(tmp_path / "evil.pt", _System(marker))
    proc = subprocess.run(
        [sys.executable, "-m", "paretodet.cli", "evaluate", str(evil), "--data", str(tiny_data)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "refused to unpickle 'posix.system'" in errors[0] and "--trust-model" in errors[0]
    assert "Traceback" not in proc.stderr
    assert not marker.exists()


def test_tiny_checkpoint_loads_safely_like_a_trusted_load(tiny_model: Path) -> None:
    safe, trusted = load_detector(tiny_model), load_detector(tiny_model, trust_model=True)
    assert safe.names == trusted.names == SHAPE_CLASSES and safe.digest == trusted.digest
    assert type(safe.model) is type(trusted.model) and not safe.model.training
    safe_state, trusted_state = safe.model.state_dict(), trusted.model.state_dict()
    assert safe_state.keys() == trusted_state.keys()
    assert all(torch.equal(safe_state[k], trusted_state[k]) for k in safe_state)
    assert getattr(safe.model, "task", None) == "detect"
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(safe.model(x)[0], trusted.model(x)[0])


def test_demo_teacher_loads_safely() -> None:
    det = load_detector(demo_teacher_path())
    assert det.nc == len(det.names) > 0 and det.params() > 0


def test_pruned_stage_checkpoint_reloads_safely(tiny_model: Path, tmp_path: Path) -> None:
    from paretodet.compress import PruneSpec, export_artifact, prune_model
    from paretodet.models import C2fSplit, Detector

    det = load_detector(tiny_model)
    pruned, _ = prune_model(det.model, PruneSpec("l1", 0.3), imgsz=64, family="ultralytics")
    assert any(isinstance(m, C2fSplit) for m in pruned.modules())
    path = tmp_path / "prune" / "k" / "model.pt"  # written as search's _save_stage writes it
    export_artifact(
        Detector(pruned, det.names, "tiny (pruned)", "k", family="ultralytics"),
        path,
        runtime="torch",
        imgsz=64,
        precision="fp32",
    )
    with zipfile.ZipFile(path) as archive:  # the pickle names paretodet's own block
        pickled = next(archive.read(n) for n in archive.namelist() if n.endswith("data.pkl"))
    assert b"paretodet.models.ultralytics._c2f" in pickled and b"C2fSplit" in pickled
    reloaded = load_detector(path)
    assert reloaded.params() == sum(p.numel() for p in pruned.parameters()) < det.params()
    assert any(isinstance(m, C2fSplit) for m in reloaded.model.modules())


def _renamed(src: Path, dest: Path, new_module: bytes, old_module: bytes) -> Path:
    """``src`` with its pickle naming ``old_module`` where it names ``new_module`` (a file written before a move)."""
    with zipfile.ZipFile(src) as archive, zipfile.ZipFile(dest, "w") as out:
        for info in archive.infolist():
            data = archive.read(info.filename)
            if info.filename.endswith("data.pkl"):  # protocol-2 GLOBAL opcodes: newline-terminated names
                assert new_module + b"\n" in data
                data = data.replace(new_module + b"\n", old_module + b"\n")
            out.writestr(info, data)
    return dest


@pytest.mark.parametrize("old_module", ["paretodet.compress._c2f", "paretodet.models._ultralytics_c2f"])
def test_pruned_checkpoints_written_before_a_move_still_load(tiny_model: Path, tmp_path: Path, old_module: str) -> None:
    """Stage caches and exports written when C2fSplit lived elsewhere name its old module."""
    from paretodet.compress import PruneSpec, export_artifact, prune_model
    from paretodet.models import C2fSplit, Detector

    det = load_detector(tiny_model)
    pruned, _ = prune_model(det.model, PruneSpec("l1", 0.3), imgsz=64, family="ultralytics")
    new = tmp_path / "new.pt"
    export_artifact(
        Detector(pruned, det.names, "tiny (pruned)", "k", family="ultralytics"),
        new,
        runtime="torch",
        imgsz=64,
        precision="fp32",
    )
    old = _renamed(new, tmp_path / "old.pt", b"paretodet.models.ultralytics._c2f", old_module.encode())
    for trust in (False, True):
        reloaded = load_detector(old, trust_model=trust)
        assert any(isinstance(m, C2fSplit) for m in reloaded.model.modules())
        assert reloaded.params() == sum(p.numel() for p in pruned.parameters())


def test_yolov5_checkpoints_written_before_the_families_moved_still_load(tmp_path: Path) -> None:
    """paretodet's YOLOv5 stand-in classes lived in ``paretodet.models._yolov5`` before the family subpackages."""
    from paretodet.models import YoloV5Model, get_family
    from paretodet.testing import tiny_yolov5

    det = tiny_yolov5(names=("a", "b"))
    new = tmp_path / "new.pt"
    get_family("yolov5").save(det, new)
    old = _renamed(new, tmp_path / "old.pt", b"paretodet.models.yolov5._checkpoint", b"paretodet.models._yolov5")
    for trust in (False, True):
        reloaded = load_detector(old, trust_model=trust)
        assert isinstance(reloaded.model, YoloV5Model) and reloaded.family == "yolov5"
        assert reloaded.params() == det.params()


@pytest.mark.skipif(not V5.is_file(), reason=f"real-data test: {V5} is not on this machine")
def test_shared_yolov5n_loads_safely_and_trusted() -> None:
    safe, trusted = load_detector(V5), load_detector(V5, trust_model=True)
    assert safe.nc == trusted.nc == 80 and safe.params() == trusted.params()


def test_model_yaml_is_unaffected(tmp_path: Path) -> None:
    from paretodet.testing import tiny_model_yaml

    yaml_path = tiny_model_yaml(tmp_path / "m.yaml", nc=2)
    assert load_detector(yaml_path).nc == load_detector(yaml_path, trust_model=True).nc == 2
