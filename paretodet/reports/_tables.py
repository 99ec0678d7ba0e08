"""Step 2 of a report, its tables: the technique table and the readable front, as HTML (a real ``<table>``,
sortable by clicking a header) and as Markdown."""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from paretodet.objectives import format_metric
from paretodet.reports._front_table import FRONT_METRICS
from paretodet.reports._techniques import ORIGINAL, TechniqueRow
from paretodet.reports._verdicts import TechniqueTable
from paretodet.runtimes import runtime_label

__all__ = [
    "SORT_SCRIPT",
    "TABLE_STYLE",
    "front_table_html",
    "front_table_markdown",
    "technique_table_html",
    "technique_table_markdown",
]

# click a header of a table.sortable: sort its rows by that column (numbers by data-v), again: reverse
SORT_SCRIPT = """<script>
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0], i = th.cellIndex, up = th.dataset.dir !== 'up';
    th.closest('tr').querySelectorAll('th').forEach(function (o) { delete o.dataset.dir; });
    th.dataset.dir = up ? 'up' : 'down';
    var key = function (row) { var c = row.cells[i]; return c.dataset.v !== undefined ? c.dataset.v : c.textContent; };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
      return up ? c : -c;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
</script>"""

TABLE_STYLE = (
    "table.report{border-collapse:collapse;margin:1em 0;font-size:14px;width:100%}"
    "table.report th,table.report td{border-bottom:1px solid #dde3ea;padding:4px 8px;text-align:left;"
    "vertical-align:top}"
    "table.report th{background:#eef2f6}table.sortable th{cursor:pointer}"
    "table.sortable th[data-dir=up]::after{content:' \\25B2'}table.sortable th[data-dir=down]::after{content:' \\25BC'}"
    "td.num{text-align:right;white-space:nowrap}td small{color:#5a6570}"
    "code.cmd{font-size:12px;word-break:break-all;user-select:all}"
    "tr.missing td{color:#8a94a0;font-style:italic}.bad{color:#c0392b}.ok{color:#1e7e34}"
)


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _num(metric: str, value: float) -> str:
    """A metric value with its unit, or '-' when not measured."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format_metric(metric, value)


def _points(delta: float) -> str:
    return f"{delta:+.2f}" if math.isfinite(delta) else ""


def _times(x: float, better: str, worse: str) -> str:
    if not math.isfinite(x):
        return ""
    return f"{x:.2f}x {better}" if x >= 1 else f"{1 / x:.2f}x {worse}"


def _changes(row: TechniqueRow) -> tuple[str, str, str, str]:
    """Size, speed, mAP50-95 and mAP50 changes against the row's baseline (none for the original itself)."""
    if row.baseline == row.trial:
        return "", "", "", ""
    return (
        _times(row.size_x, "smaller", "larger"),
        _times(row.speed_x, "faster", "slower"),
        _points(row.d_map50_95),
        _points(row.d_map50),
    )


def _compared(row: TechniqueRow) -> str:
    where = f"{row.imgsz} px, {runtime_label(str(row.runtime))}"
    if row.name == ORIGINAL:
        return f"{where} (the reference)"
    if row.baseline is None:
        return where
    if (row.baseline_imgsz, row.baseline_runtime) != (row.imgsz, row.runtime):
        other = f"{row.baseline_imgsz} px, {runtime_label(str(row.baseline_runtime))}"
        return f"{where}, vs trial {row.baseline} at {other}"
    return f"{where}, vs trial {row.baseline}"


_TECHNIQUE_HEADERS = ("technique", "trial", "size", "latency", "FPS", "mAP50-95", "mAP50", "compared at")


def technique_table_html(table: TechniqueTable) -> str:
    """The technique table (rows not measured say so) and its verdicts, as HTML."""
    head = "".join(f"<th>{h}</th>" for h in _TECHNIQUE_HEADERS)
    body = []
    for r in table.rows:
        name = f"<b>{_esc(r.name)}</b>"
        if not r.measured:
            body.append(
                f"<tr class='missing' data-row='{_esc(r.name)}'><td>{name}</td>"
                f"<td colspan='{len(_TECHNIQUE_HEADERS) - 1}'>{_esc(r.note)}</td></tr>"
            )
            continue
        m, (size, speed, d, d50) = r.metrics, _changes(r)
        cells = [
            f"{name}<br><small>{_esc(r.config)}</small>",
            str(r.trial),
            f"{_num('size_bytes', m['size_bytes'])}<br><small>{size}</small>",
            f"{_num('latency_ms', m['latency_ms'])}<br><small>{speed}</small>",
            _num("fps", m["fps"]),
            f"{_num('map50_95', m['map50_95'])}<br><small>{d}</small>",
            f"{_num('map50', m['map50'])}<br><small>{d50}</small>",
            f"{_esc(_compared(r))}" + (f"<br><small>{_esc(r.note)}</small>" if r.note else ""),
        ]
        classes = ["", "num", "num", "num", "num", "num", "num", ""]
        tds = "".join(f"<td class='{c}'>{v}</td>" if c else f"<td>{v}</td>" for c, v in zip(classes, cells))
        body.append(f"<tr data-row='{_esc(r.name)}' data-trial='{r.trial}'>{tds}</tr>")
    verdicts = "".join(f"<li>{_esc(line)}</li>" for line in table.verdicts)
    return (
        "<h2>What each technique buys</h2>"
        "<p>Each technique alone and with its mitigation, against the best unmodified trial of the same input "
        "size and runtime; mAP changes in points (0.01 mAP = 1 point). When several trials qualify for a row, "
        "the best mAP50-95 one is shown.</p>"
        f"<table class='report' id='technique-table'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}"
        f"</tbody></table><ul id='verdicts'>{verdicts}</ul>"
    )


