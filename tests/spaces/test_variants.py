"""A technique variant is declared once (``paretodet.spaces.VARIANTS``): adding one there gives it a reference
probe, a row in the technique table, a verdict and a place in the written analysis, with nothing else edited."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from paretodet.reports import build_info
from paretodet.reports._analysis import analyze
from paretodet.reports._tables import technique_table_markdown
from paretodet.reports._verdicts import technique_table
from paretodet.search.study._probes import reference_probes
from paretodet.spaces import VARIANTS, Candidate, TechniqueVariant, load_space, register_variant, unregister_variant

TOY = "INT8 per-channel"


@pytest.fixture
def toy_variant() -> Iterator[TechniqueVariant]:
    variant = register_variant(
        TechniqueVariant(
            TOY,
            "quant",
            lambda v: v["quant.precision"] == "int8" and bool(v["quant.per_channel"]),
            lambda ctx: {**ctx.at, "quant.precision": "int8", "quant.per_channel": True},
            mitigates="INT8 PTQ",
            verdict="per-channel weights",
            details=lambda v: "per-channel",
        )
    )
    yield variant
    unregister_variant(TOY)


def _trial(number: int, knobs: dict, map50_95: float, latency_ms: float, size_mb: float) -> dict:
    return {
        "number": number,
        "state": "COMPLETE",
        **Candidate.from_dict(knobs).to_dict(),
        "map50_95": map50_95,
        "map50": map50_95 + 0.2,
        "latency_ms": latency_ms,
        "fps": 1000 / latency_ms,
        "size_bytes": int(size_mb * 1e6),
    }


def test_a_registered_variant_is_probed_tabled_judged_and_analysed(toy_variant: TechniqueVariant) -> None:
    probes = {p.name: p for p in reference_probes(load_space("balanced"), limit=20)}
    assert TOY in probes and probes[TOY].candidate.quant.per_channel  # the balanced space samples per_channel
    trials = pd.DataFrame(
        [
            _trial(0, {}, 0.70, 10.0, 12.0),
            _trial(1, {"quant.precision": "int8"}, 0.66, 7.0, 3.4),
            _trial(2, {"quant.precision": "int8", "quant.per_channel": True}, 0.69, 6.0, 3.3),
        ]
    )
    info = build_info(trials)
    table = technique_table(info)
    assert table.row(TOY).trial == 2
    assert table.row("INT8 PTQ").trial == 1  # a per-channel trial is the mitigation's now, not PTQ alone's
    assert f"| {TOY}: 320 px" in technique_table_markdown(table)
    assert any("per-channel weights (per-channel) recovered 3.0 of the 4.0 points" in v for v in table.verdicts)
    assert any(f"{TOY} in 1" in line for line in analyze(info).lines)


def test_unregistering_removes_it_everywhere(toy_variant: TechniqueVariant) -> None:
    unregister_variant(TOY)
    assert TOY not in VARIANTS
    assert TOY not in {p.name for p in reference_probes(load_space("balanced"), limit=20)}
