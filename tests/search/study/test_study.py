from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from paretodet.errors import StudyError
from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.reports import Budget, build_info, select_best, write_report
from paretodet.search import SearchConfig, load_trials, run_study
from paretodet.spaces import Knob, SearchSpace

FAST = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))
SMALL = SearchSpace(knobs=(Knob("imgsz", choices=(64, 96)), Knob("quant.precision", choices=("fp32", "fp16"))))


def _config(tiny_model: Path, tiny_data: Path, workdir: Path, **kw) -> SearchConfig:
    return SearchConfig(
        model=str(tiny_model), data=tiny_data, workdir=workdir, evaluation=FAST, **{"trials": 3, "space": SMALL, **kw}
    )


def test_study_records_trials_and_resumes(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    events = []
    summary = run_study(
        _config(tiny_model, tiny_data, tmp_path, budgets=(Budget.parse("size_mb<=3.5"),)), on_trial=events.append
    )
    assert summary.completed == 3 and summary.failed == 0 and 1 <= summary.front_size <= 3
    built = [e for e in events if e.state != "PRUNED"]  # PRUNED: a duplicate sample (of a probe), sampled again
    assert [e.done for e in built] == [1, 2, 3] and events[-1].total == 3
    assert all(e.duplicate_of is not None for e in events if e.state == "PRUNED")
    study = optuna.load_study(study_name="paretodet", storage=f"sqlite:///{tmp_path / 'study.db'}")
    first = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    assert first[0].user_attrs["probe"] == "original"  # the reference probe came first
    for t in first:
        assert set(t.user_attrs) >= {"candidate", "metrics", "artifact", "environment", "cache_hits", "seed"}
        assert Path(t.user_attrs["artifact"]["path"]).is_file()
        assert t.values[0] == t.user_attrs["metrics"]["map50_95"]
        assert t.values[2] == Path(t.user_attrs["artifact"]["path"]).stat().st_size
        assert "size_mb<=3.5" in "".join(t.constraints)  # budgets become Optuna constraints
    # re-running with a higher target continues the same study; nothing is lost
    summary = run_study(_config(tiny_model, tiny_data, tmp_path, trials=6))
    assert summary.completed == 6
    again = study.get_trials()
    assert [t.values for t in again if t.state.name == "COMPLETE"][:3] == [t.values for t in first]
    # only 4 distinct configs exist: each is measured once, re-samples are PRUNED, and once the space is
    # exhausted a duplicate is recorded COMPLETE with its original's stored result (nothing measured again)
    done = [t for t in again if t.state.name == "COMPLETE"]
    measured = [t for t in done if "duplicate_of" not in t.user_attrs]
    assert len(measured) == 4 and len({t.user_attrs["config_key"] for t in measured}) == 4
    reused = [t for t in done if "duplicate_of" in t.user_attrs]
    assert len(reused) == 2 and summary.duplicates >= 2
    by_number = {t.number: t for t in again}
    for t in reused:
        original = by_number[t.user_attrs["duplicate_of"]]
        assert t.values == original.values and t.user_attrs["config_key"] == original.user_attrs["config_key"]
    pruned = [t for t in again if t.state.name == "PRUNED"]
    assert pruned and all("duplicate_of" in t.user_attrs for t in pruned)


def test_failing_trial_is_recorded_and_study_goes_on(
    tiny_model: Path, tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import paretodet.search.pipeline._pipeline as pipeline

    real_export = pipeline.export_artifact
    calls = []

    def flaky_export(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("exporter crashed")
        return real_export(*args, **kwargs)

    monkeypatch.setattr(pipeline, "export_artifact", flaky_export)
    summary = run_study(_config(tiny_model, tiny_data, tmp_path, trials=2))
    df, _ = load_trials(tmp_path)
    assert summary.failed == 1 and summary.completed == 1
    assert df.loc[df["state"] == "FAIL", "fail_reason"].tolist() == ["RuntimeError: exporter crashed"]


def test_report_and_select_from_study(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    run_study(_config(tiny_model, tiny_data, tmp_path, trials=4, sampler="random"))
    df, manifest = load_trials(tmp_path)
    info = build_info(df, budgets=[Budget.parse("size_mb<=3")])
    paths = write_report(info, tmp_path / "report", meta=manifest)
    html = paths["html"].read_text()
    assert "Pareto front" in html and "Plotly.newPlot" in html
    assert "<script src=" not in html and len(html) > 1_000_000  # plotly.js inlined: opens offline
    csv = paths["csv"].read_text().splitlines()
    assert csv[0].startswith(
        "number,state,imgsz,runtime,precision_hint,quant.precision,quant.engine,quant.max_drop,quant.calibration,"
    )
    assert len(csv) == len(df) + 1 and (df["state"] == "COMPLETE").sum() == 4  # re-sampled duplicates: PRUNED rows
    assert ",map50_95,map50," in csv[0]
    assert "| number |" in paths["md"].read_text()
    sel = select_best(df, [Budget.parse("size_mb<=3")])
    assert sel.best is not None and sel.best["size_bytes"] <= 3e6
    assert sel.candidate()["quant.precision"] == "fp16"
    none = select_best(df, [Budget.parse("size_mb<=0.001")])
    assert none.best is None and none.closest is not None


def test_study_with_other_objectives_refused(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    optuna.create_study(study_name="paretodet", storage=f"sqlite:///{tmp_path / 'study.db'}", direction="minimize")
    with pytest.raises(StudyError, match="objectives"):
        run_study(_config(tiny_model, tiny_data, tmp_path))


def test_a_work_dir_keeps_its_model(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    from paretodet.data import SHAPE_CLASSES
    from paretodet.testing import tiny_checkpoint

    run_study(_config(tiny_model, tiny_data, tmp_path, trials=1))
    other = tiny_checkpoint(tmp_path / "other" / "other.pt", names=SHAPE_CLASSES, seed=5)
    with pytest.raises(StudyError, match="another model"):
        run_study(_config(other, tiny_data, tmp_path, trials=2))


def test_grid_baseline_covers_the_small_space(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    summary = run_study(_config(tiny_model, tiny_data, tmp_path, trials=4, sampler="grid"))
    df, _ = load_trials(tmp_path)
    assert summary.completed == 4
    assert set(zip(df["imgsz"], df["quant.precision"])) == {(64, "fp32"), (64, "fp16"), (96, "fp32"), (96, "fp16")}
