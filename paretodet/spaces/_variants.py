"""Technique variants: the ways of using one technique that a report compares ("INT8 PTQ", "INT8 + QAT",
"pruning + KD recovery", ...), each declared once.

An entry holds its name (the technique table's row label and the reference probe's name), the predicate that
picks its trials from typed knob values, the probe config that measures it (in the space's own values), the
variant it mitigates, and its wording in verdicts. The reference probes (``search.study._probes``), the technique
table and its verdicts, and the written analysis (``reports``) all read :data:`VARIANTS`; adding a variant is
one :func:`register_variant` call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from paretodet.spaces._configs import PRUNE_METHOD_NAMES
from paretodet.spaces._knobs import value_text
from paretodet.spaces._space import Knob, SearchSpace

__all__ = [
    "ORIGINAL_PROBE",
    "VARIANTS",
    "ProbeContext",
    "TechniqueVariant",
    "is_variant",
    "register_variant",
    "unregister_variant",
]

ORIGINAL_PROBE = "original"  # the probe of the unmodified model; the others are named after their variant
Values = Mapping[str, Any]  # typed knob values of one trial, every knob present (defaults filled in)


class ProbeContext:
    """What a variant's probe is built from: the space's knobs and values that the space allows.

    ``at`` is where every probe is measured (the largest input size the space samples). Values a probe does not
    name are the space's base values: a space fitted to a model (``fit_to_model``) holds its family's fitted
    recovery rate there (``prune.lr``), and its measured pruning limits in the ratio knobs' ``limits``, which
    :meth:`prune_ratio` reads.
    """

    def __init__(self, space: SearchSpace) -> None:
        self.knobs = {k.name: k for k in space.knobs}
        self.base = space.base.to_dict()
        self.at: dict[str, Any] = {"imgsz": max(allowed(self.knobs.get("imgsz"), [self.base["imgsz"]]))}

    def prune_ratio(self, values: Values) -> float | None:
        """The ``prune.ratio`` a pruning probe with ``values`` (its method and recovery epochs) measures where the
        space limits it (a family's measured one-shot or recovered limit): the limit as the space samples it (on
        its step; the limit itself below its range); None where no limit holds (the probe takes the base ratio).

        Example:
            >>> from paretodet.spaces import fit_to_model, load_space
            >>> space, _ = fit_to_model(load_space("balanced"), train_imgsz=640, one_shot_limit=0.05, family="f")
            >>> ProbeContext(space).prune_ratio({"prune.method": "l2", "prune.finetune_epochs": 0})
            0.05
        """
        knob = self.knobs.get("prune.ratio")
        limit = None if knob is None else knob.held_to(dict(values), self.base)
        if knob is None or limit is None:
            return None
        if knob.choices:  # a limit below a choice keeps the base ratio (see sample)
            fits = all(float(c) <= limit for c in knob.choices)
            return float(max(knob.choices)) if fits else float(self.base["prune.ratio"])
        top = knob.capped_high(limit)
        return limit if top is None else round(top, 6)

    def least_positive(self, name: str) -> Any:
        """The smallest positive value the space allows for ``name`` (1 when it samples none)."""
        positive = [v for v in allowed(self.knobs.get(name), []) if _number(v) and v > 0]
        return min(positive) if positive else 1

    def middle_positive(self, name: str) -> Any:
        """The middle positive value the space allows for ``name`` (0.5 when it samples none)."""
        positive = sorted(v for v in allowed(self.knobs.get(name), []) if _number(v) and v > 0)
        return positive[len(positive) // 2] if positive else 0.5

    def middle_below_one(self, name: str) -> float | None:
        """The middle value below 1 the space allows for ``name`` (None when it allows none)."""
        smaller = sorted(v for v in allowed(self.knobs.get(name), []) if _number(v) and v < 1.0)
        return smaller[len(smaller) // 2] if smaller else None

    def structured_method(self) -> str | None:
        """The structured pruning method probes use: ``l2`` when the space samples it, else its first one."""
        from paretodet.compress import STRUCTURED_METHODS

        methods = [m for m in allowed(self.knobs.get("prune.method"), []) if m in STRUCTURED_METHODS]
        return "l2" if "l2" in methods else (methods[0] if methods else None)


def allowed(knob: Knob | None, default: list[Any]) -> list[Any]:
    """The values a space's knob takes (its choices, or its bounds); ``default`` when it does not sample it."""
    if knob is None:
        return default
    if knob.choices:
        return list(knob.choices)
    return [v for v in (knob.low, knob.high) if v is not None]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class TechniqueVariant:
    """One way of using one technique.

    Attributes:
        name: the technique table's row label and the reference probe's name.
        technique: the technique it uses alone (a key of ``TECHNIQUES``).
        test: whether a trial using only that technique is this variant (typed knob values, defaults filled).
        probe: the knob values that measure it, given the space (None: the space cannot express it).
        mitigates: the variant whose accuracy loss it is meant to win back (None: a technique alone).
        verdict: its word in a verdict: the label of a technique alone ("INT8 PTQ"), the name of a mitigation
            ("QAT").
        details: a few words on the trial's own knobs ("2 ep, alpha 0.5"); '' for none.
    """

    name: str
    technique: str
    test: Callable[[Values], bool]
    probe: Callable[[ProbeContext], dict[str, Any] | None]
    mitigates: str | None = None
    verdict: str = ""
    details: Callable[[Values], str] = lambda _v: ""


