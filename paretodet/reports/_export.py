"""Export a selection: the chosen trial's artifact beside its config, metrics and a README.md that says what it
is, what it measured and the ``paretodet apply`` command that rebuilds it."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from paretodet.base import strict_json
from paretodet.errors import StudyError
from paretodet.objectives import METRICS, format_metric
from paretodet.reports._describe import apply_command, config_summary
from paretodet.reports._select import Selection
from paretodet.runtimes import runtime_label

__all__ = ["export_selection", "selection_readme"]


def export_selection(selection: Selection, dest: Path, *, meta: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Copy the chosen trial's artifact to ``dest/model.<ext>`` (with its sidecar ``model.<ext>.json``, which
    records the trial's precision hint, when the cached file has one) and write ``config.yaml``,
    ``metrics.json`` and ``README.md`` beside it. ``meta`` is the work dir's manifest (its ``model`` and
    ``data`` go into the rebuild command). Returns the paths written, by kind.

    Raises:
        StudyError: nothing was selected, or the chosen artifact's file is gone.

    Example:
        >>> export_selection(select_best(df, budgets), Path("ship"), meta=read_manifest(work))  # doctest: +SKIP
        {'artifact': 'ship/model.onnx', 'config': 'ship/config.yaml', ...}
    """
    if selection.best is None:
        raise StudyError("no trial was selected: nothing to export")
    artifact = Path(str(selection.best.get("artifact")))
    if not artifact.is_file():
        raise StudyError(f"the chosen artifact {artifact} is gone: re-run 'paretodet apply' with its config")
    dest.mkdir(parents=True, exist_ok=True)
    paths = {
        "artifact": dest / f"model{artifact.suffix}",
        "config": dest / "config.yaml",
        "metrics": dest / "metrics.json",
        "readme": dest / "README.md",
    }
    shutil.copy2(artifact, paths["artifact"])
    weights = artifact.with_suffix(".bin")
    if artifact.suffix == ".xml" and weights.is_file():  # an OpenVINO IR: its weights beside it, same stem
        paths["weights"] = dest / "model.bin"
        shutil.copy2(weights, paths["weights"])
    sidecar = _ship_sidecar(artifact, paths["artifact"], selection.candidate())
    if sidecar is not None:
        paths["sidecar"] = sidecar
    paths["config"].write_text(yaml.safe_dump(selection.candidate(), sort_keys=False))
    paths["metrics"].write_text(strict_json(selection.metrics()))
    family = _artifact_family(artifact)
    paths["readme"].write_text(selection_readme(selection, meta=meta, model_file=paths["artifact"].name, family=family))
    return {kind: str(path) for kind, path in paths.items()}


