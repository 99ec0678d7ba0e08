"""No Python warning reaches the terminal during ``demo``, ``search`` or ``apply`` (issue 22).

Each command runs as a user runs it, in its own process, with every warning that Python would show turned into
an error (the categories Python hides by default stay hidden). A warning raised inside a trial would fail that
trial, so each run must also complete every trial it starts.
"""

from __future__ import annotations

import os
import re
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


def _run_split(args: list[str], tmp_path: Path, *, fresh_home: bool = False) -> tuple[str, str]:
    """stdout and stderr of ``paretodet ARGS`` (``fresh_home``: as on a new machine, no library settings yet)."""
    env = {**os.environ, "PYTHONWARNINGS": SHOWN_AS_ERRORS, "PARETODET_CACHE": str(tmp_path / "cache")}
    if fresh_home:
        env = {k: v for k, v in env.items() if k not in ("YOLO_CONFIG_DIR", "XDG_CONFIG_HOME")}
        env["HOME"] = str(tmp_path / "home")
        (tmp_path / "home").mkdir()
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
    return proc.stdout, proc.stderr


def _run(args: list[str], tmp_path: Path) -> str:
    out, err = _run_split(args, tmp_path)
    return out + err


# every line the demo writes is one of paretodet's own (stage, trial and result lines); anything else came from
# a library (Ultralytics' settings banner on a new machine, ONNX Runtime's or NNI's log, torch's prints)
DEMO_STDOUT = (
    r"\d+ trials completed \(",
    r"report: \S+report\.html$",
    r" +\S+(report\.md|trials\.csv)$",
    r"pick one: ",
)
DEMO_STDERR = (r"> ", r"trial \d+ (COMPLETE|FAIL|PRUNED) \| ")


def _foreign_lines(text: str, shapes: tuple[str, ...]) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not any(re.match(s, line) for s in shapes)]


@pytest.mark.slow
def test_demo_shows_no_warning_and_no_library_line(tmp_path: Path) -> None:
    """On a fresh HOME (Ultralytics creates its settings file then, and used to announce it on stdout)."""
    out, err = _run_split(["demo", "--trials", "2", "--out", str(tmp_path / "demo")], tmp_path, fresh_home=True)
    assert "2 trials completed (0 failed," in out
    assert not _foreign_lines(out, DEMO_STDOUT), out
    assert not _foreign_lines(err, DEMO_STDERR), err
    assert "Ultralytics" not in out + err and "yolo settings" not in out + err
    assert (tmp_path / "home" / ".config" / "Ultralytics").is_dir()  # the settings file was created meanwhile


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
