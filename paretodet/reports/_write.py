"""Step 3 of a report: write report.html (self-contained), report.md and trials.csv."""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path
from typing import Any

import pandas as pd

from paretodet.reports._analysis import Analysis, analyze
from paretodet.reports._figures import pareto_pair_figures
from paretodet.reports._figures_more import (
    front_3d_figure,
    hypervolume_figure,
    importance_figure,
    parallel_figure,
    technique_fronts_figure,
)
from paretodet.reports._front_table import front_rows
from paretodet.reports._info import ReportInfo, knob_columns, metric_columns, timing_hosts
from paretodet.reports._states import state_counts_line, state_note
from paretodet.reports._tables import (
    SORT_SCRIPT,
    TABLE_STYLE,
    front_table_html,
    front_table_markdown,
    technique_table_html,
    technique_table_markdown,
)
from paretodet.reports._time import stopped_lines, time_lines
from paretodet.reports._verdicts import TechniqueTable, technique_table

__all__ = ["front_markdown", "write_report"]


def front_markdown(info: ReportInfo, *, meta: dict[str, Any] | None = None, knee: int | None = None) -> str:
    """The front as a compact Markdown table: one line per front trial (config summary, metrics with units,
    budgets, the ``paretodet apply`` command that rebuilds it)."""
    knee = analyze(info).knee if knee is None else knee
    return front_table_markdown(front_rows(info, meta=meta, knee=knee), budgets=bool(info.budgets))


TRIALS_PER_KNOB = 10  # completed trials per ranked knob before Optuna's importances are shown


def write_report(
    info: ReportInfo,
    out: Path,
    *,
    title: str = "paretodet report",
    meta: dict[str, Any] | None = None,
    sensitivity: list[dict[str, Any]] | None = None,
    importances: dict[str, dict[str, float]] | None = None,
) -> dict[str, Path]:
    """Write the report files into ``out``: report.html (self-contained), report.md, trials.csv and
    fronts.csv (each technique's front); return their paths.

    Example:
        >>> paths = write_report(build_info(trials), Path("report"))  # doctest: +SKIP
    """
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": out / "report.html",
        "md": out / "report.md",
        "csv": out / "trials.csv",
        "fronts": out / "fronts.csv",
    }
    analysis = analyze(info)
    techniques = technique_table(info)
    meta = meta or {}
    importances, importance_note = supported_importances(importances or {}, completed=len(info.complete))
    analysis = dataclasses.replace(analysis, lines=[*analysis.lines, importance_note]) if importance_note else analysis
    _trials_csv(info.trials).to_csv(paths["csv"], index=False)
    _fronts_csv(analysis).to_csv(paths["fronts"], index=False)
    extra = _analysis_markdown(analysis, importances) + _sensitivity_markdown(sensitivity or [])
    paths["md"].write_text(_markdown(info, title, meta, techniques, analysis.knee) + extra)
    paths["html"].write_text(_html(info, title, meta, sensitivity or [], analysis, importances, techniques))
    return paths


def supported_importances(
    importances: dict[str, dict[str, float]], *, completed: int
) -> tuple[dict[str, dict[str, float]], str]:
    """The importances enough trials support (at least :data:`TRIALS_PER_KNOB` completed trials per knob ranked),
    and a line saying how many more trials the others need ('' when all are shown).

    Example:
        >>> supported_importances({"fps": {"imgsz": 0.7, "quant.precision": 0.3}}, completed=16)[1][-29:]
        'this study has 16, so 4 more.'
    """
    shown = {m: v for m, v in importances.items() if v and completed >= TRIALS_PER_KNOB * len(v)}
    held = [len(v) for m, v in importances.items() if v and m not in shown]
    if not held:
        return shown, ""
    knobs = max(held)
    need = TRIALS_PER_KNOB * knobs
    which = "are not shown" if not shown else "are shown only where enough trials support them"
    return shown, (
        f"Parameter importances {which}: ranking {knobs} knobs needs at least {need} completed trials "
        f"({TRIALS_PER_KNOB} per knob); this study has {completed}, so {need - completed} more."
    )


def _fronts_csv(analysis: Analysis) -> pd.DataFrame:
    rows = [
        {"front": name, "trial": number, "group": analysis.groups.get(number), "knee": number == analysis.knee}
        for name, numbers in analysis.fronts.items()
        for number in numbers
    ]
    return pd.DataFrame(rows, columns=["front", "trial", "group", "knee"])


