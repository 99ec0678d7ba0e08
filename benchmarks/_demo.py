"""Shared set-up of the benchmarks that run on the demo: a work dir holding the synthetic demo data."""

from __future__ import annotations

import tempfile
from pathlib import Path

from paretodet.data import synthesize
from paretodet.models import DEMO_DATA_SPEC


def demo_workdir(workdir: Path | None, prefix: str) -> tuple[Path, Path]:
    """``(work dir, data YAML)``: ``workdir`` (or a new temporary one) with the demo data synthesized once."""
    work = workdir or Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    data_yaml = work / "data" / "data.yaml"
    if not data_yaml.is_file():
        synthesize(work / "data", DEMO_DATA_SPEC)
    return work, data_yaml
