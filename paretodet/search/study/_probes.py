"""Reference probes: a small fixed set of candidates every study measures first, so that every report can say
what each technique buys alone (the unmodified model, then one probe per technique variant of
``paretodet.spaces.VARIANTS``: FP16, INT8 PTQ, INT8 with its mitigations, pruning one-shot, with fine-tuning
recovery and with KD recovery, a student with and without KD), whatever the sampler explores afterwards.

Probes are ordinary trials queued before the sampler's own: they count towards ``--trials``, use the stage
cache, and sit on the front if they earn it. Each probe is expressed in the space's own values (a knob the
space samples takes a value the space allows, within its ``limits``), and one the space cannot express is left
out. In a space fitted to a model (``study_space``) the pruning probes prune at the family's measured one-shot
and recovered limits and recover at the rate its recipe fits (the fitted space's base ``prune.lr``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paretodet.errors import ConfigError
from paretodet.spaces import ORIGINAL_PROBE, VARIANTS, Candidate, ProbeContext, SearchSpace, allowed

if TYPE_CHECKING:
    import optuna

__all__ = ["PROBES_ATTR", "Probe", "enqueue_probes", "reference_probes"]


PROBES_ATTR = "paretodet_probes"  # study attr: the probes were queued (once per study)
PROBE_SHARE = 0.5  # at most this share of the study's trials are probes


@dataclass(frozen=True)
class Probe:
    """A named reference candidate: ``params`` are the values of the space's sampled knobs."""

    name: str
    params: dict[str, Any]
    candidate: Candidate


def reference_probes(space: SearchSpace, *, limit: int) -> list[Probe]:
    """The probes ``space`` can express, most important first, at most ``limit``: the original model (also at
    the space's base input size when that is smaller), then each technique variant (:data:`VARIANTS`) in order.

    Example:
        >>> [p.name for p in reference_probes(load_space("quick"), limit=8)]  # doctest: +SKIP
        ['original', 'FP16', 'INT8 PTQ', 'INT8 + mixed precision', 'pruning one-shot', ...]
    """
    ctx = ProbeContext(space)
    base = space.base.to_dict()
    sizes = allowed(ctx.knobs.get("imgsz"), [base["imgsz"]])
    wishes: list[tuple[str, dict[str, Any] | None]] = [(ORIGINAL_PROBE, dict(ctx.at))]
    if base["imgsz"] in sizes and base["imgsz"] != ctx.at["imgsz"]:
        wishes.append((f"{ORIGINAL_PROBE} at {base['imgsz']} px", {"imgsz": base["imgsz"]}))
    wishes += [(variant.name, variant.probe(ctx)) for variant in VARIANTS.values()]
    probes, seen = [], set()
    for name, wish in wishes:
        probe = _express(name, wish, space) if wish is not None else None
        if probe is not None and probe.candidate.config_key() not in seen:
            seen.add(probe.candidate.config_key())
            probes.append(probe)
    return probes[: max(0, limit)]


def enqueue_probes(study: optuna.Study, space: SearchSpace, *, trials: int) -> list[str]:
    """Queue the probes once per study (the process that creates it; a resumed or joined study keeps its
    queue), skipping configs the study already holds; returns the names queued."""
    if study.user_attrs.get(PROBES_ATTR) is not None:
        return []
    held = {t.user_attrs.get("config_key") for t in study.get_trials(deepcopy=False)}
    queued = []
    for probe in reference_probes(space, limit=int(trials * PROBE_SHARE)):
        if probe.candidate.config_key() in held:
            continue
        study.enqueue_trial(probe.params, user_attrs={"probe": probe.name}, skip_if_exists=True)
        queued.append(probe.name)
    study.set_user_attr(PROBES_ATTR, queued)
    return queued


def _express(name: str, wish: dict[str, Any], space: SearchSpace) -> Probe | None:
    """The probe's sampled values in ``space``'s own terms, or None when the space cannot express it: a value
    the space would not sample (a knob's ``limits`` included: a family's pruning limits) is never asked for.

    ``params`` holds every active knob's value, those the limits keep from being sampled too (the base's, or the
    limit itself below a range): sampling them with or without the limits gives the probe's candidate."""
    base = space.base.to_dict()
    values = {**base, **wish}
    params: dict[str, Any] = {}
    for knob in space.knobs:
        if not knob.active(params, base):
            continue
        limit = knob.held_to(params, base)
        wanted = values[knob.name]
        if knob.choices:
            if limit is not None and any(float(c) > limit for c in knob.choices):  # not sampled: the base value
                if (knob.name in wish and wanted != base[knob.name]) or float(base[knob.name]) > limit:
                    return None
                if base[knob.name] in knob.choices:
                    params[knob.name] = base[knob.name]
                continue
            if wanted not in knob.choices:
                if knob.name in wish:
                    return None
                wanted = _nearest(knob.choices, base[knob.name])
        else:
            low = float(knob.low or 0)
            high = float(knob.high or 0) if limit is None else knob.capped_high(limit)
            if high is None and limit is not None:  # a limit below the range: the limit itself
                if knob.name in wish and not math.isclose(float(wanted), limit):
                    return None
                wanted = type(base[knob.name])(limit)
            elif high is not None and not (low <= float(wanted) <= high + 1e-9):
                if knob.name in wish:
                    return None
                wanted = _nearest([low, high], wanted)
        params[knob.name] = wanted
    for key, value in wish.items():  # a wished knob the space does not sample must already hold the value
        if key not in params and base.get(key) != value and Candidate().to_dict().get(key) != value:
            return None
    try:
        candidate = space.base.replace(params)
    except ConfigError:
        return None
    return Probe(name=name, params=params, candidate=candidate)


def _nearest(options: Any, target: Any) -> Any:
    numeric = [o for o in options if isinstance(o, (int, float)) and not isinstance(o, bool)]
    if numeric and isinstance(target, (int, float)) and not isinstance(target, bool):
        return min(numeric, key=lambda o: abs(o - target))
    return next(iter(options))
