"""Step 2 of a report: plotly figures from a :class:`ReportInfo`.

Every point is coloured by its technique combination and shaped by its precision; each 2D projection draws
its own non-dominated set (:func:`~paretodet.reports._info.projection_mask`), budgets on its axes as shaded
infeasible regions, and the knee. Traces carry ``meta={"role": ...}`` (``points``, ``front``, ``knee``,
``legend``) so a test can read them back from the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from paretodet.objectives import METRICS, format_metric
from paretodet.reports._analysis import COMBOS, technique_combo
from paretodet.reports._budget import Budget
from paretodet.reports._describe import config_summary
from paretodet.reports._info import ReportInfo, projection_mask, timing_hosts

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "AXIS_TITLES",
    "COMBO_COLOURS",
    "HOVER_METRICS",
    "PRECISION_SYMBOLS",
    "axis_scale",
    "pareto_pair_figures",
    "staircase_shape",
]

# at import; the figures read METRICS when drawn
AXIS_TITLES: dict[str, str] = {name: spec.title for name, spec in METRICS.items()}
HOVER_METRICS: tuple[str, ...] = METRICS.where(lambda m: m.hover)  # shown with every trial's config
COMBO_COLOURS: dict[str, str] = dict(
    zip(COMBOS, ("#7f7f7f", "#1f77b4", "#2ca02c", "#9467bd", "#17becf", "#e377c2", "#bcbd22", "#d62728"))
)
OTHER_COLOUR = "#8c564b"  # a combination without a colour here
PRECISION_SYMBOLS: dict[str, str] = {"fp32": "circle", "fp16": "square", "int8": "diamond"}
INFEASIBLE_SHADE = "rgba(214, 69, 69, 0.10)"


def axis_title(metric: str, done: pd.DataFrame) -> str:
    """A metric's axis title (in the unit it is plotted in); a latency axis whose trials were timed on several
    hosts says so."""
    shown, _ = axis_scale(metric)
    title = METRICS[shown].title if shown in METRICS else shown
    hosts = len(timing_hosts(done))
    if metric in METRICS and METRICS[metric].timed and hosts > 1:
        title += f" - MIXED: timed on {hosts} different hosts"
    return title


def axis_scale(metric: str) -> tuple[str, float]:
    """The metric an axis shows for ``metric`` and the factor to it: size_bytes is plotted as size_mb.

    Example:
        >>> axis_scale("size_bytes")
        ('size_mb', 1e-06)
    """
    for name, spec in METRICS.items():
        if spec.derived and spec.derived[0] == metric:
            return name, spec.derived[1]
    return metric, 1.0


def _hover(df: pd.DataFrame) -> list[str]:
    """Per row: trial number and technique combination, the config summary, the metrics flagged ``hover``."""
    metrics = [m for m in METRICS.where(lambda m: m.hover) if m in df.columns]
    lines = []
    for _, row in df.iterrows():
        parts = [f"trial {int(row['number'])} ({technique_combo(row)})", config_summary(row)]
        parts.append(
            " · ".join(f"{METRICS[m].brief} {format_metric(m, row[m])}{_interval_text(row, m)}" for m in metrics)
        )
        lines.append("<br>".join(parts))
    return lines


def _interval_text(row: pd.Series, metric: str) -> str:
    """`` [low, high]`` of ``metric``'s 95% interval on ``row`` ('' where it has none)."""
    bounds = METRICS[metric].interval
    if bounds is None or not all(c in row for c in bounds):
        return ""
    low, high = (row[c] for c in bounds)
    try:
        if np.isfinite(float(low)) and np.isfinite(float(high)):
            return f" [{format_metric(metric, float(low))}, {format_metric(metric, float(high))}]"
    except (TypeError, ValueError):
        pass
    return ""


def symbols(df: pd.DataFrame, *, open_mask: np.ndarray | None = None) -> list[str]:
    """Marker symbol per row: its precision's (:data:`PRECISION_SYMBOLS`), ``-open`` where ``open_mask``."""
    precision = df["quant.precision"] if "quant.precision" in df else pd.Series(["fp32"] * len(df), index=df.index)
    out = [PRECISION_SYMBOLS.get(str(p), "circle") if isinstance(p, str) else "circle" for p in precision]
    if open_mask is not None:
        out = [s + "-open" if o else s for s, o in zip(out, open_mask)]
    return out


