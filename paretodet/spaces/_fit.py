"""Fitting a space to the model it searches: input sizes around the model's training size, no one-shot
structured pruning beyond what the model's family survives, recovery learning rates around the rate its family
fits, and a line for each thing left out and why."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection

from paretodet.spaces._candidate import Candidate, knob_specs
from paretodet.spaces._space import Knob, SearchSpace

__all__ = ["MAX_SIZES", "fit_to_model", "sizes_around", "technique_notes"]

MAX_SIZES = 6  # input sizes a preset samples at most (wider spans take larger multiples of 32)
_PER_PART = ("prune.ratio", "prune.backbone_ratio", "prune.neck_ratio")


def sizes_around(train_imgsz: int, scale: tuple[float, float], *, most: int = MAX_SIZES) -> tuple[int, ...]:
    """Multiples of 32 from ``scale[0]`` to ``scale[1]`` times ``train_imgsz`` (rounded to a multiple of 32),
    always including it and, where ``most`` allows, both ends of the span; at most ``most`` of them (evenly spaced
    from the training size; the farthest from it go first).

    Example:
        >>> sizes_around(320, (0.5, 1.0))
        (160, 192, 224, 256, 288, 320)
        >>> sizes_around(640, (0.5, 1.0))
        (320, 384, 448, 512, 576, 640)
    """
    centre = max(32, round(train_imgsz / 32) * 32)
    low = max(32, math.ceil(centre * scale[0] / 32) * 32)
    high = max(centre, math.floor(centre * scale[1] / 32) * 32)
    steps = (high - low) // 32
    stride = 32 * max(1, math.ceil(steps / max(1, most - 1)))
    below = range(centre, low - 1, -stride)
    above = range(centre + stride, high + 1, stride)
    sizes = sorted({low, *below, *above, high})  # both ends of the span, then evenly from the training size
    while len(sizes) > most:  # keep the training size, drop the farthest
        sizes.remove(max(sizes, key=lambda s: abs(s - centre)))
    return tuple(sizes)


def fit_to_model(
    space: SearchSpace,
    *,
    train_imgsz: int | None,
    one_shot_limit: float | None,
    family: str,
    recovered_limit: float | None = None,
    recovery_lr: float | None = None,
) -> tuple[SearchSpace, list[str]]:
    """``space`` for one model: ``around_model`` sizes centred on ``train_imgsz`` (the base input size becomes
    it), structured pruning with no recovery epochs limited to ``one_shot_limit`` and with recovery epochs to
    ``recovered_limit``, and a sampled ``prune.lr`` centred (geometrically, its span kept) on ``recovery_lr``,
    the rate the family's recipe fits to the data (``DetectorFamily.recovery_lr``), which the base (so the
    recovery probes) takes; plus one line per change. The limits stay in the space (``Knob.limits``): the
    reference probes prune at them.

    Example:
        >>> from paretodet.spaces import load_space
        >>> fitted, notes = fit_to_model(load_space("balanced"), train_imgsz=640, one_shot_limit=None, family="f")
        >>> fitted.base.imgsz, notes[0][:40]
        (640, 'input sizes 320-640 px, around the model')
    """
    notes: list[str] = []
    space = _fit_sizes(space, train_imgsz, notes)
    if one_shot_limit is not None:
        space = _limit_pruning(space, one_shot_limit, family, notes, recovered=False)
    if recovered_limit is not None:
        space = _limit_pruning(space, recovered_limit, family, notes, recovered=True)
    if recovery_lr is not None:
        space = _centre_recovery_lr(space, recovery_lr, family, notes)
    return space, notes


def _centre_recovery_lr(space: SearchSpace, rate: float, family: str, notes: list[str]) -> SearchSpace:
    """A sampled ``prune.lr`` moved onto ``rate``: its range (or choices) scaled so that its geometric centre is
    ``rate`` (its high/low ratio kept, 3 significant digits), and the base at ``rate``; unchanged when the space
    does not sample it."""
    knob = next((k for k in space.knobs if k.name == "prune.lr"), None)
    if knob is None:
        return space
    values = [float(v) for v in (knob.choices or (knob.low or 0.0, knob.high or 0.0))]
    if not rate > 0 or min(values) <= 0:
        return space
    factor = rate / math.exp(sum(math.log(v) for v in values) / len(values))
    top = float(knob_specs()["prune.lr"].high or 1.0)
    moved = [min(float(f"{v * factor:.3g}"), top) for v in values]
    if knob.choices:
        fitted = dataclasses.replace(knob, choices=tuple(dict.fromkeys(moved)))
    else:  # the rate itself stays inside the rounded range
        fitted = dataclasses.replace(knob, low=min(moved[0], rate), high=max(moved[1], rate))
    notes.append(
        f"prune.lr {_span(fitted)} (the space's {_span(knob)} centred on {rate:g}): the recovery rate the "
        f"{family} recipe fits to this data's classes"
    )
    space = space.with_knobs(fitted)
    return dataclasses.replace(space, base=space.base.replace({"prune.lr": rate}))


def _span(knob: Knob) -> str:
    if knob.choices:
        return ", ".join(f"{float(c):g}" for c in knob.choices)
    return f"{float(knob.low or 0):g}-{float(knob.high or 0):g}"


def _fit_sizes(space: SearchSpace, train_imgsz: int | None, notes: list[str]) -> SearchSpace:
    knob = next((k for k in space.knobs if k.name == "imgsz" and k.around_model is not None), None)
    if knob is None or knob.around_model is None:
        return space
    centre = train_imgsz or Candidate().imgsz
    sizes = sizes_around(centre, knob.around_model)
    why = (
        f"around the model's training size {train_imgsz} px"
        if train_imgsz
        else f"around {centre} px: the model does not record its training size"
    )
    notes.append(f"input sizes {sizes[0]}-{sizes[-1]} px, {why}; the original model is measured at {centre} px")
    fitted = space.with_knobs(dataclasses.replace(knob, choices=sizes))
    base = round(centre / 32) * 32
    return dataclasses.replace(fitted, base=fitted.base.replace({"imgsz": base}))


def _limit_pruning(space: SearchSpace, limit: float, family: str, notes: list[str], *, recovered: bool) -> SearchSpace:
    """Structured methods with ``prune.finetune_epochs`` 0 (``recovered``: above 0; sampled, or the base's)
    sample ratios up to ``limit`` (per-part ratios above it are not sampled); the epochs knob moves right after
    the method so the condition is known when the ratios are sampled."""
    by_name = {k.name: k for k in space.knobs}
    method = by_name.get("prune.method")
    if method is None or not method.choices:
        return space
    spec = knob_specs()["prune.method"]
    structured = tuple(c for c in method.choices if spec.needed(c) == "prune")
    if not structured:
        return space
    epochs = by_name.get("prune.finetune_epochs")
    recovers = epochs is not None and any(v != 0 for v in (epochs.choices or (epochs.high,)))
    if recovered:
        if epochs is None or not epochs.choices or not recovers:
            return space  # no recovery epochs sampled (or a range: not limited)
        trained = tuple(v for v in epochs.choices if v != 0)
        condition = (("prune.method", structured), ("prune.finetune_epochs", trained))
    else:
        condition = (("prune.method", structured), ("prune.finetune_epochs", (0,)))
    knobs: list[Knob] = []
    for knob in space.knobs:
        if knob.name == "prune.finetune_epochs":
            continue
        if knob.name in _PER_PART:
            knob = dataclasses.replace(knob, limits=(*knob.limits, (limit, condition)))
        knobs.append(knob)
        if knob.name == "prune.method" and epochs is not None:
            knobs.append(epochs)
    if recovered:
        notes.append(
            f"structured pruning ({', '.join(structured)}) with recovery epochs sampled up to ratio {limit:g} only: "
            f"{family} models do not recover above it in a search's few epochs (the family's measured limit)"
        )
    else:
        when = "without recovery epochs" if recovers else "(this space has no recovery epochs)"
        notes.append(
            f"structured pruning ({', '.join(structured)}) {when} sampled up to ratio {limit:g} only: {family} "
            f"models keep little accuracy above it one-shot (the family's measured limit)"
        )
    return SearchSpace(knobs=tuple(knobs), base=space.base)


def technique_notes(space: SearchSpace, techniques: Collection[str], family: str) -> list[str]:
    """One line per technique ``family`` lacks that ``space`` would sample, naming the knob values left out.

    Example:
        >>> from paretodet.spaces import load_space
        >>> technique_notes(load_space("balanced"), {"fp16", "int8", "mixed_precision"}, "f")[0]
        'qat not sampled (f models lack it): quant.qat_epochs 1'
    """
    missing: dict[str, list[str]] = {}
    for knob in space.knobs:
        spec = knob_specs()[knob.name]
        if isinstance(spec.needs, str) and spec.needs not in techniques:
            values = ", ".join(str(c) for c in knob.choices if c != spec.default) or "any value"
            missing.setdefault(spec.needs, []).append(f"{knob.name} {values}")
            continue
        left: dict[str, list[str]] = {}
        for choice in knob.choices:
            need = spec.needed(choice)
            if need is not None and need not in techniques:
                left.setdefault(need, []).append(str(choice))
        for need, choices in left.items():
            missing.setdefault(need, []).append(f"{knob.name} {', '.join(choices)}")
    return [f"{need} not sampled ({family} models lack it): {'; '.join(knobs)}" for need, knobs in missing.items()]
