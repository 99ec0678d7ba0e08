"""Any artifact in: an ONNX file or OpenVINO IR a user already has, as an :class:`Artifact` paretodet measures.

Three kinds of file are read: paretodet's own (its ``<file>.json`` sidecar says everything), Ultralytics'
``format=onnx`` and ``format=openvino`` exports (class names, input size and task from the ONNX
``metadata_props`` or the export folder's ``metadata.yaml``), and other ONNX/IR files whose single output has
Ultralytics' detection layout. The family that decodes the outputs is the one the metadata names (paretodet
writes ``family``), else the one the output layout shows; when neither tells, the file is refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from paretodet.errors import ModelError
from paretodet.runtimes._artifact import Artifact
from paretodet.runtimes._file_facts import FileFacts, ir_facts, onnx_facts

__all__ = ["ARTIFACT_SUFFIXES", "artifact_from_file"]

ARTIFACT_SUFFIXES: tuple[str, ...] = (".onnx", ".xml")  # and folders holding one IR (Ultralytics' exports)
_RUNTIME = {".onnx": "onnxruntime", ".xml": "openvino"}
_ULTRALYTICS = "ultralytics"  # the family of Ultralytics' detection head layout (1, 4 + nc, anchors)


def artifact_from_file(path: Path) -> Artifact:
    """The artifact a model file on disk is: ``.onnx`` (runs on ONNX Runtime), an OpenVINO ``.xml`` with its
    ``.bin``, or a folder holding one IR (Ultralytics' ``*_openvino_model/``); both run as they are.

    Read from the file: precision (INT8 = QDQ nodes / FakeQuantize or 8-bit weights; FP16 = FP16 weights),
    params (weights and biases of the graph's conv/matmul layers) and gflops (their 2 x MACs at ``imgsz``;
    0.0 when the graph's shapes cannot be inferred); see ``paretodet.runtimes._graph_counts``. A paretodet
    artifact's sidecar (``<file>.json``) is used as it is.

    Raises:
        ModelError: one line naming the problem and the fix: a missing file or ``.bin``, an unknown suffix, a
            task other than ``detect``, a dynamic or non-square input without ``imgsz`` metadata, or outputs
            of no known family.

    Example:
        >>> art = artifact_from_file(Path("yolov8n_openvino_model"))  # doctest: +SKIP
        >>> art.runtime, art.family, art.imgsz, art.precision  # doctest: +SKIP
        ('openvino', 'ultralytics', 640, 'fp32')
    """
    path = Path(path).expanduser()
    file = _model_file(path)
    if file.with_name(file.name + ".json").is_file():
        return Artifact.read_sidecar(file)
    suffix = file.suffix.lower()
    facts = onnx_facts(file) if suffix == ".onnx" else ir_facts(file)
    meta = {**facts.metadata, **_export_folder_metadata(file)}
    task = meta.get("task", "detect")
    if task != "detect":
        raise ModelError(f"{path} is an Ultralytics '{task}' model: paretodet evaluates detection models only")
    imgsz = _input_size(facts, meta, path)
    names = _names(meta)
    family, names = _family(facts, meta, names=names, imgsz=imgsz, path=path)
    return Artifact(
        path=file,
        runtime=_RUNTIME[suffix],
        imgsz=imgsz,
        precision=facts.precision,
        names=names,
        params=facts.params,
        gflops=facts.gflops_at(imgsz),
        family=family,
    )


def _model_file(path: Path) -> Path:
    """The ``.onnx`` / ``.xml`` file ``path`` names (a folder: the one IR inside it)."""
    if path.is_dir():
        xmls = sorted(path.glob("*.xml"))
        if len(xmls) != 1:
            found = f"{len(xmls)} .xml files" if xmls else "no .xml file"
            raise ModelError(f"model folder {path} holds {found}: pass a folder with one OpenVINO IR, or the .xml")
        path = xmls[0]
    if not path.is_file():
        raise ModelError(f"model file not found: {path} (check the path)")
    if path.suffix.lower() not in ARTIFACT_SUFFIXES:
        raise ModelError(
            f"{path} is not an ONNX (.onnx) or OpenVINO (.xml) file: pass one of those, or a checkpoint (.pt)"
        )
    if path.suffix.lower() == ".xml" and not path.with_suffix(".bin").is_file():
        raise ModelError(f"{path} has no weights file {path.with_suffix('.bin').name} beside it: copy the .bin there")
    return path


def _export_folder_metadata(file: Path) -> dict[str, Any]:
    """The ``metadata.yaml`` Ultralytics writes beside an exported IR ({} when there is none)."""
    from paretodet.base import read_yaml_file

    meta_file = file.with_name("metadata.yaml")
    if file.suffix.lower() != ".xml" or not meta_file.is_file():
        return {}
    raw = read_yaml_file(meta_file, what="Ultralytics export metadata", error=ModelError)
    return dict(raw) if isinstance(raw, Mapping) else {}


def _input_size(facts: FileFacts, meta: Mapping[str, Any], path: Path) -> int:
    """The square input size: the input's static shape, else the ``imgsz`` metadata (a dynamic export's)."""
    shape = facts.input_shape
    if len(shape) != 4:
        raise ModelError(f"{path} takes a {len(shape)}-d input {shape}: paretodet feeds (1, 3, S, S) images")
    batch, channels, height, width = shape
    if batch not in (None, 1) or channels not in (None, 3):
        raise ModelError(f"{path} takes input {shape}: export it with batch=1 and 3 channels")
    if height is not None and width is not None:
        if height != width:
            raise ModelError(f"{path} takes {height}x{width} inputs: export it at a square imgsz")
        return height
    declared = meta.get("imgsz")
    sizes = [declared] * 2 if isinstance(declared, int) else declared
    if not isinstance(sizes, Sequence) or len(sizes) != 2 or not all(isinstance(s, int) for s in sizes):
        raise ModelError(f"{path} has a dynamic input size {shape} and no imgsz metadata: export it at a fixed imgsz")
    if sizes[0] != sizes[1]:
        raise ModelError(f"{path} was exported at imgsz {sizes[0]}x{sizes[1]}: export it at a square imgsz")
    return int(sizes[0])


def _names(meta: Mapping[str, Any]) -> tuple[str, ...]:
    """Class names from ``names`` ({id: name} or a list), else Ultralytics' IR labels; () when unknown."""
    names = meta.get("names")
    if isinstance(names, Mapping) and names:
        try:
            ordered = sorted((int(k), str(v)) for k, v in names.items())
        except (TypeError, ValueError):
            return ()
        return tuple(v for _, v in ordered) if [k for k, _ in ordered] == list(range(len(ordered))) else ()
    if isinstance(names, list | tuple):
        return tuple(str(n) for n in names)
    labels = meta.get("labels")
    return tuple(str(n) for n in labels) if isinstance(labels, list) else ()


def _anchors(imgsz: int, stride: Any) -> int:
    """Anchor points of an anchor-free head at ``imgsz`` with levels at strides 8 ... ``stride``."""
    top = stride if isinstance(stride, int) and stride >= 8 else 32
    return sum(math.ceil(imgsz / s) ** 2 for s in (8, 16, 32, 64, 128) if s <= top)


def _family(
    facts: FileFacts, meta: Mapping[str, Any], *, names: tuple[str, ...], imgsz: int, path: Path
) -> tuple[str, tuple[str, ...]]:
    """The family whose ``decode`` reads these outputs, and the class names (placeholders when unknown)."""
    from paretodet.models import list_families

    declared = meta.get("family")
    if declared is not None:
        if declared not in list_families():
            raise ModelError(
                f"{path} was written for detector family '{declared}', which is not registered here: "
                f"use one of {', '.join(list_families())}"
            )
        return str(declared), names
    outputs = facts.output_shapes
    seen = f"{len(outputs)} output(s) {', '.join(str(s) for s in outputs)}"
    if str(meta.get("end2end")) == "True":
        raise ModelError(f"{path} is an end-to-end export (NMS inside, {seen}): re-export it with nms=False")
    shape = outputs[0] if len(outputs) == 1 else ()
    if len(shape) == 3 and shape[0] in (None, 1):
        channels, anchors = shape[1], shape[2]
        nc = len(names)
        if channels is not None and (channels == 4 + nc if nc else anchors == _anchors(imgsz, meta.get("stride"))):
            return _ULTRALYTICS, names or tuple(f"class{i}" for i in range(channels - 4))
        if channels is None and nc and meta.get("head") == "Detect":  # a dynamic export: its metadata tells
            return _ULTRALYTICS, names
        if anchors is not None and (anchors == 5 + nc if nc else channels == 3 * _anchors(imgsz, 32)):
            raise ModelError(
                f"{path} is an original YOLOv5 export (output {shape}: anchors x (5 + classes)): pass its YOLOv5 "
                f".pt checkpoint, or export that with Ultralytics or paretodet"
            )
    classes = f"{len(names)} class names" if names else "no class names"
    raise ModelError(
        f"cannot tell which detector family {path} holds ({seen}, {classes}): pass a paretodet artifact with its "
        f".json sidecar, or an Ultralytics detection export (format=onnx or openvino, nms=False)"
    )