def staircase_shape(x_direction: int) -> str:
    """The plotly line shape that draws a 2D front's attainment boundary, points sorted by x: along x first
    when smaller x is better (``hv``), along y first when larger x is better (``vh``)."""
    return "hv" if x_direction < 0 else "vh"


def _axes(objectives: Sequence[tuple[str, int]]) -> list[tuple[tuple[str, int], tuple[str, int]]]:
    """Objective pairs as (x, y), mAP on the y axis when the pair has it."""
    pairs = []
    for a, b in combinations(objectives, 2):
        pairs.append((b, a) if a[0].startswith("map") else (a, b))
    return pairs


def _budget_bound(budget: Budget, metric: str) -> float | None:
    """``budget``'s bound in the units ``metric``'s axis shows, or None when it is about another metric."""
    shown, factor = axis_scale(metric)
    if budget.metric == shown:
        return budget.bound
    if budget.metric == metric:
        return budget.bound * factor
    return None


def _shade_budgets(fig: go.Figure, budgets: Sequence[Budget], x: str, y: str, xs: np.ndarray, ys: np.ndarray) -> None:
    """Shade the infeasible side of each budget on an axis metric."""
    for axis, metric, values in (("x", x, xs), ("y", y, ys)):
        finite = values[np.isfinite(values)]
        for budget in budgets:
            bound = _budget_bound(budget, metric)
            if bound is None:
                continue
            lo, hi = (min(finite.min(), bound), max(finite.max(), bound)) if len(finite) else (bound, bound)
            pad = 0.08 * (hi - lo) or 0.1 * abs(bound) or 1.0
            start, end = (bound, hi + pad) if budget.op in ("<=", "<") else (lo - pad, bound)
            shape: dict[str, Any] = {
                "fillcolor": INFEASIBLE_SHADE,
                "line_width": 0,
                "layer": "below",
                "annotation_text": f"over budget {budget}",
                "annotation_font_color": "#c0392b",
            }
            if axis == "x":
                fig.add_vrect(x0=start, x1=end, annotation_position="top left", **shape)
            else:
                fig.add_hrect(y0=start, y1=end, annotation_position="bottom right", **shape)


def _legend_symbols(fig: go.Figure, precisions: Sequence[str]) -> None:
    import plotly.graph_objects as go

    for precision in precisions:
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=f"{precision.upper()} ({PRECISION_SYMBOLS.get(precision, 'circle')})",
                legendgroup="precision",
                legendgrouptitle_text="precision",
                marker={"symbol": PRECISION_SYMBOLS.get(precision, "circle"), "color": "#444", "size": 9},
                meta={"role": "legend"},
            )
        )


# a stopped trial's figures: its last rung mAP (on the rung images), its untrained twin's FPS and size
STOPPED_COLUMNS = {"map50_95": "rung_map50_95", "fps": "twin_fps", "size_bytes": "twin_size_bytes"}


def _add_stopped(fig: go.Figure, trials: pd.DataFrame, *, x: tuple[str, float], y: tuple[str, float]) -> None:
    """The trials early stopping stopped, as grey crosses at what was known when they stopped (where both axes
    have a figure: a trial stopped before training has no mAP)."""
    import plotly.graph_objects as go

    (xm, fx), (ym, fy) = x, y
    if "stop_kind" not in trials or xm not in STOPPED_COLUMNS or ym not in STOPPED_COLUMNS:
        return
    xc, yc = STOPPED_COLUMNS[xm], STOPPED_COLUMNS[ym]
    stopped = trials[trials["stop_kind"].isin(["rung", "bound"])]
    stopped = stopped[stopped[xc].notna() & stopped[yc].notna()] if xc in stopped and yc in stopped else stopped[:0]
    if not len(stopped):
        return
    fig.add_trace(
        go.Scatter(
            x=stopped[xc].astype(float) * fx,
            y=stopped[yc].astype(float) * fy,
            mode="markers",
            name=f"stopped early ({len(stopped)})",
            text=[f"trial {int(r['number'])} {r['stop_reason']}" for _, r in stopped.iterrows()],
            hoverinfo="text",
            marker={"symbol": "x-thin-open", "size": 11, "color": "#888", "line": {"width": 2, "color": "#888"}},
            meta={"role": "stopped"},
        )
    )


