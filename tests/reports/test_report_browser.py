"""The report opens in headless Chromium (Debian's `chromium`) with no console errors."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from paretodet.reports import Budget, build_info, write_report
from tests.reports.test_analysis import TRIALS
from tests.reports.test_techniques import STUDY

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


# appended to a copy of the report: reads the front table and every plotted trace once the page has rendered,
# clicks the FPS header, and leaves what it saw as JSON in <pre id="dom-check"> for --dump-dom
_DOM_CHECK = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var table = document.getElementById('front-table'), out = {figures: []};
  out.rows = table.querySelectorAll('tbody tr').length;
  out.headers = Array.from(table.querySelectorAll('thead th')).map(function (th) { return th.textContent; });
  out.width = table.getBoundingClientRect().width; out.viewport = window.innerWidth;
  out.techniqueRows = document.querySelectorAll('#technique-table tbody tr').length;
  var fps = out.headers.indexOf('FPS');
  table.querySelectorAll('thead th')[fps].click();
  out.fpsSorted = Array.from(table.querySelectorAll('tbody tr')).map(function (r) {
    return parseFloat(r.cells[fps].dataset.v); });
  document.querySelectorAll('.plotly-graph-div').forEach(function (gd) {
    var traces = (gd._fullData || []).map(function (t) {
      return {role: (t.meta || {}).role || null, x: Array.from(t.x || []), y: Array.from(t.y || [])}; });
    out.figures.push({meta: gd.layout.meta || null, traces: traces});
  });
  var pre = document.createElement('pre'); pre.id = 'dom-check'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 0); });
</script>"""


def _read_dom(page: Path) -> dict:
    """Open ``page`` (with the check script added) at 1400 px and return what the script saw."""
    probe = page.with_name("dom-check.html")
    probe.write_text(page.read_text().replace("</body>", _DOM_CHECK + "</body>"))
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1400,1000"]
    proc = subprocess.run(
        [str(CHROMIUM), *flags, "--virtual-time-budget=8000", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    match = re.search(r'<pre id="dom-check">(.*?)</pre>', proc.stdout, re.S)
    assert match, proc.stderr[-2000:]
    return json.loads(html.unescape(match.group(1)))


@needs_chromium
def test_page_shows_one_line_per_front_trial_and_each_projection_front_is_non_dominated(tmp_path: Path) -> None:
    info = build_info(STUDY, budgets=[Budget.parse("size_mb<=4")])
    paths = write_report(info, tmp_path / "report", meta={"model": "m.pt", "data": "d.yaml"})
    seen = _read_dom(paths["html"])
    assert seen["rows"] == len(info.front) and seen["techniqueRows"] == 11
    assert len(seen["headers"]) <= 10 and seen["width"] <= seen["viewport"]  # readable at 1400 px
    assert seen["fpsSorted"] == sorted(seen["fpsSorted"])  # the header click sorted the table
    projections = [f for f in seen["figures"] if f["meta"] and "projection" in f["meta"]]
    assert len(projections) == 4  # three objective pairs, and mAP vs latency per technique
    for figure in projections:
        directions = np.asarray(figure["meta"]["directions"], dtype=float)
        plotted = [t for t in figure["traces"] if t["role"] in ("points", "front", "group-front", "knee")]
        everything = np.array([(x, y) for t in plotted for x, y in zip(t["x"], t["y"])], dtype=float)
        fronts = [t for t in figure["traces"] if t["role"] == "front"]
        assert len(fronts) == 1 and fronts[0]["x"]
        for point in zip(fronts[0]["x"], fronts[0]["y"]):
            signed = (everything - np.asarray(point, dtype=float)) * directions
            beaten = (signed >= 0).all(axis=1) & (signed > 0).any(axis=1)
            assert not beaten.any(), (figure["meta"], point)
