"""The precision hint an artifact runs with when it is measured again (``evaluate``, ``compare``).

A paretodet artifact records the hint it was built with beside it (its ``<file>.json`` sidecar, like its
family), a trial's artifact in the study; that hint is the one it runs with, unless ``--precision-hint`` asks for
another (or sets one for a file that records none, such as a third-party IR). Without either, the runtime runs
the ``precision_hint`` knob's default. The source is recorded with the figures (``Metrics.hint_source``).
"""

from __future__ import annotations

import dataclasses

from paretodet.errors import ConfigError
from paretodet.runtimes import Artifact, runtime_spec

__all__ = ["HINT_SOURCES", "build_hint_source", "with_hint"]

# where the hint an artifact runs with came from (``Metrics.hint_source``; empty: its runtime takes none)
HINT_SOURCES: tuple[str, ...] = ("artifact", "option", "default")


def with_hint(artifact: Artifact, hint: str | None = None) -> tuple[Artifact, str]:
    """``artifact`` with the precision hint it runs with on its runtime, and where that hint came from:
    ``option`` (``hint``, which overrides), ``artifact`` (the one it records), or ``default`` (the
    ``precision_hint`` knob's); no hint and ``""`` when its runtime takes none.

    Raises:
        ConfigError: one line, when ``hint`` is given for a runtime that takes none, or the hint is not one the
            runtime takes, or not one it offers on this host.

    Example:
        >>> art, source = with_hint(artifact_from_file(Path("ov/model.xml")))  # doctest: +SKIP
        >>> art.precision_hint, source  # doctest: +SKIP
        ('bf16', 'artifact')
    """
    spec = runtime_spec(artifact.runtime)
    if not spec.hints:
        if hint is not None:
            raise ConfigError(
                f"runtime={spec.name} takes no precision hint ({artifact.path.name} computes as the file says): "
                f"drop --precision-hint"
            )
        return dataclasses.replace(artifact, precision_hint=""), ""
    if hint is not None:
        chosen, source = hint, "option"
    elif artifact.precision_hint:
        chosen, source = artifact.precision_hint, "artifact"
    else:
        from paretodet.spaces import knob_defaults

        chosen, source = str(knob_defaults()["precision_hint"]), "default"
    if chosen not in spec.hints:
        raise ConfigError(
            f"runtime={spec.name} takes precision hint {' | '.join(spec.hints)}, not {chosen}: "
            f"pass one of those with --precision-hint"
        )
    spec.require()  # the runtime's package (and GPU) here
    offered = spec.offered_hints()
    if chosen not in offered:
        lead = (
            f"{artifact.path.name} was built for precision_hint={chosen}, which runtime={spec.name} does not offer"
            if source == "artifact"
            else f"precision_hint={chosen} is not offered by runtime={spec.name}"
        )
        raise ConfigError(
            f"{lead} on this host (it offers {' | '.join(offered) or 'none'}): pass one of those with --precision-hint"
        )
    return dataclasses.replace(artifact, precision_hint=chosen), source


def build_hint_source(runtime: str, hint: str | None) -> str:
    """Where the hint of a candidate built here for ``runtime`` comes from: ``option`` (``hint``), ``default``
    (the knob's), or ``""`` when ``runtime`` takes none (ConfigError in one line when ``hint`` is given then).

    Example:
        >>> build_hint_source("onnxruntime", None), build_hint_source("openvino", "f32")
        ('', 'option')
    """
    if not runtime_spec(runtime).hints:
        if hint is not None:
            raise ConfigError(f"runtime={runtime} takes no precision hint: drop --precision-hint")
        return ""
    return "default" if hint is None else "option"
