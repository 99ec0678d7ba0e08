"""Step 2 of a report, its tables: the technique table and the readable front, as HTML (a real ``<table>``,
sortable by clicking a header) and as Markdown."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from paretodet.objectives import METRICS, format_metric
from paretodet.reports._front_table import front_metrics
from paretodet.reports._techniques import ORIGINAL, TechniqueRow, table_metrics
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


def _changes(row: TechniqueRow) -> dict[str, str]:
    """Size, speed, mAP50-95 and mAP50 changes against the row's baseline, by the metric column each annotates
    (empty for the original itself)."""
    changes = {
        "size_bytes": _times(row.size_x, "smaller", "larger"),
        "latency_ms": _times(row.speed_x, "faster", "slower"),
        "map50_95": _points(row.d_map50_95)
        + (f" [{row.d_low:+.2f}, {row.d_high:+.2f}]" if math.isfinite(row.d_low) and math.isfinite(row.d_high) else ""),
        "map50": _points(row.d_map50),
    }
    return {metric: "" if row.baseline == row.trial else text for metric, text in changes.items()}


def _technique_metrics() -> list[str]:
    """The technique table's metric columns, each at its ``technique_column``, as METRICS is now."""
    return sorted(table_metrics(), key=lambda m: METRICS[m].technique_column)


def _technique_headers(metrics: Sequence[str]) -> list[str]:
    return ["technique", "trial", *(METRICS[m].brief for m in metrics), "compared at"]


def _metric_cells(row: TechniqueRow, metrics: Sequence[str], *, noted: str) -> list[str]:
    """The row's metric cells; a metric with a change against the baseline shows it as ``noted`` puts it
    (``"{} {}"``: value, change)."""
    changes = _changes(row)
    cells = []
    for metric in metrics:
        value = _num(metric, row.metrics.get(metric, float("nan")))
        cells.append(noted.format(value, changes[metric]) if metric in changes else value)
    return cells


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


def technique_table_html(table: TechniqueTable) -> str:
    """The technique table (rows not measured say so) and its verdicts, as HTML."""
    metrics = _technique_metrics()
    headers = _technique_headers(metrics)
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for r in table.rows:
        name = f"<b>{_esc(r.name)}</b>"
        if not r.measured:
            body.append(
                f"<tr class='missing' data-row='{_esc(r.name)}'><td>{name}</td>"
                f"<td colspan='{len(headers) - 1}'>{_esc(r.note)}</td></tr>"
            )
            continue
        cells = [
            f"{name}<br><small>{_esc(r.config)}</small>",
            str(r.trial),
            *_metric_cells(r, metrics, noted="{}<br><small>{}</small>"),
            f"{_esc(_compared(r))}" + (f"<br><small>{_esc(r.note)}</small>" if r.note else ""),
        ]
        classes = ["", "num", *(["num"] * len(metrics)), ""]
        tds = "".join(f"<td class='{c}'>{v}</td>" if c else f"<td>{v}</td>" for c, v in zip(classes, cells))
        body.append(f"<tr data-row='{_esc(r.name)}' data-trial='{r.trial}'>{tds}</tr>")
    verdicts = "".join(f"<li>{_esc(line)}</li>" for line in table.verdicts)
    return (
        "<h2>What each technique buys</h2>"
        "<p>Each technique alone and with its mitigation, against the best unmodified trial of the same input "
        "size and runtime; mAP changes in points (0.01 mAP = 1 point), [low, high]: the paired 95% interval of "
        "the change on the same val images. When several trials qualify for a row, the best mAP50-95 one is "
        "shown.</p>"
        f"<table class='report' id='technique-table'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}"
        f"</tbody></table><ul id='verdicts'>{verdicts}</ul>"
    )


