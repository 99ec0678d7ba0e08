"""A detector family's techniques restrict what a search samples and what a candidate may ask for."""

from __future__ import annotations

from paretodet.spaces import load_space, unsupported_knobs


def test_space_for_a_family_without_training_or_students() -> None:
    space = load_space("balanced")
    techniques = {"fp16", "int8", "mixed_precision", "prune", "unstructured", "recover"}
    restricted = space.for_techniques(techniques)
    names = {k.name for k in restricted.knobs}
    assert "quant.qat_epochs" not in names and "distill.student_width" not in names
    assert not any(k.name == "distill.alpha" for k in restricted.knobs)
    full = {k.name for k in space.knobs}
    assert names <= full and "quant.precision" in names


def test_choice_values_follow_techniques() -> None:
    space = load_space("balanced")
    only_quant = space.for_techniques({"fp16"})
    precision = next(k for k in only_quant.knobs if k.name == "quant.precision")
    assert "int8" not in precision.choices and "fp16" in precision.choices
    assert not any(k.name == "prune.method" for k in only_quant.knobs)  # no pruning technique at all


def test_unsupported_knobs_name_the_missing_technique() -> None:
    values = {"quant.precision": "int8", "quant.qat_epochs": 2, "prune.method": "level"}
    assert unsupported_knobs(values, {"int8", "prune"}) == [
        "quant.qat_epochs=2 (needs qat)",
        "prune.method=level (needs unstructured)",
    ]
    assert unsupported_knobs({"quant.precision": "fp16", "quant.qat_epochs": 2}, {"fp16"}) == []  # inactive
