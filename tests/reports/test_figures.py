"""Plots that show the techniques: each 2D projection draws its own non-dominated set, points are coloured by
technique combination and shaped by precision, budgets on an axis are shaded, the knee is marked."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paretodet.reports import Budget, build_info, pareto_mask
from paretodet.reports._analysis import analyze
from paretodet.reports._figures import COMBO_COLOURS, PRECISION_SYMBOLS, pareto_pair_figures, staircase_shape
from paretodet.reports._figures_more import technique_fronts_figure
from paretodet.reports._info import projection_mask
from tests.reports.test_techniques import STUDY


def test_projection_mask_is_the_front_of_those_two_columns_only() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 2.0, 0.5, np.nan], "b": [0.5, 1.0, 1.0, 3.0, 9.0], "c": [0, 0, 0, 9, 0]})
    # max a, min b: (0.5, 3) is beaten by every other row; the duplicates are both kept; NaN never
    assert projection_mask(df, [("a", 1), ("b", -1)]).tolist() == [True, True, True, False, False]
    assert projection_mask(df.iloc[:1], [("a", 1), ("b", 1)]).tolist() == [True]
    assert projection_mask(df.iloc[:0], [("a", 1), ("b", 1)]).tolist() == []
    # the 3-objective front is not the 2D one: row 3 is on the front over (a, b, c) only thanks to c
    assert pareto_mask(df[["a", "b", "c"]].to_numpy(float), [1, -1, 1]).tolist()[3]


def _points(fig, role: str) -> list[np.ndarray]:
    return [
        np.column_stack([np.asarray(t.x, float), np.asarray(t.y, float)])
        for t in fig.data
        if t.meta and t.meta["role"] == role
    ]


def test_each_projection_draws_its_own_non_dominated_set() -> None:
    info = build_info(STUDY, budgets=[Budget.parse("size_mb<=4")])
    figures = pareto_pair_figures(info, knee=analyze(info).knee)
    assert len(figures) == 3
    for fig in figures:
        directions = fig.layout.meta["directions"]
        everything = np.vstack(_points(fig, "points"))
        (front,) = _points(fig, "front")
        assert len(everything) == (STUDY["state"] == "COMPLETE").sum()
        expected = everything[pareto_mask(everything, directions)]
        assert sorted(map(tuple, front)) == sorted(map(tuple, expected))  # all of it, and nothing else
        for point in front:  # no plotted point dominates a front point
            signed = (everything - point) * np.asarray(directions)
            assert not ((signed >= 0).all(axis=1) & (signed > 0).any(axis=1)).any()
        shape = next(t for t in fig.data if t.meta and t.meta["role"] == "front").line.shape
        assert shape == staircase_shape(directions[0])


def test_points_show_technique_combination_precision_budget_and_knee() -> None:
    info = build_info(STUDY, budgets=[Budget.parse("size_mb<=4")])
    knee = analyze(info).knee
    fig = next(
        f for f in pareto_pair_figures(info, knee=knee) if f.layout.meta["projection"] == ["size_bytes", "map50_95"]
    )
    traces = {t.name: t for t in fig.data if t.meta and t.meta["role"] == "points"}
    assert set(traces) == {"baseline", "quantization", "pruning", "distillation", "quantization + pruning"}
    assert traces["pruning"].marker.color == COMBO_COLOURS["pruning"]
    assert set(traces["quantization"].marker.symbol) >= {"square-open", PRECISION_SYMBOLS["int8"]}  # FP16 6 MB: over
    assert "320 px · ONNX Runtime · FP16" in " ".join(traces["quantization"].text)
    legend = [t.name for t in fig.data if t.meta and t.meta["role"] == "legend"]
    assert legend == ["FP32 (circle)", "FP16 (square)", "INT8 (diamond)"]
    (shade,) = fig.layout.shapes  # the infeasible side of size_mb<=4, in MB as the axis is
    assert shade.x0 == 4 and shade.x1 > 12
    (star,) = [t for t in fig.data if t.meta and t.meta["role"] == "knee"]
    stored = STUDY.set_index("number").loc[knee]
    assert (star.x[0], star.y[0]) == (stored["size_bytes"] * 1e-6, stored["map50_95"])
    assert fig.layout.xaxis.title.text.startswith("artifact size, MB")


def test_lower_bound_budgets_shade_below() -> None:
    info = build_info(STUDY, budgets=[Budget.parse("fps>=150"), Budget.parse("latency_ms<=5")])
    fig = next(f for f in pareto_pair_figures(info) if f.layout.meta["projection"] == ["fps", "map50_95"])
    (shade,) = fig.layout.shapes  # latency is on no axis here
    assert shade.x1 == 150 and shade.x0 < 50


def test_technique_fronts_are_fronts_over_their_two_axes() -> None:
    info = build_info(STUDY)
    fig = technique_fronts_figure(info, analyze(info))
    directions = fig.layout.meta["directions"]
    all_front = next(t for t in fig.data if t.meta["role"] == "front")
    done = STUDY[STUDY["state"] == "COMPLETE"]
    values = done[["latency_ms", "map50_95"]].to_numpy(float)
    assert sorted(zip(all_front.x, all_front.y)) == sorted(map(tuple, values[pareto_mask(values, directions)]))
    for trace in fig.data:
        if trace.meta["role"] == "group-front":
            points = np.column_stack([trace.x, trace.y]).astype(float)
            assert pareto_mask(points, directions).all(), trace.name