def _analysis_markdown(analysis: Analysis, importances: dict[str, dict[str, float]]) -> str:
    parts = ["", "## Analysis", "", *(f"- {line}" for line in analysis.lines)]
    ranked = {m: v for m, v in importances.items() if v}
    if ranked:
        parts += ["", "## Parameter importance (Optuna)", "", "| objective | most important knobs |", "|---|---|"]
        for metric, values in ranked.items():
            top = ", ".join(f"{k} {v:.2f}" for k, v in list(values.items())[:5])
            parts.append(f"| {metric} | {top} |")
    return "\n".join(parts) + "\n"


def _trials_csv(df: pd.DataFrame) -> pd.DataFrame:
    first = ["number", "state", *knob_columns(df), *metric_columns(df)]
    rest = [c for c in df.columns if c not in first]
    return df[[c for c in first if c in df.columns] + rest]


def _summary_lines(info: ReportInfo, meta: dict[str, Any]) -> list[str]:
    df = info.trials
    lines = [
        f"trials: {state_counts_line(df)}",
        f"Pareto front: {len(info.front)} trials over "
        + ", ".join(f"{m} ({'max' if d > 0 else 'min'})" for m, d in info.objectives),
    ]
    if info.budgets:
        lines.append(f"budgets: {', '.join(str(b) for b in info.budgets)}; feasible: {int(df['feasible'].sum())}")
    for key in ("model", "data", "storage", "study"):
        if key in meta:
            lines.append(f"{key}: {meta[key]}")
    lines += verification_lines(meta) or latency_host_lines(info.complete, meta)
    lines += [f"class names: {note}" for note in meta.get("class_names") or []]
    lines += [f"space for this model: {note}" for note in meta.get("space_notes") or []]
    lines += [note] if (note := state_note(df)) else []
    lines += time_lines(df, meta) + stopped_lines(df)
    failed = df[df["state"] == "FAIL"]
    for _, row in failed.iterrows():
        lines.append(f"trial {int(row['number'])} failed: {row.get('fail_reason')}")
    return lines


def verification_lines(meta: dict[str, Any]) -> list[str]:
    """What ``paretodet verify`` did, when it ran: where and how the front was re-timed, what it was scored on,
    and which trials entered or left the front."""
    verified = meta.get("verified")
    if not verified or meta.get("latency_from"):
        return []
    host, ref = verified.get("host") or {}, verified.get("reference") or {}
    before, after = verified.get("front_before") or [], verified.get("front_after") or []
    entered, left = sorted(set(after) - set(before)), sorted(set(before) - set(after))
    moved = "; ".join(
        part
        for part in (
            f"entered: {', '.join(map(str, entered))}" if entered else "",
            f"left: {', '.join(map(str, left))}" if left else "",
        )
        if part
    )
    which = f", trial {ref['trial']}" if ref.get("trial") is not None else ""
    lines = [
        f"verified front: latency and FPS re-timed in {verified.get('rounds')} interleaved rounds on "
        f"{host.get('host')} ({host.get('cpu')}, {host.get('threads')} threads) with the reference "
        f"(the original model, FP32, {ref.get('imgsz')} px{which}): median, "
        "[95% interval], and the ratio to the reference; trials it did not re-time are left off the front",
        f"front before verification: {', '.join(map(str, before)) or '-'}; after: {', '.join(map(str, after)) or '-'}"
        + (f" ({moved})" if moved else " (unchanged)"),
    ]
    if verified.get("full_split"):
        lines.append(
            f"trials were scored on a val subset; the verified ones on the whole split ({verified.get('images')} "
            "images): trials.csv keeps the subset figures as trial_map50_95"
        )
    return lines


def latency_host_lines(done: pd.DataFrame, meta: dict[str, Any]) -> list[str]:
    """Where the latencies shown were timed: the re-timing host of ``--latency-from``, the one search host,
    or a warning that trials timed on different hosts share one FPS axis."""
    if meta.get("latency_from"):
        host = meta.get("latency_host") or {}
        return [
            f"latency and FPS: re-timed by 'paretodet measure' as '{meta['latency_from']}' on {host.get('host')} "
            f"({host.get('cpu')}, {host.get('cores')} cores, {host.get('threads')} threads, "
            f"{host.get('runtime')} {host.get('runtime_version')}); trials it did not time are left off the front"
        ]
    hosts = timing_hosts(done)
    described = [
        f"{r['host']} ({r.get('cpu', '?')}, {r.get('threads', '?')} threads): {int(r['trials'])} trials"
        for _, r in hosts.iterrows()
    ]
    if len(hosts) == 1:
        return [f"latency timed on {described[0]}"]
    if len(hosts) > 1:
        return [
            f"WARNING: latency was timed on {len(hosts)} different hosts, and their FPS share one axis: "
            + "; ".join(described)
            + ". Re-time on one machine with 'paretodet measure WORKDIR --label NAME', then report --latency-from NAME"
        ]
    return []