def pareto_pair_figures(info: ReportInfo, *, knee: int = -1) -> list[go.Figure]:
    """One scatter per objective pair: every completed trial coloured by technique combination and shaped by
    precision (open: over budget), that projection's own front as a staircase, budgets shaded, the knee."""
    import plotly.graph_objects as go

    done = info.complete.dropna(subset=[c for c, _ in info.objectives])
    combos = np.array([technique_combo(r) for _, r in done.iterrows()], dtype=object)
    figures = []
    for (x, dx), (y, dy) in _axes(info.objectives):
        (x_shown, fx), (y_shown, fy) = axis_scale(x), axis_scale(y)
        fig = go.Figure()
        for combo in [c for c in COMBOS if c in set(combos)] + sorted(set(combos) - set(COMBOS)):
            part = done[combos == combo].sort_values(
                "feasible", ascending=False, kind="stable"
            )  # the legend shows the first
            fig.add_trace(
                go.Scatter(
                    x=part[x] * fx,
                    y=part[y] * fy,
                    mode="markers",
                    name=combo,
                    legendgroup="technique",
                    legendgrouptitle_text="techniques used",
                    text=_hover(part),
                    hoverinfo="text",
                    marker={
                        "symbol": symbols(part, open_mask=~part["feasible"].to_numpy(dtype=bool)),
                        "color": COMBO_COLOURS.get(combo, OTHER_COLOUR),
                        "size": 10,
                        "line": {"width": 1, "color": COMBO_COLOURS.get(combo, OTHER_COLOUR)},
                    },
                    meta={"role": "points"},
                )
            )
        _add_stopped(fig, info.trials, x=(x, fx), y=(y, fy))
        front = done[projection_mask(done, [(x, dx), (y, dy)])].sort_values([x, y])
        if len(front):
            fig.add_trace(
                go.Scatter(
                    x=front[x] * fx,
                    y=front[y] * fy,
                    mode="lines+markers",
                    name=f"front of this projection ({len(front)})",
                    line={"color": "#111", "width": 1.5, "shape": staircase_shape(dx)},
                    marker={"symbol": "circle-open", "size": 17, "color": "#111", "line": {"width": 1.5}},
                    hoverinfo="skip",
                    meta={"role": "front", "directions": [dx, dy], "trials": front["number"].astype(int).tolist()},
                )
            )
        if knee in set(done["number"].astype(int)):
            row = done[done["number"].astype(int) == knee]
            fig.add_trace(
                go.Scatter(
                    x=row[x] * fx,
                    y=row[y] * fy,
                    mode="markers",
                    name=f"recommended (trial {knee})",
                    text=_hover(row),
                    hoverinfo="text",
                    marker={"symbol": "star", "size": 18, "color": "#ff7f0e", "line": {"width": 1, "color": "#333"}},
                    meta={"role": "knee"},
                )
            )
        present = set(symbols(done))
        _legend_symbols(fig, [p for p, s in PRECISION_SYMBOLS.items() if s in present])
        _shade_budgets(fig, info.budgets, x, y, done[x].to_numpy(float) * fx, done[y].to_numpy(float) * fy)
        fig.update_layout(
            title=f"{METRICS[y_shown].label if y_shown in METRICS else y} vs "
            f"{METRICS[x_shown].label if x_shown in METRICS else x}: this projection's own front (staircase); "
            "open markers are over budget",
            xaxis_title=axis_title(x, done),
            yaxis_title=axis_title(y, done),
            template="plotly_white",
            height=480,
            legend={"groupclick": "toggleitem"},
            meta={"projection": [x, y], "directions": [dx, dy]},
        )
        figures.append(fig)
    return figures