VARIANTS: dict[str, TechniqueVariant] = {}


def register_variant(variant: TechniqueVariant) -> TechniqueVariant:
    """Add ``variant`` (its name must be new; a mitigation names a registered variant)."""
    if variant.name in VARIANTS:
        raise ValueError(f"technique variant '{variant.name}' is registered already")
    if variant.mitigates is not None and variant.mitigates not in VARIANTS:
        raise ValueError(f"technique variant '{variant.name}' mitigates unknown '{variant.mitigates}'")
    VARIANTS[variant.name] = variant
    return variant


def unregister_variant(name: str) -> None:
    """Remove a variant (tests that add one)."""
    VARIANTS.pop(name, None)


def is_variant(name: str, values: Values) -> bool:
    """Whether a trial's knob values are variant ``name``: its test holds and no test of a variant that
    mitigates it does (a mitigated trial is the mitigation's, not the technique alone's).

    Example:
        >>> values = {**knob_defaults(), "quant.precision": "int8", "quant.fp_layers": 2}  # doctest: +SKIP
        >>> is_variant("INT8 PTQ", values), is_variant("INT8 + mixed precision", values)  # doctest: +SKIP
        (False, True)
    """
    variant = VARIANTS[name]
    fixes = (v for v in VARIANTS.values() if v.mitigates == name)
    return variant.test(values) and not any(fix.test(values) for fix in fixes)


# ------------------------------------------------------------------------------------------------ entries


def _int8(v: Values) -> bool:
    return v["quant.precision"] == "int8"


def _int8_probe(ctx: ProbeContext, **more: Any) -> dict[str, Any]:
    return {**ctx.at, "quant.precision": "int8", **more}


def _pruned_probe(ctx: ProbeContext, **more: Any) -> dict[str, Any] | None:
    """Structured pruning at the largest ratio the space samples for it (a family's measured limit)."""
    method = ctx.structured_method()
    if method is None:
        return None
    wish = {"prune.method": method, **more}
    ratio = ctx.prune_ratio(wish)
    return {**ctx.at, **wish, **({} if ratio is None else {"prune.ratio": ratio})}


def _recovery_probe(ctx: ProbeContext, *, kd: bool) -> dict[str, Any] | None:
    alpha = ctx.middle_positive("distill.alpha") if kd else 0.0
    epochs = ctx.least_positive("prune.finetune_epochs")
    return _pruned_probe(ctx, **{"prune.finetune_epochs": epochs, "distill.alpha": alpha})


