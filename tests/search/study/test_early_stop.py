"""Multi-objective early stopping: the rung and bound rules on known values, the sampler learning from stopped
trials, and a real trial of a tiny model stopped at its first rung (recorded with its reason and kept)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.reports import build_info, write_report
from paretodet.search import SearchConfig, load_trials, run_study
from paretodet.search.study._early_stop import RUNGS_ATTR, SHAPE_ATTR, STOPPED_ATTR, bound_stop, optimistic_map
from paretodet.search.study._informed_sampler import InformedTPESampler, informed_trials
from paretodet.search.study._rungs import Point, front_ranks, rank_verdict, rung_epochs
from paretodet.spaces import Candidate, Knob, SearchSpace

OBJECTIVES = ["map50_95", "fps", "size_bytes"]
SIGNS = [1, 1, -1]
FAST = EvalSettings(threads=1, latency=LatencySettings(warmup=2, runs=30))


def test_rung_epochs_are_geometric_below_the_last_epoch() -> None:
    assert rung_epochs(10) == (1, 3, 9)
    assert rung_epochs(3) == (1,)
    assert rung_epochs(1) == ()
    assert rung_epochs(28, eta=3) == (1, 3, 9, 27)


def test_rank_rule_keeps_the_best_third_by_non_dominated_sorting() -> None:
    fast_small = Point(1, (0.30, 100.0, 1e6))
    accurate = Point(2, (0.50, 50.0, 2e6))
    dominated = Point(3, (0.20, 40.0, 3e6))
    # fewer than eta peers at the rung: nobody is stopped yet (asynchronous: the first arrivals go on)
    assert rank_verdict(Point(9, (0.0, 1.0, 9e9)), [fast_small, accurate], SIGNS) == (True, [])
    # a trial dominated by the front of its peers stops, naming the trials ahead of it
    keep, ahead = rank_verdict(Point(9, (0.10, 30.0, 4e6)), [fast_small, accurate, dominated], SIGNS)
    assert not keep and set(ahead) == {1, 2, 3}
    # a trial on the first front stays, whatever its mAP: it is faster than everyone
    keep, ahead = rank_verdict(Point(9, (0.05, 500.0, 4e6)), [fast_small, accurate, dominated], SIGNS)
    assert keep and ahead == []
    # ranks: the last kept one's whole front is kept (ties are not broken against a trial)
    ranks = front_ranks(np.array([p.values for p in (fast_small, accurate, dominated)]), SIGNS)
    assert ranks.tolist() == [0, 0, 1]


def _measured(number: int, candidate: dict, map50_95: float, fps: float, size: float) -> optuna.trial.FrozenTrial:
    full = {**Candidate().to_dict(), **candidate}
    return create_trial(
        state=TrialState.COMPLETE,
        values=[map50_95, fps, size],
        user_attrs={"candidate": full, "metrics": {"map50_95": map50_95, "fps": fps, "size_bytes": size}},
    )


def test_bound_rule_uses_the_untrained_reference_plus_a_learned_margin() -> None:
    study = optuna.create_study(directions=["maximize", "maximize", "minimize"])
    study.add_trial(_measured(0, {"imgsz": 320}, 0.40, 50.0, 4e6))  # the original model at 320 px
    study.add_trial(_measured(1, {"imgsz": 320, "quant.precision": "int8"}, 0.38, 120.0, 1e6))  # INT8 PTQ
    recovered = {"imgsz": 320, "prune.method": "l1", "prune.ratio": 0.2, "prune.finetune_epochs": 3}
    study.add_trial(_measured(2, recovered, 0.45, 60.0, 3e6))  # recovery beat its reference by 0.05
    completed = study.get_trials()
    # the reference at the same size, runtime and precision, plus the largest gain a trained trial showed
    assert optimistic_map({**Candidate().to_dict(), "imgsz": 320}, completed) == pytest.approx(0.45)
    assert optimistic_map({**Candidate().to_dict(), "imgsz": 640}, completed) is None  # nothing at 640 px
    candidate = {**Candidate().to_dict(), **recovered, "prune.ratio": 0.3}
    # slower and bigger than trial 2 and no better than 0.45 even optimistically: dominated, not trained
    stop = bound_stop(study, 3, candidate, {"fps": 55.0, "size_bytes": 3.5e6}, OBJECTIVES, SIGNS)
    assert stop is not None and stop.info["kind"] == "bound" and stop.info["by"] == [2]
    assert stop.info["reason"].startswith("not trained: even at mAP50-95 0.4500")
    # faster than everything measured: it could reach the front, so it trains
    assert bound_stop(study, 3, candidate, {"fps": 500.0, "size_bytes": 2.5e6}, OBJECTIVES, SIGNS) is None


def _history(stopped_informs: bool) -> optuna.Study:
    """Eight measured trials of a 2-knob space, then three PRUNED trials near x=0.9: stopped ones (with their rung
    mAP and twin figures, better than any measured trial's), or duplicate samples (no figures)."""
    dists = {"x": FloatDistribution(0.0, 1.0), "c": CategoricalDistribution(["a", "b"])}
    study = optuna.create_study(directions=["maximize", "maximize", "minimize"])
    rng = np.random.default_rng(0)
    for i in range(8):
        x = float(rng.uniform(0, 1))
        study.add_trial(
            create_trial(
                state=TrialState.COMPLETE,
                params={"x": x, "c": "ab"[i % 2]},
                distributions=dists,
                values=[x, 10.0 * (1 - x), 1e6],
            )
        )
    attrs = (
        {STOPPED_ATTR: {"kind": "rung", "rung_map": 0.99, "reason": "r"}, SHAPE_ATTR: {"fps": 9.0, "size_bytes": 1e6}}
        if stopped_informs
        else {"duplicate_of": 0}
    )
    for x in (0.9, 0.92, 0.95):
        study.add_trial(
            create_trial(state=TrialState.PRUNED, params={"x": x, "c": "a"}, distributions=dists, user_attrs=attrs)
        )
    return study


def _next_proposal(study: optuna.Study) -> tuple[float, str]:
    sampler = InformedTPESampler(OBJECTIVES, seed=3, n_startup_trials=4, multivariate=True)
    study.sampler = sampler
    trial = study.ask()
    return trial.suggest_float("x", 0.0, 1.0), trial.suggest_categorical("c", ["a", "b"])


def test_the_sampler_changes_its_proposals_because_of_stopped_trials() -> None:
    informed = _history(stopped_informs=True)
    seen = informed_trials(informed.get_trials(), OBJECTIVES)
    stopped = [t for t in seen if t.number >= 8]
    assert len(stopped) == 3 and all(t.state == TrialState.COMPLETE and t.values == [0.99, 9.0, 1e6] for t in stopped)
    # a duplicate sample stays PRUNED (TPE ranks it among the worse ones: it is not proposed again and again)
    plain = informed_trials(_history(stopped_informs=False).get_trials(), OBJECTIVES)
    assert [t.state for t in plain].count(TrialState.PRUNED) == 3
    assert _next_proposal(informed) != _next_proposal(_history(stopped_informs=False))


@pytest.mark.slow
def test_a_trial_dominated_at_its_first_rung_stops_there(tiny_model: Path, tiny_data: Path, tmp_path: Path) -> None:
    """A real recovery fine-tune of a tiny model, whose peers at rung 1 (recorded by earlier trials) are better
    on every objective: it stops after epoch 1, recorded with its rung, reason, twin figures and saved time."""
    plain = SearchSpace(knobs=(Knob("imgsz", choices=(64,)),))
    base = dict(model=str(tiny_model), data=tiny_data, workdir=tmp_path, evaluation=FAST, probes=False)
    run_study(SearchConfig(**base, trials=1, space=plain))  # type: ignore[arg-type]
    study = optuna.load_study(study_name="paretodet", storage=f"sqlite:///{tmp_path / 'study.db'}")
    for _ in range(3):  # earlier trials that reached "recover@1" far ahead (their own shapes were timed)
        study.add_trial(
            create_trial(
                state=TrialState.PRUNED,
                user_attrs={RUNGS_ATTR: {"recover@1": 0.9}, SHAPE_ATTR: {"fps": 1e6, "size_bytes": 1.0}},
            )
        )
    recover = {"prune.method": "l1", "prune.ratio": 0.2, "prune.finetune_epochs": 3}
    pruned = SearchSpace(knobs=(Knob("imgsz", choices=(64,)),), base=Candidate().replace(recover))
    events = []
    summary = run_study(SearchConfig(**base, trials=2, space=pruned), on_trial=events.append)  # type: ignore[arg-type]
    stopped = [t for t in study.get_trials() if STOPPED_ATTR in t.user_attrs]
    assert len(stopped) == 1 and summary.stopped == 1
    info = stopped[0].user_attrs[STOPPED_ATTR]
    assert info["kind"] == "rung" and info["stage"] == "recover" and info["epoch"] == 1
    assert info["reason"].startswith("stopped after recover epoch 1: dominated at rung 1 (recover epoch 1) by trials")
    assert set(info["by"]) == {1, 2, 3} and info["saved_s"] > 0
    assert set(stopped[0].user_attrs[RUNGS_ATTR]) == {"recover@1"}
    shape = stopped[0].user_attrs[SHAPE_ATTR]
    assert shape["fps"] > 0 and shape["size_bytes"] > 0
    assert any(e.stopped and e.stopped.startswith("stopped after recover epoch 1") for e in events)
    # sampled again, the stopped config is a duplicate of it (judged: never trained twice)
    assert all(
        t.user_attrs.get("duplicate_of") == stopped[0].number
        for t in study.get_trials()
        if t.number > stopped[0].number and t.user_attrs.get("config_key") == stopped[0].user_attrs["config_key"]
    )
    trials, meta = load_trials(tmp_path)
    row = trials[trials["number"] == stopped[0].number].iloc[0]
    assert row["stop_kind"] == "rung" and row["twin_fps"] == shape["fps"] and row["rung_map50_95"] >= 0
    paths = write_report(build_info(trials), tmp_path / "report", meta=meta)
    text = paths["md"].read_text()
    assert "stopped early: 1 trial (1 at rungs, 0 before training)" in text
    assert f"trial {stopped[0].number} stopped after recover epoch 1" in text


@pytest.mark.slow
def test_a_study_killed_in_the_middle_of_a_rung_resumes_with_its_rung_results(
    tiny_model: Path, tiny_data: Path, tmp_path: Path
) -> None:
    import socket

    plain = SearchSpace(knobs=(Knob("imgsz", choices=(64,)),))
    base = dict(model=str(tiny_model), data=tiny_data, workdir=tmp_path, evaluation=FAST, probes=False)
    run_study(SearchConfig(**base, trials=1, space=plain))  # type: ignore[arg-type]
    study = optuna.load_study(study_name="paretodet", storage=f"sqlite:///{tmp_path / 'study.db'}")
    # a worker of this machine that died after scoring rung 1 of its recovery (its process no longer exists)
    killed = study.ask({"imgsz": CategoricalDistribution([64])})
    killed.set_user_attr("worker", f"{socket.gethostname()}:999999999")
    killed.set_user_attr(RUNGS_ATTR, {"recover@1": 0.25})
    killed.set_user_attr(SHAPE_ATTR, {"fps": 100.0, "size_bytes": 1e6})
    recover = {"prune.method": "l1", "prune.ratio": 0.2, "prune.finetune_epochs": 3}
    pruned = SearchSpace(knobs=(Knob("imgsz", choices=(64,)),), base=Candidate().replace(recover))
    run_study(SearchConfig(**base, trials=2, space=pruned))  # type: ignore[arg-type]
    trials = {t.number: t for t in study.get_trials()}
    assert trials[killed.number].state == TrialState.FAIL  # marked interrupted, its config queued again
    assert trials[killed.number].user_attrs[RUNGS_ATTR] == {"recover@1": 0.25}  # its rung result is kept
    again = [t for t in trials.values() if t.user_attrs.get("requeued_from") == killed.number]
    assert again and again[0].state == TrialState.COMPLETE and "recover@1" in again[0].user_attrs[RUNGS_ATTR]


def _costed_history(budget: float | None) -> optuna.Study:
    """Twelve measured trials, half with 3 recovery epochs (10x the cost), their figures unrelated to the epochs."""
    from paretodet.search.store import BUDGET_ATTR, CLOCK_PREFIX

    dists = {"prune.finetune_epochs": CategoricalDistribution([0, 3]), "x": FloatDistribution(0.0, 1.0)}
    study = optuna.create_study(directions=["maximize", "maximize", "minimize"])
    if budget is not None:
        study.set_user_attr(BUDGET_ATTR, budget)
        study.set_user_attr(f"{CLOCK_PREFIX}a", [0.0, 1.0])  # 1 s of the budget used: cooling at its strongest
    for i in range(12):  # each x twice, with and without training: TPE alone has no reason to prefer either
        epochs, x = (0, 3)[i % 2], (i // 2) / 6
        study.add_trial(
            create_trial(
                state=TrialState.COMPLETE,
                params={"prune.finetune_epochs": epochs, "x": x},
                distributions=dists,
                values=[x, 1.0, 1e6],
                user_attrs={
                    "candidate": {**Candidate().to_dict(), "prune.method": "l1", "prune.finetune_epochs": epochs},
                    "wall_s": 10.0 + 30.0 * epochs,
                },
            )
        )
    return study


def test_cost_cooling_proposes_cheap_candidates_first() -> None:
    from paretodet.search.study._cost_sampler import CostCooledTPESampler

    def trained_share(budget: float | None) -> float:
        study = _costed_history(budget)
        study.sampler = CostCooledTPESampler(OBJECTIVES, seed=0, n_startup_trials=4, multivariate=True)
        picks = []
        for _ in range(30):
            trial = study.ask()
            picks.append(trial.suggest_categorical("prune.finetune_epochs", [0, 3]))
            trial.suggest_float("x", 0.0, 1.0)
            study.tell(trial, state=TrialState.FAIL)  # FAIL: the history the sampler learns from stays the same
        return picks.count(3) / len(picks)

    # without a budget it is plain TPE; with one, a 10x dearer candidate is proposed far less at the start
    assert trained_share(1000.0) < trained_share(None) - 0.2
