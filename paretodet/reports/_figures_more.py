"""Step 2 of a report, the deeper figures: 3D front, hypervolume history, parallel coordinates, the front of
each technique alone against all trials, and parameter importances."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from paretodet.objectives import METRICS
from paretodet.reports._analysis import COMBOS, SINGLE_GROUPS, Analysis, technique_combo
from paretodet.reports._figures import (
    COMBO_COLOURS,
    OTHER_COLOUR,
    _hover,
    axis_scale,
    axis_title,
    staircase_shape,
    symbols,
)
from paretodet.reports._info import ReportInfo, knob_columns, projection_mask

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "front_3d_figure",
    "hypervolume_figure",
    "importance_figure",
    "parallel_figure",
    "technique_fronts_figure",
]


def front_3d_figure(info: ReportInfo, analysis: Analysis) -> go.Figure:
    """All completed trials in the space of the three objectives, coloured by technique combination, shaped
    by precision, the front larger."""
    import plotly.graph_objects as go

    done = info.complete
    (x, _), (y, _), (z, _) = info.objectives[:3]
    combos = np.array([technique_combo(r) for _, r in done.iterrows()], dtype=object)
    fig = go.Figure()
    for combo in [c for c in COMBOS if c in set(combos)] + sorted(set(combos) - set(COMBOS)):
        part = done[combos == combo]
        fig.add_trace(
            go.Scatter3d(
                x=part[x],
                y=part[y],
                z=part[z],
                mode="markers",
                name=combo,
                text=_hover(part),
                hoverinfo="text",
                marker={
                    "size": np.where(part["on_front"], 9, 4),
                    "symbol": symbols(part),
                    "color": COMBO_COLOURS.get(combo, OTHER_COLOUR),
                    "opacity": 0.85,
                },
            )
        )
    fig.update_layout(
        title="All trials in 3D, coloured by techniques used (front points are larger; symbol: precision)",
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
    """mAP50-95 against ``x``: the 2D front (over these two axes) of each technique alone (with the unmodified
    trials) and of all trials together, as staircases."""
    import plotly.graph_objects as go

    direction = METRICS[x].direction if x in METRICS else -1
    axes = [(x, direction), ("map50_95", 1)]
    done = info.complete.dropna(subset=[x, "map50_95"]) if x in info.complete else info.complete.iloc[:0]
    group = np.array([analysis.groups.get(int(n), "") for n in done["number"]], dtype=object)
    _, fx = axis_scale(x)
    fig = go.Figure()
    lines = [
        (name, COMBO_COLOURS.get(name, OTHER_COLOUR), "dot", np.isin(group, ["baseline", name]))
        for name in SINGLE_GROUPS
    ]
    for name, colour, dash, members in [*lines, ("all", "#111111", "solid", np.ones(len(done), dtype=bool))]:
        part = done[members]
        if part.empty or not (name == "all" or (group[members] == name).any()):
            continue
        part = part[projection_mask(part, axes)].sort_values([x, "map50_95"])
        label = "all techniques together" if name == "all" else f"{name} alone (with unmodified trials)"
        fig.add_trace(
            go.Scatter(
                x=part[x] * fx,
                y=part["map50_95"],
                mode="lines+markers",
                name=label,
                text=_hover(part),
                hoverinfo="text",
                line={"color": colour, "dash": dash, "shape": staircase_shape(direction)},
                marker={"symbol": symbols(part), "size": 9},
                meta={"role": "front" if name == "all" else "group-front", "directions": [direction, 1]},
            )
        )
    if analysis.knee >= 0 and analysis.knee in set(done["number"].astype(int)):
        knee = done[done["number"].astype(int) == analysis.knee]
        fig.add_trace(
            go.Scatter(
                x=knee[x] * fx,
                y=knee["map50_95"],
                mode="markers",
                name=f"recommended (trial {analysis.knee})",
                text=_hover(knee),
                hoverinfo="text",
                marker={"symbol": "star", "size": 16, "color": "#ff7f0e"},
                meta={"role": "knee"},
            )
        )
    fig.update_layout(
        title="Front of each technique alone vs all techniques together (fronts over these two axes)",
        xaxis_title=axis_title(x, info.complete),
        yaxis_title=METRICS["map50_95"].title,
        template="plotly_white",
        height=460,
        meta={"projection": [x, "map50_95"], "directions": [direction, 1]},
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
