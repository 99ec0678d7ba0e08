"""Ultralytics loading: checkpoints (.pt) or model YAMLs as a :class:`Detector` (the family is in
``_family``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from paretodet.base import file_digest
from paretodet.errors import ModelError, first_line
from paretodet.models._base import Detector
from paretodet.models.ultralytics._safe_load import (
    load_ultralytics_safely,
    record_train_imgsz,
    register_paretodet_globals,
)

__all__ = ["file_digest", "is_yolov5_checkpoint", "load_ultralytics", "pickled_globals", "trained_size"]

_REMOTE_SUFFIXES = (".pt", ".yaml", ".yml")


def load_ultralytics(source: str | Path, *, trust_model: bool = False) -> Detector:
    """Load an Ultralytics checkpoint (``.pt``) or model YAML.

    A path that exists is read from disk. A bare name (``yolov8n.pt``, ``yolo11s.yaml``) is handed to
    Ultralytics' own loading code, which downloads released weights when online; offline, a ModelError
    names what could not be fetched.

    Checkpoints load without running code from them (see :mod:`paretodet.models.ultralytics._safe_load`): Ultralytics
    checkpoints through Ultralytics' allow-list mode (``weights_only`` unpickling of its known classes, plus
    paretodet's own blocks), original YOLOv5 ones through paretodet's restricted unpickler. A checkpoint that
    needs any other type raises :class:`~paretodet.errors.UntrustedModelError` naming it. ``trust_model=True``
    unpickles in full, which runs whatever code the file holds: only for files you trust. Model YAMLs are
    built the same way either way.

    Example:
        >>> det = load_ultralytics("runs/teacher/weights/best.pt")  # doctest: +SKIP
    """
    text = str(source)
    path = Path(text).expanduser()
    if path.exists():
        if path.is_dir():
            raise ModelError(f"model {path} is a folder: pass a .pt checkpoint or a model .yaml file")
        if path.suffix.lower() not in _REMOTE_SUFFIXES:
            raise ModelError(f"model {path} is not a .pt checkpoint or model .yaml: pass one of those")
        if path.suffix.lower() == ".pt" and not trust_model:
            model, _ = load_ultralytics_safely(str(path), what=f"checkpoint {path}")
            return _to_detector(model, source=str(path), digest=file_digest(path))
        yolo = _load_yolo(str(path), what=f"checkpoint {path}")
        record_train_imgsz(yolo.model, (getattr(yolo, "ckpt", None) or {}).get("train_args"))
        return _to_detector(yolo.model, source=str(path), digest=file_digest(path))
    is_bare_name = path.name == text and path.suffix.lower() in _REMOTE_SUFFIXES
    if not is_bare_name:
        raise ModelError(f"model file not found: {path} (check the path, or name an Ultralytics model like yolov8n.pt)")
    what = f"Ultralytics model '{text}'"
    ckpt_path: str | None
    if path.suffix.lower() == ".pt" and not trust_model:
        model, ckpt_path = load_ultralytics_safely(text, what=what)
    else:
        yolo = _load_yolo(text, what=what)
        record_train_imgsz(yolo.model, (getattr(yolo, "ckpt", None) or {}).get("train_args"))
        model, ckpt_path = yolo.model, getattr(yolo, "ckpt_path", None)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    if ckpt_path and Path(ckpt_path).is_file():
        digest = file_digest(Path(ckpt_path))
    return _to_detector(model, source=text, digest=digest)


def pickled_globals(path: Path) -> set[str]:
    """The ``module.Name`` globals the pickle of the torch checkpoint ``path`` names, read without unpickling
    (empty for a file that is not a torch zip archive: the regular loader reports it)."""
    import pickletools
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            member = next((n for n in archive.namelist() if n.endswith("data.pkl")), None)
            data = archive.read(member) if member else b""
        found: set[str] = set()
        strings: list[str] = []
        for opcode, arg, _ in pickletools.genops(data):
            if opcode.name == "GLOBAL":  # protocol 2 (torch.save's): "module name"
                found.add(str(arg).replace(" ", "."))
            elif isinstance(arg, str):
                strings.append(arg)
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:  # protocol 4+: the last two strings
                found.add(f"{strings[-2]}.{strings[-1]}")
    except (OSError, zipfile.BadZipFile, ValueError):
        return set()
    return found


def is_yolov5_checkpoint(path: Path) -> bool:
    """Whether ``path`` pickles classes of the original YOLOv5 code base (``models.*``), read without unpickling."""
    return any(name.startswith("models.") for name in pickled_globals(path))


def _load_yolo(name: str, *, what: str) -> Any:
    """Ultralytics' own loading: builds model YAMLs; unpickles checkpoints in full (trusted files only)."""
    from ultralytics import YOLO

    register_paretodet_globals()  # pruned checkpoints hold C2fSplit blocks, also under ULTRALYTICS_SAFE_LOAD=1
    try:
        yolo = YOLO(name, task="detect")
    except FileNotFoundError as exc:
        raise ModelError(
            f"could not fetch {what}: {first_line(exc)} (offline? download it once and pass the file path)"
        ) from None
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise ModelError(
            f"could not fetch {what}: {first_line(exc)} (check the network or pass a local file)"
        ) from None
    except Exception as exc:  # unpickling errors come in many types
        raise ModelError(f"cannot read {what}: {first_line(exc)} (is it a valid Ultralytics file?)") from None
    if getattr(yolo, "task", "detect") != "detect":
        raise ModelError(f"{what} is a '{yolo.task}' model; paretodet needs a detection model")
    return yolo


def _to_detector(net: Any, *, source: str, digest: str) -> Detector:
    if getattr(net, "task", "detect") != "detect":
        raise ModelError(f"model {source} is a '{net.task}' model; paretodet needs a detection model")
    model = net.float().eval().cpu()
    names_attr = getattr(model, "names", None) or {}
    names = tuple(str(names_attr[i]) for i in sorted(names_attr)) if isinstance(names_attr, dict) else tuple(names_attr)
    if not names:
        raise ModelError(f"model {source} has no class names")
    return Detector(
        model=model, names=names, source=source, digest=digest, family="ultralytics", train_imgsz=trained_size(model)
    )


def trained_size(model: Any) -> int | None:
    """The input size the model's checkpoint says it was trained at (``train_args['imgsz']``, kept on the model
    when it was loaded: see ``record_train_imgsz``); None when it says none (a model YAML, a bare state).

    Example:
        >>> trained_size(type("M", (), {"paretodet_train_imgsz": 640})())
        640
    """
    size = getattr(model, "paretodet_train_imgsz", None)
    return int(size) if isinstance(size, int) and size > 0 else None
