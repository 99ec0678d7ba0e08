"""Step 2 of a report, the deeper figures: 3D front, hypervolume history, parallel coordinates, the front of
each technique alone against all trials, and parameter importances."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from paretodet.reports._analysis import GROUPS, SINGLE_GROUPS, Analysis
from paretodet.reports._figures import AXIS_TITLES, _hover, axis_title
from paretodet.reports._info import ReportInfo, knob_columns

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "front_3d_figure",
    "hypervolume_figure",
    "importance_figure",
    "parallel_figure",
    "technique_fronts_figure",
]

GROUP_COLOURS = {  # by technique group (paretodet.reports._analysis.GROUPS)
    "baseline": "#7f7f7f",
    "quantization": "#1f77b4",
    "pruning": "#2ca02c",
    "distillation": "#9467bd",
    "combined": "#d62728",
}
_OTHER_COLOUR = "#17becf"  # a group added without a colour here


def front_3d_figure(info: ReportInfo, analysis: Analysis) -> go.Figure:
    """All completed trials in the space of the three objectives, coloured by technique, the front larger."""
    import plotly.graph_objects as go

    done = info.complete
    (x, _), (y, _), (z, _) = info.objectives[:3]
    fig = go.Figure()
    for group in GROUPS:
        part = done[[analysis.groups.get(int(n)) == group for n in done["number"]]]
        if part.empty:
            continue
        size = np.where(part["on_front"], 9, 4)
        fig.add_trace(
            go.Scatter3d(
                x=part[x],
                y=part[y],
                z=part[z],
                mode="markers",
                name=group,
                text=_hover(part),
                hoverinfo="text",
                marker={"size": size, "color": GROUP_COLOURS.get(group, _OTHER_COLOUR), "opacity": 0.85},
            )
        )
    fig.update_layout(
        title="All trials in 3D (front points are larger)",
        scene={"xaxis_title": x, "yaxis_title": y, "zaxis_title": z},
        template="plotly_white",
        height=560,
    )
    return fig


def hypervolume_figure(analysis: Analysis) -> go.Figure:
    """Hypervolume of the completed trials so far, by trial number (normalized objectives)."""
    import plotly.graph_objects as go

    numbers = [n for n, _ in analysis.history]
    volumes = [v for _, v in analysis.history]
    fig = go.Figure(go.Scatter(x=numbers, y=volumes, mode="lines+markers", name="hypervolume"))
    fig.update_layout(
        title="Hypervolume over trials (objectives scaled to [0, 1], reference 10% beyond the worst)",
        xaxis_title="trial number",
        yaxis_title="hypervolume",
        template="plotly_white",
        height=380,
    )
    return fig


def parallel_figure(info: ReportInfo) -> go.Figure:
    """Parallel coordinates over the knobs that vary and the objectives, coloured by mAP50-95."""
    import plotly.graph_objects as go

    done = info.complete
    dims = []
    for column in [*knob_columns(done), *(c for c, _ in info.objectives)]:
        series = done[column]
        if series.nunique(dropna=False) <= 1:
            continue
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            dims.append({"label": column, "values": series.astype(float).fillna(-1.0)})
        else:
            labels = sorted(series.astype(str).unique())
            codes = series.astype(str).map({v: i for i, v in enumerate(labels)})
            dims.append({"label": column, "values": codes, "tickvals": list(range(len(labels))), "ticktext": labels})
    fig = go.Figure(
        go.Parcoords(
            line={"color": done["map50_95"], "colorscale": "Viridis", "showscale": True, "colorbar": {"title": "mAP"}},
            dimensions=dims,
        )
    )
    fig.update_layout(title="Parallel coordinates: knobs and objectives of every completed trial", height=520)
    return fig


def technique_fronts_figure(info: ReportInfo, analysis: Analysis, *, x: str = "latency_ms") -> go.Figure:
    """mAP50-95 against ``x`` for the front of each technique alone and the front of all trials."""
    import plotly.graph_objects as go

    done = info.complete.set_index(info.complete["number"].astype(int))
    fig = go.Figure()
    lines = [(name, GROUP_COLOURS.get(name, _OTHER_COLOUR), "dot") for name in SINGLE_GROUPS]
    for name, colour, dash in [*lines, ("all", "#111111", "solid")]:
        numbers = analysis.fronts.get(name, [])
        if not numbers:
            continue
        part = done.loc[numbers].sort_values(x)
        label = "all techniques (combined front)" if name == "all" else f"{name} alone"
        fig.add_trace(
            go.Scatter(
                x=part[x],
                y=part["map50_95"],
                mode="lines+markers",
                name=label,
                text=_hover(part.reset_index(drop=True)),
                hoverinfo="text",
                line={"color": colour, "dash": dash, "shape": "hv"},
            )
        )
    if analysis.knee >= 0:
        knee = done.loc[analysis.knee]
        fig.add_trace(
            go.Scatter(
                x=[knee[x]],
                y=[knee["map50_95"]],
                mode="markers",
                name=f"knee (trial {analysis.knee})",
                marker={"symbol": "star", "size": 16, "color": "#ff7f0e"},
            )
        )
    fig.update_layout(
        title="Front of each technique alone vs all techniques together (3-objective fronts, shown in 2D)",
        xaxis_title=axis_title(x, info.complete),
        yaxis_title=AXIS_TITLES["map50_95"],
        template="plotly_white",
        height=460,
    )
    return fig


def importance_figure(importances: dict[str, dict[str, float]]) -> go.Figure | None:
    """Optuna's parameter importance per objective (None when nothing could be ranked)."""
    import plotly.graph_objects as go

    ranked = {metric: values for metric, values in importances.items() if values}
    if not ranked:
        return None
    fig = go.Figure()
    for metric, values in ranked.items():
        names = list(values)[::-1]
        fig.add_trace(go.Bar(x=[values[n] for n in names], y=names, orientation="h", name=metric))
    fig.update_layout(
        title="Parameter importance per objective (Optuna; knobs sampled in every trial)",
        barmode="group",
        template="plotly_white",
        height=180 + 40 * max(len(v) for v in ranked.values()),
    )
    return fig
