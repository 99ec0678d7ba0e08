"""A metric is declared once: one ``MetricSpec`` entry in ``METRICS`` puts it in the readable front, the
technique table, the hover texts, trials.csv, budgets, select and an export's README, with no other edit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from paretodet.errors import BudgetError
from paretodet.objectives import METRICS, MetricSpec
from paretodet.reports import Budget, build_info, select_best, selection_readme, write_report
from paretodet.reports._front_table import front_rows
from paretodet.reports._tables import front_table_html, front_table_markdown
from tests.reports.test_techniques import STUDY

TOY = MetricSpec(
    "toy_score",
    label="toy score",
    unit="pts",
    direction=1,
    fmt="{:.3f} pts",
    front=True,
    hover=True,
    technique_column=6,
)
# the study of the technique table tests, each completed trial scoring 0.3 + 0.05 * its number (the failed one: NaN)
TRIALS = STUDY.assign(
    toy_score=[0.3 + 0.05 * n if s == "COMPLETE" else float("nan") for n, s in STUDY[["number", "state"]].values]
)
META = {"model": "m.pt", "data": "d.yaml"}


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> MetricSpec:
    """``toy_score`` registered in METRICS, its one place, for one test (removed afterwards)."""
    monkeypatch.setitem(METRICS, TOY.name, TOY)
    return TOY


def _toy(number: int) -> float:
    return float(TRIALS.set_index("number").loc[number, "toy_score"])


def test_the_front_table_has_its_column(toy: MetricSpec) -> None:
    rows = front_rows(build_info(TRIALS), meta=META)
    assert rows["toy_score"].tolist() == pytest.approx([_toy(n) for n in rows["number"]])
    markdown = front_table_markdown(rows, budgets=False)
    header = markdown.splitlines()[0].split(" | ")
    assert header[header.index("size (MB)") + 1] == "toy score (pts)"  # after the other front metrics, unit in header
    first = markdown.splitlines()[2].split(" | ")
    assert first[header.index("toy score (pts)")] == f"{_toy(int(rows['number'].iloc[0])):.3f}"
    assert "<th>toy score (pts)</th>" in front_table_html(rows, budgets=False)


def test_the_report_shows_it_everywhere(toy: MetricSpec, tmp_path: Path) -> None:
    info = build_info(TRIALS, budgets=[Budget.parse("toy_score>=0.5")])
    paths = write_report(info, tmp_path, meta=META)
    report = paths["md"].read_text()
    assert "| technique | trial | size | latency | FPS | mAP50-95 | mAP50 | toy score | compared at |" in report
    original = (
        "| original model: 320 px · ONNX Runtime · unmodified | 0 | 12.00 MB | 10.00 ms | 100.0 | 0.7000 | 0.9000 |"
    )
    assert f"{original} {_toy(0):.3f} pts |" in report  # the toy column, with its unit
    assert "| toy score (pts) | within budgets |" in report
    assert "no: toy_score>=0.5" in report  # trial 0 scores 0.3: over the budget
    page = paths["html"].read_text()
    assert "<th>toy score (pts)</th>" in page and "<th>toy score</th>" in page
    assert f"toy score {_toy(14):.3f} pts" in page  # the hover text of trial 14
    trials = pd.read_csv(paths["csv"])
    columns = list(trials.columns)
    assert columns[columns.index("size_bytes") + 1] == "toy_score"  # in the metric block, in METRICS' order
    assert columns.index("toy_score") < columns.index("on_front")
    assert trials["toy_score"].tolist() == pytest.approx(TRIALS["toy_score"].tolist(), nan_ok=True)


def test_budgets_and_select_take_it(toy: MetricSpec) -> None:
    budget = Budget.parse("toy_score>=0.5")
    assert budget == Budget(metric="toy_score", op=">=", bound=0.5)
    info = build_info(TRIALS, budgets=[budget])
    done = info.complete
    assert done["feasible"].tolist() == (done["toy_score"] >= 0.5).tolist()
    chosen = select_best(TRIALS, [budget])  # the best mAP50-95 among trials 4..14
    assert chosen.best is not None and int(chosen.best["number"]) == 6 and chosen.feasible_count == 11
    assert chosen.metrics()["toy_score"] == pytest.approx(_toy(6))
    best_toy = select_best(TRIALS, [Budget.parse("size_mb<=4")], objective="toy_score")
    assert best_toy.best is not None and int(best_toy.best["number"]) == 14
    readme = selection_readme(chosen, meta=META)
    assert f"| toy score | {_toy(6):.3f} pts |" in readme


def test_unregistered_it_is_unknown_again() -> None:
    assert "toy_score" not in METRICS  # the fixture put it back
    with pytest.raises(BudgetError, match="unknown budget metric 'toy_score'"):
        Budget.parse("toy_score>=0.5")
    with pytest.raises(BudgetError, match="unknown objective 'toy_score'"):
        select_best(TRIALS, [], objective="toy_score")
