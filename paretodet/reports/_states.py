"""What each trial state means to a user: Optuna's state names (kept in ``trials.csv``) in the report's words.

Optuna's ``PRUNED`` is not a pruned model: paretodet records a sampled config that another trial already
measured or is building as PRUNED (it is sampled again), which in a pruning tool would read as "a model was
pruned". Every count of trial states goes through :func:`state_counts` so it says what happened."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["STATE_WORDS", "state_counts", "state_counts_line", "state_note"]

# Optuna state -> (singular, plural) as the report says it
STATE_WORDS: Mapping[str, tuple[str, str]] = {
    "COMPLETE": ("completed", "completed"),
    "FAIL": ("failed", "failed"),
    "DUPLICATE": ("duplicate sample skipped", "duplicate samples skipped"),
    "PRUNED": ("stopped early", "stopped early"),
    "RUNNING": ("running", "running"),
    "WAITING": ("queued", "queued"),
}


def state_counts(trials: pd.DataFrame) -> dict[str, int]:
    """Trials by what happened to them: a PRUNED trial with ``duplicate_of`` counts as ``DUPLICATE``.

    Example:
        >>> state_counts(pd.DataFrame({"state": ["COMPLETE", "PRUNED"], "duplicate_of": [None, 0]}))
        {'COMPLETE': 1, 'DUPLICATE': 1}
    """
    states = trials["state"].astype(str)
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
        "trials.csv keeps Optuna's state names: PRUNED there is a sampled config that another trial had already "
        "measured (skipped and sampled again), not a pruned model"
    )