def technique_table_markdown(table: TechniqueTable) -> str:
    """The technique table and its verdicts, as Markdown."""
    metrics = _technique_metrics()
    headers = _technique_headers(metrics)
    lines = ["## What each technique buys", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for r in table.rows:
        if not r.measured:
            lines.append(f"| {r.name} | - | {r.note} |" + " |" * (len(headers) - 3))
            continue
        cells = [
            f"{r.name}: {r.config}",
            str(r.trial),
            *_metric_cells(r, metrics, noted="{} {}"),
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


def _shown_front_metrics(rows: pd.DataFrame) -> list[tuple[str, str]]:
    """The front table's metric columns; one only ``paretodet verify`` measures shows once it did."""
    return [
        (m, header)
        for m, header in front_metrics()
        if not (METRICS[m].verified_only and (m not in rows or rows[m].isna().all()))
    ]


def front_table_html(rows: pd.DataFrame, *, budgets: bool) -> str:
    """The front as a sortable HTML table: one line per front trial, the full config in a ``<details>``."""
    shown = _shown_front_metrics(rows)
    headers = ["trial", "config", *(h for _, h in shown), *(["within budgets"] if budgets else [])]
    headers.append("rebuild with")
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = []
    for _, row in rows.iterrows():
        knee = (
            " <small title='the report's one recommendation (see the analysis)'>recommended</small>"
            if row["knee"]
            else ""
        )
        full = "".join(f"<li>{_esc(k)} = {_esc(v)}</li>" for k, v in row["full_config"].items())
        config = (
            f"<details><summary>{_esc(row['config'])}</summary><small>{_esc(row['combo'])}; every knob that acts:"
            f"</small><ul>{full}</ul></details>"
        )
        metrics = "".join(
            f"<td class='num' data-v='{row[m]}'>{_esc(_front_value(m, row[m], row.get(f'{m}_interval')))}</td>"
            for m, _ in shown
        )
        body.append(
            f"<tr data-trial='{row['number']}'><td class='num' data-v='{row['number']}'>{row['number']}{knee}</td>"
            f"<td data-v='{_esc(row['config'])}'>{config}</td>{metrics}{_feasible_html(row, budgets)}"
            f"<td><code class='cmd'>{_esc(row['apply'])}</code></td></tr>"
        )
    notes = "".join(f"<li>{_esc(line)}</li>" for line in indistinct_lines(rows))
    return (
        "<h2>Pareto front</h2><p>One line per front trial (click a header to sort, a config for every knob); "
        "[low, high]: 95% interval.</p>"
        f"<table class='report sortable' id='front-table'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>" + (f"<ul id='indistinct'>{notes}</ul>" if notes else "")
    )


def indistinct_lines(rows: pd.DataFrame) -> list[str]:
    """One line per pair of front neighbours that some objective cannot tell apart (every objective: marked)."""
    lines = []
    numbers = rows["number"].tolist()
    for i, (_, row) in enumerate(rows.iterrows()):
        alike = row.get("indistinct") or []
        if not alike or i + 1 >= len(numbers):
            continue
        names = ", ".join(METRICS[m].brief if m in METRICS else m for m in alike)
        objectives = METRICS.where(lambda spec: spec.objective)
        every = " on every objective: the front does not separate them" if len(alike) == len(objectives) else ""
        lines.append(f"trials {numbers[i]} and {numbers[i + 1]} cannot be told apart on {names}{every}")
    return lines


def _front_value(metric: str, value: float, interval: Any = None) -> str:
    """A front cell: the value without its unit (the header says it), with its 95% interval where there is one,
    or '-' when not measured."""
    if isinstance(value, float) and math.isnan(value):
        return "-"
    spec = METRICS[metric]
    text = spec.format(value, unit=False)
    if isinstance(interval, tuple) and len(interval) == 2:
        text += f" [{spec.format(interval[0], unit=False)}, {spec.format(interval[1], unit=False)}]"
    return text


def front_table_markdown(rows: pd.DataFrame, *, budgets: bool) -> str:
    """The front as a compact Markdown table (the same columns as the HTML one)."""
    shown = _shown_front_metrics(rows)
    headers = ["number", "config", *(h for _, h in shown), *(["within budgets"] if budgets else [])]
    headers.append("rebuild with")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for _, row in rows.iterrows():
        cells = [f"{row['number']}" + (" (recommended)" if row["knee"] else ""), row["config"]]
        cells += [_front_value(m, row[m], row.get(f"{m}_interval")) for m, _ in shown]
        if budgets:
            cells.append("yes" if row["feasible"] else "no: " + (", ".join(row["over"]) or "not measured"))
        cells.append(f"`{row['apply']}`")
        lines.append("| " + " | ".join(cells) + " |")
    notes = indistinct_lines(rows)
    return "\n".join(lines + ([""] + [f"- {line}" for line in notes] if notes else []))
