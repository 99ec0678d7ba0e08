"""What runs an artifact: the runtime registry (one :class:`RuntimeSpec` per runtime), the :class:`Artifact` a
candidate becomes, and the runners that open it. Below what builds artifacts (``compress``) and what measures
them (``objectives``); runners import their runtime (ONNX Runtime, OpenVINO, torch) only when opened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

# the public names: the imports under TYPE_CHECKING below (type checkers read them; each is imported on first use)
__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.runtimes._artifact import Artifact as Artifact
    from paretodet.runtimes._open_file import (
        ARTIFACT_SUFFIXES as ARTIFACT_SUFFIXES,
        artifact_from_file as artifact_from_file,
    )
    from paretodet.runtimes._registry import (
        PRECISION_HINTS as PRECISION_HINTS,
        RuntimeSpec as RuntimeSpec,
        add_runtime as add_runtime,
        list_runtimes as list_runtimes,
        runtime_label as runtime_label,
        runtime_names as runtime_names,
        runtime_spec as runtime_spec,
        usable_runtimes as usable_runtimes,
    )
    from paretodet.runtimes._runners import (
        Runner as Runner,
        RuntimeEntry as RuntimeEntry,
        open_runner as open_runner,
        register_runtime as register_runtime,
        runtime_entry as runtime_entry,
    )
