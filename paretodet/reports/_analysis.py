"""What the trials say about each technique: fronts per technique, hypervolume, the knee, a written analysis.

Pure pandas/numpy over the trial table of :class:`~paretodet.reports._info.ReportInfo` (tested without plots).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from paretodet.objectives import format_metric as _format_metric
from paretodet.reports._describe import row_knobs
from paretodet.reports._info import ReportInfo
from paretodet.reports._pareto import hypervolume, normalize, pareto_mask
from paretodet.reports._recommend import RULE, recommend
from paretodet.spaces import TECHNIQUES, VARIANTS, knob_defaults, techniques_used

__all__ = [
    "COMBOS",
    "GROUPS",
    "SINGLE_GROUPS",
    "Analysis",
    "analyze",
    "best_trial",
    "original_trial",
    "technique_combo",
    "technique_group",
    "techniques",
]

# trial groups by the techniques they use; "X alone" fronts take the trials whose techniques are within {X}
SINGLE_GROUPS: tuple[str, ...] = tuple(TECHNIQUES.values())  # one per technique: quantization, pruning, ...
GROUPS: tuple[str, ...] = ("baseline", *SINGLE_GROUPS, "combined")
# every technique combination a trial can use, by name ("quantization + pruning"), fewest techniques first
COMBOS: tuple[str, ...] = (
    "baseline",
    *(
        " + ".join(TECHNIQUES[t] for t in combo)
        for n in range(1, len(TECHNIQUES) + 1)
        for combo in combinations(TECHNIQUES, n)
    ),
)

_REFERENCE_MARGIN = 0.1  # hypervolume reference: 10% beyond the worst value seen, in normalized units


def technique_group(row: pd.Series) -> str:
    """``baseline``, ``quantization``, ``pruning``, ``distillation`` (one technique) or ``combined``."""
    used = techniques(row)
    if not used:
        return "baseline"
    if len(used) > 1:
        return "combined"
    return TECHNIQUES[next(iter(used))]


def technique_combo(row: pd.Series) -> str:
    """The trial's technique combination, one of :data:`COMBOS`: ``baseline``, ``quantization``,
    ``quantization + pruning``, ... (techniques in :data:`~paretodet.spaces.TECHNIQUES` order)."""
    used = techniques(row)
    return " + ".join(name for key, name in TECHNIQUES.items() if key in used) or "baseline"


def techniques(row: pd.Series) -> set[str]:
    """The compression techniques a trial used: those whose switch knobs are off their defaults (knobs
    missing from the row, or empty there, count as their defaults)."""
    return techniques_used({k: v for k, v in row.items() if isinstance(k, str) and not _missing(v)})


def format_metric(name: str, value: Any) -> str:
    """:func:`paretodet.objectives.format_metric` for table cells too (numpy scalars, e.g. an int64 size)."""
    return _format_metric(name, value.item() if isinstance(value, np.generic) else value)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


@dataclass(frozen=True)
class Analysis:
    """Computed facts behind the report's analysis section.

    Attributes:
        groups: completed trials' technique group, by trial number.
        fronts: per group name (and "all"), the trial numbers on that group's front ("X alone" includes the
            baseline trials, "all" is every completed trial).
        hypervolume: per group name (and "all"), the hypervolume of its front as a share of the box between
            the reference point and the ideal corner (objectives scaled over all trials; 1 = ideal).
        history: (trial number, hypervolume of the completed trials so far), in trial order.
        knee: trial number of the report's one recommendation (see ``reports._recommend.RULE``; -1 if none).
        reference: trial number of the reference model (the original: see :func:`original_trial`; -1 if none).
        lines: the written analysis, one Markdown bullet per line.
    """

    groups: dict[int, str]
    fronts: dict[str, list[int]]
    hypervolume: dict[str, float]
    history: list[tuple[int, float]]
    knee: int
    reference: int
    lines: list[str] = field(default_factory=list)


def analyze(info: ReportInfo) -> Analysis:
    """Fronts of each technique alone vs all trials, hypervolumes, the knee point and the written analysis."""
    done = info.complete.dropna(subset=[c for c, _ in info.objectives]).sort_values("number")
    cols = [c for c, _ in info.objectives]
    dirs = [d for _, d in info.objectives]
    if done.empty:
        return Analysis({}, {}, {}, [], -1, -1, ["No completed trial yet."])
    groups = {int(r["number"]): technique_group(r) for _, r in done.iterrows()}
    values = done[cols].to_numpy(dtype=float)
    lows, highs = values.min(axis=0), values.max(axis=0)
    scaled = normalize(values, dirs, lows=lows, highs=highs)
    ref = [-_REFERENCE_MARGIN] * len(cols)
    box = (1 + _REFERENCE_MARGIN) ** len(cols)  # the whole box: a point at the ideal corner scores 1

    def share(points: np.ndarray) -> float:
        return hypervolume(points, [1] * len(cols), ref) / box

    numbers = done["number"].astype(int).to_numpy()
    group_of = np.array([groups[n] for n in numbers])
    members = {"all": np.ones(len(done), dtype=bool)}
    for name in SINGLE_GROUPS:
        members[name] = np.isin(group_of, ["baseline", name])
    fronts, volumes = {}, {}
    for name, mask in members.items():
        if mask.any():
            on = pareto_mask(values[mask], dirs)
            fronts[name] = numbers[mask][on].tolist()
            volumes[name] = share(scaled[mask])
    history = [(int(numbers[i]), share(scaled[: i + 1])) for i in range(len(done))]
    recommended = recommend(info)
    knee = recommended.trial if recommended.trial is not None else -1
    baseline = done[group_of == "baseline"]
    original = original_trial(baseline)
    reference = int(original["number"]) if original is not None else -1
    analysis = Analysis(groups, fronts, volumes, history, knee, reference)
    return dataclasses.replace(analysis, lines=_written(analysis, done, info))


def _written(a: Analysis, done: pd.DataFrame, info: ReportInfo) -> list[str]:
    """The analysis in words: what each technique bought, what it cost, how the loss was mitigated."""
    by_number = done.set_index(done["number"].astype(int))
    baselines = done[[a.groups[int(n)] == "baseline" for n in done["number"]]]
    lines = []
    if a.reference >= 0:
        ref = by_number.loc[a.reference]
        score, speed, size = (format_metric(m, ref[m]) for m in ("map50_95", "latency_ms", "size_bytes"))
        lines.append(
            f"Reference (the original model, trial {a.reference}: unmodified, largest input size): mAP50-95 {score}, "
            f"{speed}, {size}. "
            "Each comparison below is against "
            "the best uncompressed trial with the same input size and runtime (else the same size, else the "
            "reference; its input size is then named)."
        )
    else:
        lines.append("No uncompressed trial was sampled, so gains are shown as absolute figures.")
    for name in SINGLE_GROUPS:
        own = done[[a.groups[int(n)] == name for n in done["number"]]]
        if own.empty:
            lines.append(f"{name.capitalize()} alone: no trial used it alone.")
            continue
        smallest = own.loc[own["size_bytes"].idxmin()]
        fastest = own.loc[own["latency_ms"].idxmin()]
        small_ref, fast_ref = _reference_for(smallest, baselines), _reference_for(fastest, baselines)
        text = (
            f"{name.capitalize()} alone ({len(own)} trials, front hypervolume {a.hypervolume.get(name, 0):.3f}): "
            f"smallest {_vs(smallest, small_ref, 'size_bytes')} at mAP50-95 {_map_vs(smallest, small_ref)}; "
            f"fastest {_vs(fastest, fast_ref, 'latency_ms')} at mAP50-95 {_map_vs(fastest, fast_ref)}."
        )
        lines.append(text)
    lines.append(_mitigation(done, a))
    lines.append(f"All trials together: front hypervolume {a.hypervolume.get('all', 0):.3f} (normalized, 1 = ideal).")
    best = max((g for g in SINGLE_GROUPS if g in a.hypervolume), key=lambda g: a.hypervolume[g], default=None)
    if best is not None:
        lines.append(f"Best single technique by front hypervolume: {best} ({a.hypervolume[best]:.3f}).")
    if a.knee >= 0 and a.knee in by_number.index:
        knee = by_number.loc[a.knee]
        knee_ref = _reference_for(knee, baselines)
        lines.append(
            f"Recommended: trial {a.knee} ({a.groups[a.knee]}): "
            f"mAP50-95 {_map_vs(knee, knee_ref)}, {_vs(knee, knee_ref, 'latency_ms')}, "
            f"{_vs(knee, knee_ref, 'size_bytes')}; {recommend(info).reason}. The rule: {RULE}."
        )
    if info.budgets:
        feasible = int(info.trials["feasible"].sum())
        lines.append(
            f"Budgets {', '.join(str(b) for b in info.budgets)}: {feasible} of {len(done)} completed trials feasible."
        )
    return lines


def best_trial(df: pd.DataFrame) -> pd.Series:
    """The best-mAP50-95 row of a non-empty table (ties: lower latency, then the lower trial number)."""
    keys = [c for c in ("map50_95", "latency_ms", "number") if c in df]
    return df.sort_values(keys, ascending=[c != "map50_95" for c in keys]).iloc[0]


def original_trial(unmodified: pd.DataFrame) -> pd.Series | None:
    """The original model among unmodified trials: the largest input size, on the default runtime when it
    was measured there, the best mAP50-95 of those (None when there is no unmodified trial)."""
    if unmodified.empty:
        return None
    pool = unmodified
    if "imgsz" in pool and pool["imgsz"].notna().any():
        pool = pool[pool["imgsz"] == pool["imgsz"].max()]
    if "runtime" in pool:
        default = pool[pool["runtime"] == knob_defaults()["runtime"]]
        pool = default if not default.empty else pool
    return best_trial(pool)


def _reference_for(row: pd.Series, baselines: pd.DataFrame) -> pd.Series | None:
    """The best-mAP uncompressed trial to compare ``row`` with: same imgsz and runtime, else same imgsz, else any."""
    if baselines.empty:
        return None
    pools = [baselines]
    if "imgsz" in baselines:
        same_size = baselines[baselines["imgsz"] == row.get("imgsz")]
        pools.insert(0, same_size)
        if "runtime" in baselines:
            pools.insert(0, same_size[same_size["runtime"] == row.get("runtime")])
    pool = next(p for p in pools if not p.empty)
    return pool.loc[pool["map50_95"].idxmax()]


def _vs(row: pd.Series, ref: pd.Series | None, metric: str) -> str:
    """``row``'s ``metric`` (size_bytes or latency_ms) for people, with its ratio to the reference's."""
    value = row[metric]
    text = format_metric(metric, value)
    if ref is None or not ref[metric]:
        return text
    ratio = value / ref[metric]
    return f"{text} ({ratio:.2f}x)" if metric == "size_bytes" else f"{text} ({ref[metric] / value:.2f}x faster)"


def _map_vs(row: pd.Series, ref: pd.Series | None) -> str:
    text = format_metric("map50_95", row["map50_95"])
    if ref is None:
        return text
    other_size = "imgsz" in ref and ref["imgsz"] != row.get("imgsz")
    at = f" at {int(ref['imgsz'])} px" if other_size else ""
    return f"{text} ({row['map50_95'] - ref['map50_95']:+.4f} vs trial {int(ref['number'])}{at})"


def _mitigation(done: pd.DataFrame, a: Analysis) -> str:
    """How the front's compressed trials limited their accuracy loss: how many use each mitigation variant
    (``paretodet.spaces.VARIANTS`` entries that mitigate another), alone or combined with other techniques."""
    front = done[done["number"].astype(int).isin(a.fronts.get("all", []))]
    knobs = [(techniques(r), {**knob_defaults(), **row_knobs(r)}) for _, r in front.iterrows()]
    counts = {
        v.name: sum(v.technique in used and v.test(values) for used, values in knobs)
        for v in VARIANTS.values()
        if v.mitigates is not None
    }
    used = [f"{name} in {n}" for name, n in counts.items() if n]
    if not used:
        return f"Mitigation: none of the {len(front)} front trials used {', '.join(counts)}."
    return f"Mitigation on the front ({len(front)} trials): " + "; ".join(used) + "."
