"""Step 2 of a report: plotly figures from a :class:`ReportInfo`."""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import pandas as pd

from paretodet.objectives import METRICS, format_metric
from paretodet.reports._info import (
    TIMED_METRICS,
    ReportInfo,
    display_frame,
    front_columns,
    knob_columns,
    timing_hosts,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["AXIS_TITLES", "HOVER_METRICS", "front_table_figure", "pareto_pair_figures"]

AXIS_TITLES: dict[str, str] = {name: spec.title for name, spec in METRICS.items()}
HOVER_METRICS: tuple[str, ...] = ("map50_95", "fps", "size_bytes")  # shown with every trial's knobs


def axis_title(metric: str, done: pd.DataFrame) -> str:
    """A metric's axis title; a latency axis whose trials were timed on several hosts says so."""
    title = AXIS_TITLES.get(metric, metric)
    hosts = len(timing_hosts(done))
    if metric in TIMED_METRICS and hosts > 1:
        title += f" - MIXED: timed on {hosts} different hosts"
    return title


def _hover(df: pd.DataFrame) -> list[str]:
    knobs = knob_columns(df)
    metrics = [m for m in HOVER_METRICS if m in df.columns]
    lines = []
    for _, row in df.iterrows():
        parts = [f"trial {int(row['number'])}"] + [f"{k}={row[k]}" for k in knobs]
        parts += [f"{METRICS[m].short or METRICS[m].label}={format_metric(m, row[m])}" for m in metrics]
        lines.append("<br>".join(parts))
    return lines


def pareto_pair_figures(info: ReportInfo) -> list[go.Figure]:
    """One scatter per objective pair: all completed trials, the front highlighted, infeasible ones crossed."""
    import plotly.graph_objects as go

    done = info.complete
    figures = []
    for (x, _dx), (y, _dy) in combinations(info.objectives, 2):
        fig = go.Figure()
        groups = (
            ("dominated", done[~done["on_front"] & done["feasible"]], "circle", "#9aa5b1", 8),
            ("infeasible (over budget)", done[~done["feasible"]], "x", "#d64545", 8),
            ("Pareto front", done[done["on_front"] & done["feasible"]], "diamond", "#1f77b4", 12),
        )
        for name, part, symbol, colour, size in groups:
            if part.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=part[x],
                    y=part[y],
                    mode="markers",
                    name=name,
                    text=_hover(part),
                    hoverinfo="text",
                    marker={"symbol": symbol, "color": colour, "size": size},
                )
            )
        front = done[done["on_front"]].sort_values(x)
        if len(front) > 1:
            fig.add_trace(
                go.Scatter(
                    x=front[x],
                    y=front[y],
                    mode="lines",
                    name="front (all objectives)",
                    line={"color": "#1f77b4", "dash": "dot", "width": 1},
                    hoverinfo="skip",
                )
            )
        fig.update_layout(
            title=f"{y} vs {x}",
            xaxis_title=axis_title(x, done),
            yaxis_title=axis_title(y, done),
            template="plotly_white",
            height=440,
            legend={"orientation": "h", "y": -0.2},
        )
        figures.append(fig)
    return figures


def front_table_figure(info: ReportInfo) -> go.Figure:
    """The Pareto front as a table figure."""
    import plotly.graph_objects as go

    front = display_frame(info.front)
    columns = front_columns(front)
    cells = [front[c].map(lambda v: f"{v:.4g}" if isinstance(v, float) else v) for c in columns]
    fig = go.Figure(go.Table(header={"values": columns, "fill_color": "#dbe4ee"}, cells={"values": cells}))
    fig.update_layout(title="Pareto front", height=120 + 28 * max(1, len(front)))
    return fig
