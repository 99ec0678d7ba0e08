"""Loading Ultralytics checkpoints without running code from them.

A ``.pt`` is a pickle, and full unpickling can call any function the file names (``os.system`` ...). By default
paretodet loads Ultralytics checkpoints with Ultralytics' own allow-list mode,
``ultralytics.nn.tasks.torch_safe_load(path, safe_only=True)``: torch's ``weights_only`` unpickler, allowed to
rebuild only the torch and Ultralytics model classes (and the few data types) the checkpoint references.
paretodet's own blocks that its stage checkpoints hold (``C2fSplit`` of pruned models, the YOLOv5 stand-ins of
pruned YOLOv5 models) are added to that allow-list. Anything else is refused before it is built, with one line
naming the type and the opt-in (``trust_model``: full unpickling, for files the user trusts).

The model is then prepared as Ultralytics' ``YOLO(path)`` prepares it (float, args, task, stride, eval).
Ultralytics' QAT checkpoints (``modelopt`` state, restored by code Ultralytics may install) need the opt-in.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from typing import Any

from paretodet.errors import ModelError, first_line
from paretodet.models._refusal import TRUST_HINT, refuse

__all__ = ["load_ultralytics_safely", "register_paretodet_globals"]


def register_paretodet_globals() -> None:
    """Allow paretodet's own module classes (every registered family's :meth:`checkpoint_classes`) in
    ``weights_only`` loads, under their paths and the older ones (process-wide, as Ultralytics does); and let
    full unpickling resolve the older module paths to the modules the classes live in now."""
    import sys

    import torch

    from paretodet.models._families import get_family, list_families

    for name in list_families():
        for cls, old_paths in get_family(name).checkpoint_classes().items():
            torch.serialization.add_safe_globals([cls, *((cls, path) for path in old_paths)])
            for path in old_paths:
                sys.modules.setdefault(path.rpartition(".")[0], sys.modules[cls.__module__])


def load_ultralytics_safely(name: str, *, what: str) -> tuple[Any, str]:
    """The detection model of an Ultralytics checkpoint (a path, or an asset name Ultralytics may download)
    loaded without running code from it, and the local file it came from.

    Raises:
        UntrustedModelError: the checkpoint needs a type outside the allow-list.
        ModelError: the file cannot be fetched or read, or holds no model.
    """
    import pickle

    from ultralytics.nn import tasks

    if not getattr(tasks, "_SafeLoad", None) or not tasks._SafeLoad.SUPPORTED:
        raise ModelError(
            f"cannot load {what} safely: this Ultralytics/torch pair has no weights-only loading (update both, "
            f"torch>=2.6); {TRUST_HINT}"
        )
    register_paretodet_globals()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # torch's multi-line hints about weights_only; errors follow below
            ckpt, file = tasks.torch_safe_load(name, safe_only=True)
    except FileNotFoundError as exc:
        raise ModelError(
            f"could not fetch {what}: {first_line(exc)} (offline? download it once and pass the file path)"
        ) from None
    except pickle.UnpicklingError as exc:
        raise _refusal_or_damage(name, exc, what=what) from None
    except TypeError as exc:  # Ultralytics wraps the refusal (and damaged files) in a TypeError
        if isinstance(exc.__cause__, pickle.UnpicklingError):
            raise _refusal_or_damage(name, exc.__cause__, what=what) from None
        raise ModelError(f"cannot read {what}: {first_line(exc)} (is it a valid Ultralytics file?)") from None
    except (ConnectionError, TimeoutError) as exc:
        raise ModelError(
            f"could not fetch {what}: {first_line(exc)} (check the network or pass a local file)"
        ) from None
    except Exception as exc:  # damaged archives come in many types
        raise ModelError(f"cannot read {what}: {first_line(exc)} (is it a valid Ultralytics file?)") from None
    return _prepare(ckpt, name=name, file=str(file), what=what), str(file)


def _prepare(ckpt: Any, *, name: str, file: str, what: str) -> Any:
    """The model as ``YOLO(path).model`` has it (Ultralytics' ``load_checkpoint`` and ``Model._load``)."""
    import torch
    from ultralytics.cfg import DEFAULT_CFG_DICT
    from ultralytics.engine.model import Model
    from ultralytics.nn.tasks import guess_model_task

    if not isinstance(ckpt, dict):
        raise ModelError(f"cannot read {what}: it holds a {type(ckpt).__name__}, not an Ultralytics checkpoint")
    model: Any = ckpt.get("ema") or ckpt.get("model")
    if not isinstance(model, torch.nn.Module):
        raise ModelError(f"cannot read {what}: it holds no model under 'model' or 'ema'")
    if ckpt.get("modelopt"):
        raise ModelError(
            f"{what} holds Ultralytics QAT (modelopt) state, which paretodet does not restore; {TRUST_HINT}"
        )
    train_args = ckpt.get("train_args") or {}
    model = model.float()
    args = Model._reset_ckpt_args({**DEFAULT_CFG_DICT, **(train_args if isinstance(train_args, dict) else {})})
    model.args = {**args, "model": name}
    record_train_imgsz(model, train_args)
    model.pt_path = file
    model.task = getattr(model, "task", None) or guess_model_task(model)
    if not hasattr(model, "stride"):
        model.stride = torch.tensor([32.0])
    model = model.eval()
    for module in model.modules():
        if hasattr(module, "inplace"):
            module.inplace = True
        elif isinstance(module, torch.nn.Upsample) and not hasattr(module, "recompute_scale_factor"):
            module.recompute_scale_factor = None
    return model


def record_train_imgsz(model: Any, train_args: Any) -> None:
    """Keep the input size a checkpoint's ``train_args`` record on the model (``paretodet_train_imgsz``), so it
    travels with the model into the checkpoints paretodet saves; nothing when the checkpoint records none (a
    model built from a YAML was never trained: Ultralytics' default 640 in ``model.args`` says nothing)."""
    size = train_args.get("imgsz") if isinstance(train_args, dict) else None
    if isinstance(size, list | tuple) and size:
        size = max(size)
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        model.paretodet_train_imgsz = size


def _refusal_or_damage(name: str, error: BaseException, *, what: str) -> ModelError:
    """A refusal naming the global the file wanted, or, when it names none, a damaged (not a refused) file."""
    refused = _refused_global(name, error)
    if refused:
        return refuse(refused, name)
    return ModelError(f"cannot read {what}: {first_line(error)} (a damaged file, or not a PyTorch checkpoint)")


def _refused_global(file: str, error: BaseException) -> str:
    """The first global the checkpoint references that is not allowed ('' when none can be named)."""
    import torch

    try:
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(file)
    except Exception:
        needed = []
    allowed = {_global_name(entry) for entry in torch.serialization.get_safe_globals()}
    for name in needed:
        if name not in allowed:
            return name
    match = re.search(r"GLOBAL ([\w.]+)|unsafe (getattr\([^)]*\))", str(error))
    return (match.group(1) or match.group(2)) if match else ""


def _global_name(entry: Any) -> str:
    if isinstance(entry, tuple):
        return str(entry[1])
    return f"{getattr(entry, '__module__', '')}.{getattr(entry, '__qualname__', '')}"
