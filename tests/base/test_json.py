"""Strict JSON: what paretodet writes parses in strict parsers (no NaN, Infinity)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from paretodet.base import json_safe, strict_json


def strict_loads(text: str) -> Any:
    """``json.loads`` that refuses ``NaN``/``Infinity``, as JavaScript's ``JSON.parse`` does."""

    def reject(constant: str) -> object:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=reject)


def test_undefined_numbers_become_null() -> None:
    value = {"nan": math.nan, "inf": -math.inf, "np": np.float32("nan"), "rows": [1.5, np.float64(2.0), (math.inf,)]}
    text = strict_json(value)
    assert strict_loads(text) == {"nan": None, "inf": None, "np": None, "rows": [1.5, 2.0, [None]]}
    assert json_safe({"keep": "NaN", "n": 3}) == {"keep": "NaN", "n": 3}


def test_the_plain_encoder_would_write_nan() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        strict_loads(json.dumps({"delta_map50_95": math.nan}))