def sensitivity_title(table: dict[str, Any]) -> str:
    """A sensitivity table's title: its model and input size when the table records them, its val subset and
    FP32 score."""
    where = []
    model = table.get("model") or (f"digest {str(table['model_digest'])[:12]}" if table.get("model_digest") else "")
    where.append(f"model {model}" if model else "model not recorded")
    where.append(f"{int(table['imgsz'])} px" if table.get("imgsz") else "input size not recorded")
    return (
        f"INT8 sensitivity per block: {', '.join(where)} (val subset of {table.get('val_images', '?')} images, "
        f"FP32 mAP50-95 {table.get('fp32_map50_95', float('nan')):.4f})"
    )


def _sensitivity_html(tables: list[dict[str, Any]]) -> str:
    out = []
    for table in tables:
        rows = "".join(f"<tr><td>{html.escape(b)}</td><td class='num'>{d:.4f}</td></tr>" for b, d in table["rows"])
        out.append(
            f"<h2>{html.escape(sensitivity_title(table))}</h2><table class='report sensitivity'>"
            f"<thead><tr><th>block</th><th>mAP50-95 drop</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    return "".join(out)


def _markdown(info: ReportInfo, title: str, meta: dict[str, Any], techniques: TechniqueTable, knee: int) -> str:
    parts = [f"# {title}", "", *(f"- {line}" for line in _summary_lines(info, meta)), ""]
    parts += [technique_table_markdown(techniques), "## Pareto front", ""]
    parts.append(front_markdown(info, meta=meta, knee=knee) if len(info.front) else "_no completed trial_")
    parts += ["", "All trials: trials.csv. Interactive figures: report.html.", ""]
    return "\n".join(parts)


def _sensitivity_markdown(tables: list[dict[str, Any]]) -> str:
    """INT8 sensitivity tables: mAP50-95 drop when only that block is INT8 (the head's decode never is)."""
    parts = []
    for table in tables:
        parts += [
            "",
            f"## {sensitivity_title(table)}",
            "",
            "| block | mAP50-95 drop |",
            "|---|---|",
        ]
        parts += [f"| {block} | {drop:.4f} |" for block, drop in table["rows"]]
    return "\n".join(parts) + ("\n" if parts else "")


def _html(
    info: ReportInfo,
    title: str,
    meta: dict[str, Any],
    sensitivity: list[dict[str, Any]],
    analysis: Analysis,
    importances: dict[str, dict[str, float]],
    techniques: TechniqueTable,
) -> str:
    figures = [*pareto_pair_figures(info, knee=analysis.knee), technique_fronts_figure(info, analysis)]
    if not info.complete.empty:
        figures += [front_3d_figure(info, analysis), hypervolume_figure(analysis), parallel_figure(info)]
    importance = importance_figure(importances)
    figures += [importance] if importance is not None else []
    blocks = []
    for i, fig in enumerate(figures):
        include = "inline" if i == 0 else False
        blocks.append(fig.to_html(full_html=False, include_plotlyjs=include, config={"displaylogo": False}))
    summary = "".join(f"<li>{html.escape(line)}</li>" for line in _summary_lines(info, meta))
    written = "".join(f"<li>{html.escape(line)}</li>" for line in analysis.lines)
    front = front_rows(info, meta=meta, knee=analysis.knee)
    front_html = front_table_html(front, budgets=bool(info.budgets)) if len(front) else "<p>No completed trial.</p>"
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:1400px;margin:auto;padding:1em}"
        f"{TABLE_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><ul>{summary}</ul>{technique_table_html(techniques)}"
        f"{front_html}<h2>Analysis</h2><ul>{written}</ul>"
        f"{''.join(blocks)}{_sensitivity_html(sensitivity)}{SORT_SCRIPT}"
        "</body></html>"
    )
