"""The trial pipeline: Candidate -> Artifact (cached per stage) -> Metrics."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import yaml

from paretodet.base import stable_hash, strict_json
from paretodet.compress import (
    Int8Engine,
    Int8Request,
    Int8Settings,
    QatRecipe,
    export_artifact,
    int8_engine,
    pick_calibration_images,
    qat_finetune,
    uses_reduced_range,
)
from paretodet.data import (
    ClassCheck,
    DatasetInfo,
    check_class_names,
    dataset_digest,
    load_dataset,
    split_images,
    ultralytics_data_yaml,
)
from paretodet.errors import ConfigError, DataError, ModelError
from paretodet.models import Detector, EpochCallback, family_for, get_family, load_detector, techniques_for
from paretodet.objectives import EvalSettings, Metrics, evaluate
from paretodet.runtimes import Artifact, RuntimeSpec, runtime_spec
from paretodet.search.pipeline._accuracy_check import ACCURACY_CHECK_IMAGES, accuracy_check
from paretodet.search.pipeline._cache import CacheLog, building
from paretodet.search.pipeline._sensitivity import block_sensitivity
from paretodet.search.pipeline._stages import (
    EpochProgress,
    TrainingWatch,
    check_teacher_classes,
    epoch_listener,
    transformed_detector,
)
from paretodet.spaces import Candidate, stage_knobs, unsupported_knobs

__all__ = [
    "EXPORT_KNOBS",
    "BuildResult",
    "build",
    "build_and_measure",
    "class_check",
    "twin_of",
    "load_model_and_data",
    "write_outputs",
]

# each stage's cache key hashes the knobs whose declaration names the stage (paretodet.spaces.stage_knobs)
EXPORT_KNOBS: tuple[str, ...] = stage_knobs("export")
CALIBRATION_KNOBS: tuple[str, ...] = stage_knobs("calibration")
INT8_KNOBS: tuple[str, ...] = stage_knobs("int8")
QAT_KNOBS: tuple[str, ...] = stage_knobs("qat")
CONVERT_KNOBS: tuple[str, ...] = stage_knobs("convert")
TWIN_CALIB_IMAGES = 8  # an untrained twin's INT8 ranges do not matter (only its shape is timed): a few images


@dataclass(frozen=True)
class BuildResult:
    """An artifact; which stages came from the cache, the cache entries it uses (``<stage>/<key>``), and the
    damaged entries that were found and rebuilt on the way (one line each)."""

    artifact: Artifact
    cache_hits: tuple[str, ...]
    cache_entries: tuple[str, ...] = ()
    cache_repairs: tuple[str, ...] = ()


def build(
    candidate: Candidate,
    detector: Detector,
    data: DatasetInfo,
    *,
    workdir: Path,
    on_epoch: EpochProgress | None = None,
    device: str = "cpu",
    ignore_class_names: bool = False,
    watch: TrainingWatch | None = None,
    untrained: bool = False,
) -> BuildResult:
    """Build ``candidate``'s artifact under ``workdir/cache``, reusing each stage whose inputs are unchanged.

    Stages: [student (distillation)] -> [prune -> recovery fine-tune] -> export (the FP32/FP16 file of the
    runtime the candidate's runtime derives from) -> [int8 by the candidate's engine: block sensitivity, QAT
    fine-tune, calibration ranges, quantize] -> [convert to the candidate's runtime]. ``on_epoch(done, total)``
    reports fine-tuning progress; training runs on ``device`` (cpu, cuda, cuda:N). A ``distill.teacher`` that
    teaches must know the model's classes (``ignore_class_names``: match them by id even if their names differ).
    ``watch`` hears each training epoch and may stop the build. ``untrained``: the artifact of the candidate's
    untrained twin (:func:`twin_of`: the same shape, runtime and precision; nothing trains), whose latency and
    size are the candidate's before it trains.

    Example:
        >>> result = build(Candidate(imgsz=256), load_detector("best.pt"), data, workdir=Path("w"))  # doctest: +SKIP
    """
    if not detector.trainable and candidate.training_knobs():
        raise ModelError(
            f"{detector.source} cannot be trained by paretodet (no training loss for this model format): "
            f"drop {', '.join(candidate.training_knobs())}"
        )
    teacher = candidate.distill.teacher
    unsupported = unsupported_knobs(candidate.to_dict(), techniques_for(detector, teacher=teacher))
    if unsupported:
        taught = f" learning from {family_for(teacher).name} distill.teacher {teacher}" if teacher else ""
        raise ModelError(
            f"the {detector.family} detector family{taught} does not support {', '.join(unsupported)}: drop those knobs"
        )
    if teacher and candidate.distill.alpha > 0:  # before any work: the teacher knows the model's classes
        check_teacher_classes(candidate.distill, detector, ignore=ignore_class_names)
    spec = runtime_spec(candidate.runtime)
    spec.check_host(hint=candidate.precision_hint)  # one line before any work: package, GPU, hint
    log = CacheLog(workdir / "cache")
    candidate = twin_of(candidate) if untrained else candidate
    detector = transformed_detector(
        candidate,
        detector,
        data,
        log=log,
        on_epoch=on_epoch,
        device=device,
        ignore_class_names=ignore_class_names,
        watch=watch,
        untrained=untrained,
    )
    if candidate.quant.precision == "int8":
        engine = int8_engine(candidate.quant.engine)
        base = candidate.replace({"quant.precision": "fp32", "runtime": engine.reads})
        fp32 = _export_stage(base, detector, log=log)
        listener = epoch_listener("qat", detector, on_epoch, watch)
        artifact = _build_int8(candidate, fp32, engine, detector, data, log=log, on_epoch=listener, device=device)
    else:
        artifact = _export_stage(candidate.replace({"runtime": _written_by(spec)}), detector, log=log)
    if artifact.runtime != candidate.runtime:
        artifact = _convert_stage(candidate, artifact, spec, log=log)
    hint = candidate.precision_hint if spec.hints else ""  # a file an engine wrote for this runtime: set here
    return BuildResult(
        artifact=dataclasses.replace(artifact, precision_hint=hint),
        cache_hits=tuple(log.hits),
        cache_entries=tuple(log.entries),
        cache_repairs=tuple(log.repairs),
    )


def twin_of(candidate: Candidate) -> Candidate:
    """The candidate's untrained twin: the same shape (student, pruning), input size, runtime and precision,
    without QAT or accuracy control, INT8 ranges from a few images and no FP32 blocks (which need a sensitivity
    analysis of the trained model: a mixed-precision twin is timed all-INT8).

    Example:
        >>> twin_of(Candidate.from_dict({"quant.precision": "int8", "quant.qat_epochs": 2})).quant.qat_epochs
        0
    """
    if candidate.quant.precision != "int8":
        return candidate
    return candidate.replace(
        {
            "quant.qat_epochs": 0,
            "quant.max_drop": 0.0,
            "quant.fp_layers": 0,
            "quant.calib_images": min(TWIN_CALIB_IMAGES, candidate.quant.calib_images),
        }
    )


def _written_by(spec: RuntimeSpec) -> str:
    """The runtime at the root of ``spec``'s ``derives_from`` chain: the one whose file is written from the model."""
    while spec.derives_from is not None:
        spec = runtime_spec(spec.derives_from)
    return spec.name


def _export_stage(candidate: Candidate, detector: Detector, *, log: CacheLog) -> Artifact:
    """The candidate's file written from the model (cached)."""
    spec = runtime_spec(candidate.runtime)
    dest = log.cache / "export" / candidate.stage_hash(EXPORT_KNOBS, salt=detector.digest) / f"model{spec.suffix}"
    if not log.reuse(dest, "export"):
        with building(dest) as staged:
            precision = candidate.quant.precision
            export_artifact(detector, staged, runtime=candidate.runtime, imgsz=candidate.imgsz, precision=precision)
        log.used(dest)
    return Artifact.read_sidecar(dest)


def _convert_stage(candidate: Candidate, source: Artifact, spec: RuntimeSpec, *, log: CacheLog) -> Artifact:
    """``source`` (a file of the runtime ``spec`` derives from) as ``spec``'s artifact: converted and cached (its
    sidecar records the precision hint), or the same file when the runtime runs it as it is."""
    if spec.derives_from != source.runtime:
        raise ConfigError(f"runtime={spec.name} cannot run a {source.runtime} file: change runtime or quant.engine")
    if spec.convert is None:
        return dataclasses.replace(source, runtime=spec.name)  # the same file; build() records the hint
    salt = f"{source.path.parent.parent.name}/{source.path.parent.name}"  # the source's stage and key
    dest = log.cache / "convert" / candidate.stage_hash(CONVERT_KNOBS, salt=salt) / f"model{spec.suffix}"
    if not log.reuse(dest, "convert"):
        with building(dest) as staged:
            spec.write(source.path, staged)
            hint = candidate.precision_hint if spec.hints else ""
            dataclasses.replace(source, path=staged, runtime=spec.name, precision_hint=hint).write_sidecar()
        log.used(dest)
    return Artifact.read_sidecar(dest)


def _build_int8(
    candidate: Candidate,
    fp32: Artifact,
    engine: Int8Engine,
    detector: Detector,
    data: DatasetInfo,
    *,
    log: CacheLog,
    on_epoch: EpochCallback | None = None,
    device: str = "cpu",
) -> Artifact:
    """The INT8 file of the candidate's engine (cached), with its sensitivity, QAT and calibration stages."""
    salt = f"{detector.digest}-{dataset_digest(data)}"  # calibration, sensitivity and QAT read the data
    trim = get_family(detector.family).calibration_trim  # which calibration images count (0: all, keys as before)
    salt += f"-calibration_trim={trim}" if trim else ""
    # the INT8 file also depends on the machine: 7-bit weights on CPUs without VNNI
    int8_salt = f"{salt}-reduced_range={uses_reduced_range()}{_qat_salt(candidate, detector)}"
    dest = log.cache / "int8" / candidate.stage_hash(INT8_KNOBS, salt=int8_salt) / f"model{engine.suffix}"
    if log.reuse(dest, "int8"):
        return Artifact.read_sidecar(dest)
    if data.train is None:
        raise DataError(f"{data.yaml_path} has no train split: INT8 calibrates on train images, add 'train:'")
    train = split_images(data, "train")
    calib_images = pick_calibration_images(train, candidate.quant.calib_images)
    fp32_blocks: tuple[str, ...] = ()
    if candidate.quant.fp_layers:
        ranking = block_sensitivity(fp32, data, log=log, salt=salt, model=detector.source)
        fp32_blocks = tuple(ranking[: candidate.quant.fp_layers])
    source, range_salt = fp32, salt
    if candidate.quant.qat_epochs:
        source = _qat_stage(
            candidate, detector, data, log=log, fp32_blocks=fp32_blocks, salt=salt, on_epoch=on_epoch, device=device
        )
        range_salt = source.path.parent.name  # the fine-tuned weights have their own activation ranges
    settings = Int8Settings(
        calibration=candidate.quant.calibration,
        calib_images=candidate.quant.calib_images,
        per_channel=candidate.quant.per_channel,
        fp32_blocks=fp32_blocks,
    )
    request = Int8Request(
        calibration_images=calib_images,
        imgsz=candidate.imgsz,
        settings=settings,
        family=fp32.family,
        max_drop=candidate.quant.max_drop,
    )
    if candidate.quant.max_drop:  # accuracy control scores on training images that did not calibrate
        held_out = [p for p in train if p not in set(calib_images)][:ACCURACY_CHECK_IMAGES]
        validation = accuracy_check(data, held_out or calib_images, imgsz=candidate.imgsz, family=fp32.family)
        request = dataclasses.replace(request, validation=validation, validation_items=held_out or calib_images)
    ranges = log.cache / "calibration" / candidate.stage_hash(CALIBRATION_KNOBS, salt=range_salt) / "ranges.json"
    with ExitStack() as stack, building(dest) as staged:
        if engine.keeps_ranges:  # the activation ranges are an entry of their own, shared by other INT8 knobs
            known = log.reuse(ranges, "calibration")
            new_ranges = None if known else stack.enter_context(building(ranges))
            request = dataclasses.replace(request, calibration_cache=new_ranges or ranges)
        engine.quantize(source.path, staged, request)
        int8 = dataclasses.replace(fp32, path=staged, runtime=engine.writes, precision="int8", fp32_blocks=fp32_blocks)
        int8.write_sidecar()
    if engine.keeps_ranges:
        log.used(ranges)
    log.used(dest)
    return Artifact.read_sidecar(dest)


def _qat_stage(
    candidate: Candidate,
    detector: Detector,
    data: DatasetInfo,
    *,
    log: CacheLog,
    fp32_blocks: tuple[str, ...],
    salt: str,
    on_epoch: EpochCallback | None,
    device: str = "cpu",
) -> Artifact:
    """The QAT-fine-tuned model as an FP32 ONNX file (cached), ready for the INT8 export."""
    key = candidate.stage_hash(QAT_KNOBS, salt=f"{salt}{_qat_salt(candidate, detector)}")
    dest = log.cache / "qat" / key / "model.onnx"
    if log.reuse(dest, "qat"):
        return Artifact.read_sidecar(dest)
    with building(dest) as staged:  # the trainer's files stay in the staging folder's subfolders
        tuned = qat_finetune(
            detector.model,
            ultralytics_data_yaml(data, staged.parent),
            imgsz=candidate.imgsz,
            per_channel=candidate.quant.per_channel,
            fp32_blocks=fp32_blocks,
            workdir=staged.parent,
            recipe=_qat_recipe(candidate, detector, device=device),
            on_epoch=on_epoch,
        )
        tuned_detector = detector.with_model(tuned, source=f"{detector.source} (QAT)", digest=key)
        reads = int8_engine(candidate.quant.engine).reads
        export_artifact(tuned_detector, staged, runtime=reads, imgsz=candidate.imgsz, precision="fp32")
    log.used(dest)
    return Artifact.read_sidecar(dest)


def _qat_recipe(candidate: Candidate, detector: Detector, *, device: str = "cpu") -> QatRecipe:
    """How the candidate's QAT fine-tunes: its epochs at the family's QAT learning rate."""
    return QatRecipe(epochs=candidate.quant.qat_epochs, lr=get_family(detector.family).qat_lr, device=device)


def _qat_salt(candidate: Candidate, detector: Detector) -> str:
    """What QAT's entries (and the INT8 file made from its weights) add to their keys: all the trainer reads for
    QAT (the family's QAT learning rate included, a recipe setting rather than a knob; the device is not keyed)
    and the family's training recipe and trainer versions (``DetectorFamily.training_recipe``: its loss gains,
    torch's and the trainer's versions)."""
    if not candidate.quant.qat_epochs:
        return ""
    trainer = dataclasses.asdict(_qat_recipe(candidate, detector).trainer_recipe())
    trainer.pop("device")
    how = {"trainer": trainer, "family": get_family(detector.family).training_recipe()}
    return f"-qat={stable_hash(how)[:16]}"


def build_and_measure(
    candidate: Candidate,
    detector: Detector,
    data: DatasetInfo,
    *,
    workdir: Path,
    settings: EvalSettings,
    on_image: Callable[[int, int], None] | None = None,
    on_epoch: EpochProgress | None = None,
    device: str = "cpu",
    watch: TrainingWatch | None = None,
) -> tuple[BuildResult, Metrics]:
    """Build a candidate and measure its artifact: the code path of both ``apply`` and search trials."""
    ignore = settings.ignore_class_names
    result = build(
        candidate,
        detector,
        data,
        workdir=workdir,
        on_epoch=on_epoch,
        device=device,
        ignore_class_names=ignore,
        watch=watch,
    )
    metrics = evaluate(result.artifact, data, settings=settings, on_image=on_image)
    if not detector.names_known:  # its artifact carries the data's names, put there unchecked
        metrics = dataclasses.replace(metrics, class_names_check="unchecked")
    return result, metrics


def load_model_and_data(
    model: str | Path,
    data: Path,
    *,
    trust_model: bool = False,
    weights: Path | None = None,
    ignore_class_names: bool = False,
) -> tuple[Detector, DatasetInfo]:
    """Load the detector and dataset, failing early (one line) when their classes do not match: another count,
    or other class names (also in another order) unless ``ignore_class_names`` (see :func:`class_check`).

    ``trust_model`` lets the checkpoint run code while it is unpickled; ``weights`` is a state dict for a
    builder name (see :func:`~paretodet.models.load_detector`).
    """
    info = load_dataset(data)
    detector = load_detector(model, trust_model=trust_model, weights=weights)
    class_check(detector, info, ignore=ignore_class_names)
    if not detector.names_known:
        detector.names = info.names  # a bare state dict names no classes: the dataset's, in its order
    return detector, info


def class_check(detector: Detector, data: DatasetInfo, *, ignore: bool = False) -> ClassCheck:
    """How ``detector``'s class names compare with ``data``'s (see :func:`~paretodet.data.check_class_names`):
    ``matched``, ``ignored`` (they differ, and ``ignore``) or ``unchecked`` (the model names no classes), with a
    line for people; ConfigError in one line when they do not match."""
    return check_class_names(
        detector.names,
        data.names,
        model=detector.source,
        data=str(data.yaml_path),
        ignore=ignore,
        known=detector.names_known,
    )


def write_outputs(out: Path, candidate: Candidate, artifact_path: Path, metrics: Metrics) -> dict[str, Path]:
    """Write ``config.yaml`` and ``metrics.json`` into ``out`` and return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    config = out / "config.yaml"
    config.write_text(yaml.safe_dump(candidate.to_dict(), sort_keys=False))
    metrics_path = out / "metrics.json"
    metrics_path.write_text(strict_json({**metrics.to_dict(), "artifact": str(artifact_path)}))
    return {"config": config, "metrics": metrics_path}
