"""No Python warning reaches the terminal during ``demo``, ``search`` or ``apply`` (issue 22).

Each command runs as a user runs it, in its own process, with every warning that Python would show turned into
an error (the categories Python hides by default stay hidden). A warning raised inside a trial would fail that
trial, so each run must also complete every trial it starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paretodet.data import SHAPE_CLASSES, SynthSpec, synthesize
from paretodet.models import get_family
from paretodet.models.torchvision._family import build_torchvision

# Python's default filters show every category but these: make the shown ones errors, keep the hidden ones hidden
SHOWN_AS_ERRORS = ",".join(
    (
        "error",
        *(
            f"ignore::{c}"
            for c in ("DeprecationWarning", "PendingDeprecationWarning", "ImportWarning", "ResourceWarning")
        ),
    )
)


def _run(args: list[str], tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONWARNINGS": SHOWN_AS_ERRORS, "PARETODET_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "paretodet.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "Warning" not in output and "warn(" not in output, output[-3000:]
    return output


@pytest.mark.slow
def test_demo_shows_no_warning(tmp_path: Path) -> None:
    out = _run(["demo", "--trials", "2", "--out", str(tmp_path / "demo")], tmp_path)
    assert "2 trials completed (0 failed)" in out


@pytest.mark.slow
def test_search_shows_no_warning(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    args = ["search", "--model", str(tiny_model), "--data", str(tiny_data), "--trials", "3", "--space", "quick"]
    out = _run([*args, "--workdir", str(tmp_path / "w"), "--threads", "1"], tmp_path)
    assert "3 completed, 0 failed" in out


@pytest.mark.slow
def test_apply_of_a_kd_recovered_ssdlite_shows_no_warning(tmp_path: Path) -> None:
    voc = synthesize(tmp_path / "voc", SynthSpec(images=8, seed=3), format="voc")
    ssd = tmp_path / "ssd.pt"
    get_family("torchvision").save(build_torchvision("ssdlite320_mobilenet_v3_large", names=SHAPE_CLASSES), ssd)
    sets = ["imgsz=64", "prune.method=l2", "prune.finetune_epochs=1", "distill.alpha=0.5"]
    args = ["apply", str(ssd), "--data", str(voc), "--out", str(tmp_path / "o"), "--threads", "1"]
    out = _run([*args, *(x for s in sets for x in ("--set", s))], tmp_path)
    assert "mAP50-95" in out


def test_the_filter_makes_a_shown_warning_fail_and_leaves_hidden_ones_hidden() -> None:
    env = {**os.environ, "PYTHONWARNINGS": SHOWN_AS_ERRORS}
    shown = "import warnings; warnings.warn('user-visible')"
    hidden = "import warnings; warnings.warn('old', DeprecationWarning)"
    assert subprocess.run([sys.executable, "-c", shown], env=env, capture_output=True, check=False).returncode != 0
    assert subprocess.run([sys.executable, "-c", hidden], env=env, capture_output=True, check=False).returncode == 0
