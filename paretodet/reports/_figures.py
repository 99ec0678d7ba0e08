"""Step 2 of a report: plotly figures from a :class:`ReportInfo`."""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import pandas as pd

from paretodet.reports._info import ReportInfo, display_frame, front_columns, knob_columns

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["AXIS_TITLES", "front_table_figure", "pareto_pair_figures"]

AXIS_TITLES = {
    "map50_95": "mAP50-95 (higher is better)",
    "fps": "FPS, model only (higher is better)",
    "size_bytes": "artifact size, bytes (lower is better)",
    "latency_ms": "latency ms (lower is better)",
}


def _hover(df: pd.DataFrame) -> list[str]:
    knobs = knob_columns(df)
    lines = []
    for _, row in df.iterrows():
        parts = [f"trial {int(row['number'])}"] + [f"{k}={row[k]}" for k in knobs]
        parts += [f"mAP50-95={row['map50_95']:.4f}", f"FPS={row['fps']:.1f}", f"size={row['size_bytes'] / 1e6:.2f} MB"]
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
            xaxis_title=AXIS_TITLES.get(x, x),
            yaxis_title=AXIS_TITLES.get(y, y),
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
