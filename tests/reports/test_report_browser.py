"""The report opens in headless Chromium (Debian's `chromium`) with no console errors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from paretodet.reports import Budget, build_info, write_report
from tests.reports.test_analysis import TRIALS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (.ci/run installs it)")


def _open(page: Path, png: Path) -> list[str]:
    """Load ``page`` in headless Chromium, screenshot it to ``png``; return the console's error lines."""
    proc = subprocess.run(
        [
            str(CHROMIUM),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,1400",
            "--virtual-time-budget=8000",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln and ("Uncaught" in ln or "Error" in ln)]


@needs_chromium
def test_the_check_sees_a_script_error(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>throw new Error('boom')</script></body></html>")
    assert any("boom" in line for line in _open(page, tmp_path / "broken.png"))


@needs_chromium
def test_report_opens_without_console_errors(tmp_path: Path) -> None:
    paths = write_report(
        build_info(TRIALS, budgets=[Budget.parse("size_mb<=4")]),
        tmp_path / "report",
        importances={"map50_95": {"imgsz": 0.7, "quant.precision": 0.3}},
    )
    png = tmp_path / "report" / "main_figure.png"
    assert _open(paths["html"], png) == []
    assert png.stat().st_size > 20_000  # a rendered page, not a blank one
