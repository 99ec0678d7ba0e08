"""What each trial state means to a user: Optuna's state names (kept in ``trials.csv``) in the report's words.

Optuna's ``PRUNED`` is not a pruned model: paretodet records as PRUNED a sampled config that another trial
already measured or is building (it is sampled again), a trial early stopping stopped (at a rung, or before
training by its bound), one the time budget could not pay for (not built) and one the time budget interrupted
(queued again); in a pruning tool "pruned" would read as "a model was pruned". The ``stop_kind`` column says
which. Every count of trial states goes through :func:`state_counts` so it says what happened."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["STATE_WORDS", "state_counts", "state_counts_line", "state_note"]

# Optuna state -> (singular, plural) as the report says it
STATE_WORDS: Mapping[str, tuple[str, str]] = {
    "COMPLETE": ("completed", "completed"),
    "FAIL": ("failed", "failed"),
    "DUPLICATE": ("duplicate sample skipped", "duplicate samples skipped"),
    "STOPPED": ("stopped early", "stopped early"),
    "OVER_BUDGET": ("not built (over the time budget)", "not built (over the time budget)"),
    "INTERRUPTED": ("interrupted by the time budget (queued again)", "interrupted by the time budget (queued again)"),
    "PRUNED": ("stopped early", "stopped early"),
    "RUNNING": ("running", "running"),
    "WAITING": ("queued", "queued"),
}


# stop_kind -> the state the report counts
_STOP_STATES = {
    "duplicate": "DUPLICATE",
    "rung": "STOPPED",
    "bound": "STOPPED",
    "over_budget": "OVER_BUDGET",
    "budget": "INTERRUPTED",
}


def state_counts(trials: pd.DataFrame) -> dict[str, int]:
    """Trials by what happened to them: a PRUNED trial with ``duplicate_of`` counts as ``DUPLICATE``.

    Example:
        >>> state_counts(pd.DataFrame({"state": ["COMPLETE", "PRUNED"], "duplicate_of": [None, 0]}))
        {'COMPLETE': 1, 'DUPLICATE': 1}
    """
    states = trials["state"].astype(str)
    pruned = states == "PRUNED"
    if "stop_kind" in trials:
        kinds = trials["stop_kind"].map(_STOP_STATES)
        states = states.where(~(pruned & kinds.notna()), kinds)
    if "duplicate_of" in trials:
        states = states.where(~((states == "PRUNED") & trials["duplicate_of"].notna()), "DUPLICATE")
    else:  # studies whose rows do not say: every PRUNED trial paretodet records is a duplicate sample
        states = states.replace("PRUNED", "DUPLICATE")
    counts = states.value_counts().to_dict()
    order = [s for s in STATE_WORDS if s in counts] + sorted(s for s in counts if s not in STATE_WORDS)
    return {s: int(counts[s]) for s in order}


def state_counts_line(trials: pd.DataFrame) -> str:
    """``"17 (16 completed, 1 duplicate sample skipped)"``: the trial count and what happened to them."""
    counts = state_counts(trials)
    words = [f"{n} {STATE_WORDS.get(s, (s.lower(), s.lower()))[n != 1]}" for s, n in counts.items()]
    return f"{len(trials)} ({', '.join(words)})"


def state_note(trials: pd.DataFrame) -> str | None:
    """The line that explains ``trials.csv``'s PRUNED rows, where there are any."""
    if not (trials["state"].astype(str) == "PRUNED").any():
        return None
    return (
        "trials.csv keeps Optuna's state names: PRUNED there is not a pruned model but a trial that was not "
        "measured whole; its stop_kind says why (duplicate: another trial had measured its config; rung, bound: "
        "early stopping; over_budget, budget: the time budget)"
    )
