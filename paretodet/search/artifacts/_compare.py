"""Put artifacts on equal footing: mAP on the same images by the same evaluator, size on disk, and latency timed
in interleaved rounds as a ratio to a reference (``paretodet compare``)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paretodet.data import ClassCheck
from paretodet.errors import ConfigError, StudyError
from paretodet.objectives import RatioInterval, RoundSettings, ScoredImages
from paretodet.runtimes import Artifact
from paretodet.search.artifacts._evaluate_model import is_artifact_file

__all__ = ["Compared", "Comparison", "compare_models", "resolve_item"]


@dataclass(frozen=True)
class Compared:
    """One compared item: where it came from, its artifact and what it measured."""

    label: str
    artifact: Artifact
    map50_95: float
    map50: float
    latency: RatioInterval
    ratio: RatioInterval
    map_interval: tuple[float, float] | None = None
    delta: dict[str, float] | None = None  # change of mAP50-95 against the reference, paired on the same images
    scored: ScoredImages | None = None  # the per-image matches behind the mAP figures
    runtime_hint: str = ""  # the precision hint the runtime reported it ran with (empty: it takes none)
    hint_source: str = ""  # where that hint came from (see ``search.artifacts._hints``)
    class_names_check: str = ""  # matched, ignored or unchecked (see ``paretodet.data.check_class_names``)

    def to_row(self) -> dict[str, Any]:
        """A flat JSON-ready row."""
        lo, hi = self.map_interval or (float("nan"), float("nan"))
        delta = self.delta or {}
        return {
            "item": self.label,
            "runtime": self.artifact.runtime,
            "precision": self.artifact.precision,
            "runtime_hint": self.runtime_hint,
            "hint_source": self.hint_source,
            "class_names_check": self.class_names_check,
            "imgsz": self.artifact.imgsz,
            "map50_95": self.map50_95,
            "map50_95_low": lo,
            "map50_95_high": hi,
            "map50": self.map50,
            "delta_map50_95": delta.get("delta", float("nan")),
            "delta_low": delta.get("low", float("nan")),
            "delta_high": delta.get("high", float("nan")),
            "size_bytes": self.artifact.size_bytes(),
            "latency_ms": self.latency.median,
            "latency_low_ms": self.latency.low,
            "latency_high_ms": self.latency.high,
            "latency_ratio": self.ratio.median,
            "ratio_low": self.ratio.low,
            "ratio_high": self.ratio.high,
        }


@dataclass(frozen=True)
class Comparison:
    """The compared items (the reference first), the rounds and the host they were timed on."""

    items: list[Compared]
    rounds: int
    images: int
    host: dict[str, Any] = field(default_factory=dict)
    others_cpu: float = 0.0
    notes: tuple[str, ...] = ()  # what was not checked of the items' class names (one line each)

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per item."""
        return [item.to_row() for item in self.items]


def resolve_item(
    item: str,
    data: Path,
    *,
    imgsz: int,
    runtime: str,
    build_dir: Path,
    trust_model: bool = False,
    ignore_class_names: bool = False,
) -> Artifact:
    """The artifact ``item`` names: ``WORKDIR#TRIAL`` (a trial's artifact), an artifact file or folder
    (``.onnx``, OpenVINO ``.xml``, an Ultralytics ``*_openvino_model/``), or a checkpoint, built here as an FP32
    artifact at ``imgsz`` on ``runtime`` (refused in one line when its classes are not the data's, unless
    ``ignore_class_names``: see ``load_model_and_data``).

    Example:
        >>> resolve_item("work#3", Path("d.yaml"), imgsz=320, runtime="onnxruntime", build_dir=Path("t"))
        ... # doctest: +SKIP
    """
    if "#" in item:
        workdir, _, number = item.rpartition("#")
        return trial_artifact(Path(workdir), number)
    if is_artifact_file(item):
        from paretodet.runtimes import artifact_from_file

        return artifact_from_file(Path(item).expanduser())
    from paretodet.search.pipeline import build, load_model_and_data
    from paretodet.spaces import Candidate

    detector, info = load_model_and_data(item, data, trust_model=trust_model, ignore_class_names=ignore_class_names)
    candidate = Candidate.from_dict({"imgsz": imgsz, "runtime": runtime})
    return build(candidate, detector, info, workdir=build_dir).artifact


def trial_artifact(workdir: Path, number: str) -> Artifact:
    """The artifact of trial ``number`` of the study in ``workdir`` (one clear line when there is none)."""
    from paretodet.search.artifacts._measure import local_artifact
    from paretodet.search.store import open_workdir_study

    if not number.isdigit():
        raise ConfigError(f"'{workdir}#{number}': the part after '#' must be a trial number")
    study, _ = open_workdir_study(workdir)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    trial = trials.get(int(number))
    if trial is None or trial.state.name != "COMPLETE" or not trial.user_attrs.get("artifact"):
        raise StudyError(f"trial {number} of {workdir} has no completed artifact: pick a completed trial")
    artifact = local_artifact(trial.user_attrs["artifact"], workdir)
    if artifact is None:
        raise StudyError(f"the artifact of trial {number} is not on this machine: copy {workdir}/cache here")
    return artifact