def selection_readme(
    selection: Selection,
    *,
    meta: Mapping[str, Any] | None = None,
    model_file: str = "model.onnx",
    family: str = "ultralytics",
) -> str:
    """The README.md of an exported selection (Markdown): the trial, its config in a few words, its metrics with
    units and where latency was timed, the ``paretodet apply`` command that rebuilds it, and its full config.

    Example:
        >>> meta = {"model": "best.pt", "data": "data.yaml"}
        >>> text = selection_readme(select_best(df, []), meta=meta)  # doctest: +SKIP
        >>> "paretodet apply best.pt --data data.yaml" in text  # doctest: +SKIP
        True
    """
    if selection.best is None:
        raise StudyError("no trial was selected: nothing to describe")
    row = selection.best
    number = int(row["number"])
    config = selection.candidate()
    budgets = ", ".join(f"`{b}`" for b in selection.budgets)
    meta = meta or {}
    source = [f"Compressed from `{meta['model']}`; scored on the val split of `{meta['data']}`."] if _has(meta) else []
    lines = [
        f"# paretodet export: trial {number}",
        "",
        f"`{model_file}`: {config_summary(config)}.",
        "",
        f"Chosen by `paretodet select`: the best {_label(selection.objective)} "
        f"{f'under the budgets {budgets}' if budgets else 'with no budget'} "
        f"({selection.feasible_count} feasible trial{'s' if selection.feasible_count != 1 else ''}).",
        *source,
        "",
        "## Metrics",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {_label(name)} | {text} |" for name, text in _metric_rows(selection.metrics())),
        "",
    ]
    timed = _timed_on(row)
    if timed:
        lines += [f"Latency and FPS: batch 1, timed on {timed}.", ""]
    lines += [
        "## Rebuild",
        "",
        "```bash",
        apply_command({**config, "number": number}, meta=meta),
        "```",
        "",
        "Only the knobs that act and differ from their defaults are set; `config.yaml` holds every knob "
        "(`paretodet apply MODEL --data DATA --out DIR --config config.yaml` works too).",
        "",
    ]
    if model_file.endswith((".onnx", ".pt", ".xml")):
        from paretodet.models import get_family

        lines += ["## Run it", "", "```python", *get_family(family).run_snippet(model_file), "```", ""]
    lines += [
        "## Full config",
        "",
        "```yaml",
        yaml.safe_dump(config, sort_keys=False).rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def _artifact_family(artifact: Path) -> str:
    """The detector family an artifact's sidecar records (artifacts made before families: Ultralytics)."""
    sidecar = artifact.with_name(artifact.name + ".json")
    try:
        return str(json.loads(sidecar.read_text()).get("family", "ultralytics"))
    except (OSError, ValueError, AttributeError):
        return "ultralytics"


def _ship_sidecar(cached: Path, shipped: Path, config: Mapping[str, Any]) -> Path | None:
    """Write the shipped copy's sidecar (``model.<ext>.json``): the cached file's, on the trial's runtime with
    the trial's precision hint, which ``evaluate`` and ``compare`` run it with again. None when the cached file
    has no readable sidecar."""
    from paretodet.runtimes import Artifact, list_runtimes, runtime_spec

    try:
        built = Artifact.read_sidecar(cached)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    runtime = str(config.get("runtime") or built.runtime)
    takes_hint = runtime in list_runtimes() and bool(runtime_spec(runtime).hints)
    hint = str(config.get("precision_hint") or "") if takes_hint else ""
    return dataclasses.replace(built, path=shipped, runtime=runtime, precision_hint=hint).write_sidecar()


def _has(meta: Mapping[str, Any]) -> bool:
    return bool(meta.get("model") and meta.get("data"))


def _label(name: str) -> str:
    spec = METRICS.get(name)
    return spec.label if spec else name


def _metric_rows(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(metric, value with unit) for each measured metric; unmeasured ones (NaN, the -1 of older records),
    derived ones (size_mb) and threads (said with the host) left out; a scaled value (bytes shown in MB) also in
    its stored unit."""
    rows = []
    for name, value in metrics.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value) or value < 0:
            continue
        spec = METRICS.get(name)
        if name == "threads" or (spec is not None and spec.derived):
            continue
        text = format_metric(name, value)
        if spec is not None and spec.scale != 1.0 and spec.unit:
            text += f" ({value:,.0f} {spec.unit})"
        rows.append((name, text))
    return rows


def _timed_on(row: Mapping[str, Any]) -> str:
    """Where the trial's latency was timed, from its row (host, CPU, threads, runtime and version)."""

    def present(key: str) -> Any:
        value = row.get(key)
        return None if value is None or (isinstance(value, float) and math.isnan(value)) or value == "" else value

    host, cpu, threads, runtime = present("host"), present("cpu"), present("threads"), present("runtime")
    if host is None:
        return ""
    details = [str(cpu)] if cpu is not None else []
    if threads is not None:
        details.append(f"{int(threads)} thread{'s' if int(threads) != 1 else ''}")
    if runtime is not None:
        version = present("runtime_version")
        details.append(runtime_label(runtime) + (f" {version}" if version else ""))
    details += [
        f"{label} {present(key)}" for key, label in (("provider", "on"), ("runtime_hint", "hint")) if present(key)
    ]
    return f"{host}" + (f" ({', '.join(details)})" if details else "")
