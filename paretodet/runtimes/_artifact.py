"""The deployable artifact a candidate becomes: a file on disk plus how to run it."""

from __future__ import annotations

import dataclasses
import json
import os
import zlib
from dataclasses import KW_ONLY, asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["LEGACY_FAMILY", "Artifact"]

LEGACY_FAMILY = "ultralytics"  # sidecars written before artifacts recorded their family held Ultralytics models


@dataclass(frozen=True)
class Artifact:
    """A built candidate.

    Attributes:
        path: the file that ships (its runtime's suffix: ``.onnx``, ``.xml`` + ``.bin``, the family's ``.pt``).
        runtime: what it ships on (a registered runtime, see ``paretodet.runtimes.runtime_spec``).
        imgsz: the square input size the artifact expects.
        precision: ``fp32``, ``fp16`` (weights) or ``int8`` (QDQ).
        names: class names, index = class id.
        params: parameters of the network inside the artifact (counted on the exported model).
        gflops: forward GFLOPs at ``imgsz`` (counted by torch's FLOP counter on the exported model).
        fp32_blocks: INT8 only: blocks kept in FP32 by the mixed-precision knob.
        family: the detector family (registry name) whose outputs the file holds: runners decode with it.
        precision_hint: what a runtime that takes a hint computes non-INT8 ops in (empty: no hint).
    """

    path: Path
    runtime: str
    imgsz: int
    precision: str
    names: tuple[str, ...]
    params: int
    gflops: float
    fp32_blocks: tuple[str, ...] = ()
    precision_hint: str = ""
    _: KW_ONLY
    family: str

    def files(self) -> list[Path]:
        """The files that ship: the artifact's, plus the weights file of an OpenVINO IR (``.xml`` + ``.bin``)."""
        weights = self.path.with_suffix(".bin")
        return [self.path, weights] if self.path.suffix == ".xml" and weights.is_file() else [self.path]

    def size_bytes(self) -> int:
        """Bytes on disk of :meth:`files`."""
        return sum(file.stat().st_size for file in self.files())

    def compressed_bytes(self) -> int:
        """Bytes of the artifact's file(s) after zlib compression (level 6), measured by compressing them."""
        total = 0
        for file in self.files():
            packer = zlib.compressobj(6)
            with file.open("rb") as fh:
                while block := fh.read(1 << 20):
                    total += len(packer.compress(block))
            total += len(packer.flush())
        return total

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        data = asdict(self)
        data["path"] = str(self.path)
        data["names"] = list(self.names)
        data["fp32_blocks"] = list(self.fp32_blocks)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Artifact:
        """Inverse of :meth:`to_dict`."""
        fixed = {
            "path": Path(data["path"]),
            "names": tuple(data["names"]),
            "fp32_blocks": tuple(data.get("fp32_blocks", ())),
            "family": data.get("family", LEGACY_FAMILY),
        }
        return cls(**{**data, **fixed})

    def write_sidecar(self) -> Path:
        """Write ``<artifact>.json`` beside the file (atomically) so a cached artifact can be reopened."""
        sidecar = self.path.with_name(self.path.name + ".json")
        tmp = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2))
        os.replace(tmp, sidecar)
        return sidecar

    @classmethod
    def read_sidecar(cls, path: Path) -> Artifact:
        """Reopen an artifact from its sidecar JSON; the path is the file's own (work dirs can move)."""
        data = json.loads(path.with_name(path.name + ".json").read_text())
        return dataclasses.replace(cls.from_dict(data), path=path)