def _student_probe(ctx: ProbeContext, *, kd: bool) -> dict[str, Any] | None:
    width = ctx.middle_below_one("distill.student_width")
    if width is None:
        return None
    alpha = ctx.middle_positive("distill.alpha") if kd else 0.0
    return {**ctx.at, "distill.student_width": width, "distill.student_depth": 1.0, "distill.alpha": alpha}


def _blocks(v: Values) -> str:
    n = v["quant.fp_layers"]
    return f"{n} FP32 block{'s' * (n != 1)}"


def _pruning(v: Values) -> str:
    method = str(v["prune.method"])
    return f"{PRUNE_METHOD_NAMES.get(method, method)}, ratio {value_text(v['prune.ratio'])}"


def _student(v: Values) -> str:
    """A student's shape: its model YAML, or its width and depth."""
    if v["distill.student_yaml"]:
        return f"student {v['distill.student_yaml']}"
    return f"width {value_text(v['distill.student_width'])}, depth {value_text(v['distill.student_depth'])}"


for _variant in (
    TechniqueVariant(
        "FP16",
        "quant",
        lambda v: v["quant.precision"] == "fp16",
        lambda ctx: {**ctx.at, "quant.precision": "fp16"},
        verdict="FP16",
    ),
    TechniqueVariant(
        "INT8 PTQ",
        "quant",
        _int8,  # its mitigations' trials are theirs (see is_variant)
        _int8_probe,
        verdict="INT8 PTQ",
    ),
    TechniqueVariant(
        "INT8 + mixed precision",
        "quant",
        lambda v: _int8(v) and v["quant.fp_layers"] > 0 and not v["quant.qat_epochs"],
        lambda ctx: _int8_probe(ctx, **{"quant.fp_layers": ctx.least_positive("quant.fp_layers")}),
        mitigates="INT8 PTQ",
        verdict="mixed precision",
        details=_blocks,
    ),
    TechniqueVariant(
        "INT8 + QAT",
        "quant",
        lambda v: _int8(v) and v["quant.qat_epochs"] > 0,
        lambda ctx: _int8_probe(ctx, **{"quant.qat_epochs": ctx.least_positive("quant.qat_epochs")}),
        mitigates="INT8 PTQ",
        verdict="QAT",
        details=lambda v: f"{v['quant.qat_epochs']} ep",
    ),
    TechniqueVariant(
        "pruning one-shot",
        "prune",
        lambda v: not v["prune.finetune_epochs"],
        lambda ctx: _pruned_probe(ctx, **{"prune.finetune_epochs": 0}),
        verdict="Pruning one-shot",
        details=_pruning,
    ),
    TechniqueVariant(
        "pruning + fine-tuning recovery",
        "prune",
        lambda v: v["prune.finetune_epochs"] > 0 and not v["distill.alpha"],
        lambda ctx: _recovery_probe(ctx, kd=False),
        mitigates="pruning one-shot",
        verdict="fine-tuning",
        details=lambda v: f"{v['prune.finetune_epochs']} ep",
    ),
    TechniqueVariant(
        "pruning + KD recovery",
        "prune",
        lambda v: v["prune.finetune_epochs"] > 0 and v["distill.alpha"] > 0,
        lambda ctx: _recovery_probe(ctx, kd=True),
        mitigates="pruning one-shot",
        verdict="KD recovery",
        details=lambda v: f"{v['prune.finetune_epochs']} ep, alpha {value_text(v['distill.alpha'])}",
    ),
    TechniqueVariant(
        "student (no KD)",
        "distill",
        lambda v: not v["distill.alpha"],
        lambda ctx: _student_probe(ctx, kd=False),
        verdict="Student without KD",
        details=_student,
    ),
    TechniqueVariant(
        "student + KD",
        "distill",
        lambda v: v["distill.alpha"] > 0,
        lambda ctx: _student_probe(ctx, kd=True),
        mitigates="student (no KD)",
        verdict="KD",
        details=lambda v: f"alpha {value_text(v['distill.alpha'])}, {_student(v)}",
    ),
):
    register_variant(_variant)