def compare_models(
    items: Sequence[str],
    data: Path,
    *,
    imgsz: int = 320,
    runtime: str = "onnxruntime",
    rounds: RoundSettings | None = None,
    threads: int = 2,
    trust_model: bool = False,
    precision_hint: str | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    ignore_class_names: bool = False,
) -> Comparison:
    """Measure ``items`` (the first is the reference) on the val split of ``data``: mAP by pycocotools with a
    bootstrap interval and the paired change against the reference, size, and latency in interleaved rounds.
    Each item runs with the precision hint it was built with (where its runtime takes one); ``precision_hint``
    sets it for every item whose runtime takes one (see ``search.artifacts._hints``). An item whose class names are
    not the data's is refused in one line, unless ``ignore_class_names`` (scored by class id; ``Comparison.notes``
    say so).

    Example:
        >>> table = compare_models(["best.pt", "work#4", "export.onnx"], Path("d.yaml"))  # doctest: +SKIP
    """
    from paretodet.data import load_dataset

    if len(items) < 2:
        raise ConfigError("compare needs a reference and at least one other item")
    info = load_dataset(data)
    stage = on_stage or (lambda _text: None)
    with tempfile.TemporaryDirectory(prefix="paretodet-compare-") as tmp:
        artifacts = []
        for i, item in enumerate(items):
            stage(f"opening {item}")
            artifacts.append(
                resolve_item(
                    item,
                    data,
                    imgsz=imgsz,
                    runtime=runtime,
                    build_dir=Path(tmp) / str(i),
                    trust_model=trust_model,
                    ignore_class_names=ignore_class_names,
                )
            )
        artifacts, sources = hinted_items(artifacts, precision_hint)
        checks = _class_checks(list(items), artifacts, info, ignore=ignore_class_names)
        return measure_side_by_side(
            list(items),
            artifacts,
            info,
            rounds=rounds,
            threads=threads,
            stage=stage,
            on_progress=on_progress,
            hint_sources=sources,
            checks=checks,
        )


def hinted_items(artifacts: Sequence[Artifact], hint: str | None) -> tuple[list[Artifact], list[str]]:
    """Each artifact with the precision hint it runs with, and where that came from: ``hint`` for every one whose
    runtime takes a hint (ConfigError in one line when none does), else the one it records (see ``with_hint``)."""
    from paretodet.runtimes import runtime_spec
    from paretodet.search.artifacts._hints import with_hint

    takes = [bool(runtime_spec(a.runtime).hints) for a in artifacts]
    if hint is not None and not any(takes):
        raise ConfigError("no compared item runs on a runtime that takes a precision hint: drop --precision-hint")
    pairs = [with_hint(a, hint if t else None) for a, t in zip(artifacts, takes)]
    return [a for a, _ in pairs], [source for _, source in pairs]


def _class_checks(labels: list[str], artifacts: list[Artifact], info: Any, *, ignore: bool) -> list[ClassCheck]:
    """How each artifact's class names compare with the data's (see ``paretodet.data.check_class_names``); one
    line (ConfigError) for the first that does not match, unless ``ignore``."""
    from paretodet.data import check_class_names

    data = str(info.yaml_path)
    return [
        check_class_names(a.names, info.names, model=label, data=data, ignore=ignore)
        for a, label in zip(artifacts, labels)
    ]


def measure_side_by_side(
    labels: list[str],
    artifacts: list[Artifact],
    info: Any,
    *,
    rounds: RoundSettings | None,
    threads: int,
    stage: Callable[[str], None],
    on_progress: Callable[[int, int], None] | None,
    score: bool = True,
    nms: Any = None,
    hint_sources: Sequence[str] = (),
    checks: Sequence[ClassCheck] = (),
) -> Comparison:
    """mAP of each artifact on the same images (the whole val split; skipped unless ``score``), then latency
    of all in interleaved rounds (artifact 0: REF); ``hint_sources`` say where each one's precision hint came from,
    ``checks`` how each one's class names compared with the data's (see :func:`_class_checks`)."""
    from paretodet.base import timing_host
    from paretodet.data import read_truth, split_images
    from paretodet.objectives import image_accuracy, paired_change, time_interleaved
    from paretodet.runtimes import open_runner, runtime_entry

    runners = [open_runner(a, threads=threads) for a in artifacts]
    truths = [read_truth(info, p) for p in split_images(info)] if score else []
    scores = []
    for label, runner, artifact in zip(labels, runners, artifacts):
        stage(f"scoring {label}")
        scores.append(
            image_accuracy(runner, info, imgsz=artifact.imgsz, truths=truths, nms=nms, on_image=on_progress)
            if score
            else ScoredImages(map50_95=float("nan"), map50=float("nan"), images=0, detections=0)
        )
    stage("timing in interleaved rounds")
    timing = time_interleaved(runners, [a.imgsz for a in artifacts], settings=rounds, on_round=on_progress)
    compared = [
        Compared(
            label=label,
            artifact=artifact,
            map50_95=score.map50_95,
            map50=score.map50,
            map_interval=score.interval,
            delta=paired_change(scores[0], score) if i else None,
            scored=score if score.evals is not None else None,
            latency=timing.latency(i),
            ratio=timing.ratio(i),
            runtime_hint=getattr(runners[i], "precision_hint", ""),
            hint_source=hint_sources[i] if hint_sources else "",
            class_names_check=checks[i].status if checks else "",
        )
        for i, (label, artifact, score) in enumerate(zip(labels, artifacts, scores))
    ]
    ref = artifacts[0]
    host = timing_host(runtime=ref.runtime, package=runtime_entry(ref.runtime).package, threads=threads)
    return Comparison(
        items=compared,
        rounds=timing.rounds,
        images=scores[0].images,
        host=host.to_dict(),
        others_cpu=timing.others_cpu,
        notes=tuple(dict.fromkeys(c.note for c in checks if c.note)),
    )