def technique_table_markdown(table: TechniqueTable) -> str:
    """The technique table and its verdicts, as Markdown."""
    lines = [
        "## What each technique buys",
        "",
        "| " + " | ".join(_TECHNIQUE_HEADERS) + " |",
        "|" + "---|" * len(_TECHNIQUE_HEADERS),
    ]
    for r in table.rows:
        if not r.measured:
            lines.append(f"| {r.name} | - | {r.note} |" + " |" * (len(_TECHNIQUE_HEADERS) - 3))
            continue
        m, (size, speed, d, d50) = r.metrics, _changes(r)
        cells = [
            f"{r.name}: {r.config}",
            str(r.trial),
            f"{_num('size_bytes', m['size_bytes'])} {size}",
            f"{_num('latency_ms', m['latency_ms'])} {speed}",
            _num("fps", m["fps"]),
            f"{_num('map50_95', m['map50_95'])} {d}",
            f"{_num('map50', m['map50'])} {d50}",
            _compared(r) + (f"; {r.note}" if r.note else ""),
        ]
        lines.append("| " + " | ".join(c.strip() for c in cells) + " |")
    lines += ["", *(f"- {line}" for line in table.verdicts), ""]
    return "\n".join(lines)


def _feasible_html(row: pd.Series, budgets: bool) -> str:
    if not budgets:
        return ""
    if row["feasible"]:
        return "<td data-v='1' class='ok'>yes</td>"
    return f"<td data-v='0' class='bad'>no: {_esc(', '.join(row['over']) or 'not measured')}</td>"


def front_table_html(rows: pd.DataFrame, *, budgets: bool) -> str:
    """The front as a sortable HTML table: one line per front trial, the full config in a ``<details>``."""
    headers = ["trial", "config", *(h for _, h in FRONT_METRICS), *(["within budgets"] if budgets else [])]
    headers.append("rebuild with")
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = []
    for _, row in rows.iterrows():
        knee = " <small title='the balanced trade-off: closest to the ideal corner'>knee</small>" if row["knee"] else ""
        full = "".join(f"<li>{_esc(k)} = {_esc(v)}</li>" for k, v in row["full_config"].items())
        config = (
            f"<details><summary>{_esc(row['config'])}</summary><small>{_esc(row['combo'])}; every knob that acts:"
            f"</small><ul>{full}</ul></details>"
        )
        metrics = "".join(
            f"<td class='num' data-v='{row[m]}'>{_esc(_front_value(m, row[m]))}</td>" for m, _ in FRONT_METRICS
        )
        body.append(
            f"<tr data-trial='{row['number']}'><td class='num' data-v='{row['number']}'>{row['number']}{knee}</td>"
            f"<td data-v='{_esc(row['config'])}'>{config}</td>{metrics}{_feasible_html(row, budgets)}"
            f"<td><code class='cmd'>{_esc(row['apply'])}</code></td></tr>"
        )
    return (
        "<h2>Pareto front</h2><p>One line per front trial (click a header to sort, a config for every knob).</p>"
        f"<table class='report sortable' id='front-table'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _front_value(metric: str, value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if metric == "size_mb":
        return f"{value:.2f}"
    if metric == "latency_ms":
        return f"{value:.2f}"
    return format_metric(metric, value)


def front_table_markdown(rows: pd.DataFrame, *, budgets: bool) -> str:
    """The front as a compact Markdown table (the same columns as the HTML one)."""
    headers = ["number", "config", *(h for _, h in FRONT_METRICS), *(["within budgets"] if budgets else [])]
    headers.append("rebuild with")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for _, row in rows.iterrows():
        cells = [f"{row['number']}" + (" (knee)" if row["knee"] else ""), row["config"]]
        cells += [_front_value(m, row[m]) for m, _ in FRONT_METRICS]
        if budgets:
            cells.append("yes" if row["feasible"] else "no: " + (", ".join(row["over"]) or "not measured"))
        cells.append(f"`{row['apply']}`")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
