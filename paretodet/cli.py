"""The command line: a thin typer layer that parses, calls one library function, and prints."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
import yaml

from paretodet._cli_cache import cache_app
from paretodet._cli_fronts import finish_search, register_front_commands
from paretodet._cli_options import (
    EARLY_STOP,
    IGNORE_CLASS_NAMES,
    TIME_BUDGET,
    TRIALS,
    parse_sets,
    warn_unchecked_classes,
)
from paretodet._cli_teacher import register_teacher_command
from paretodet._cli_ui import (
    err_console,
    image_bar,
    log_storage_events,
    print_json,
    quiet_third_party_logs,
    stdout_reserved,
    trial_bar,
)
from paretodet.errors import ParetodetError

if TYPE_CHECKING:
    from paretodet.reports import Selection

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Find the Pareto-best ways to shrink and speed up an object detector.",
)
data_app = typer.Typer(no_args_is_help=True, help="Datasets.")
app.add_typer(data_app, name="data")
app.add_typer(cache_app, name="cache")


@data_app.command("synth")
def data_synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the dataset into."),
    images: int = typer.Option(400, "--images", help="Training images (val gets a quarter, at least 8)."),
    seed: int = typer.Option(0, "--seed", help="Seed: the same seed gives the same images."),
    layout: str = typer.Option("yolo", "--format", help="Layout: yolo (Ultralytics), voc (VOCdevkit) or coco (JSON)."),
) -> None:
    """Write the synthetic shapes dataset in the YOLO, VOC or COCO layout, with its data.yaml."""
    from paretodet.data import FORMATS, SynthSpec, synthesize
    from paretodet.errors import ConfigError

    if images < 1:
        raise ConfigError(f"--images must be >= 1, got {images}")
    if layout not in FORMATS:
        raise ConfigError(f"unknown --format '{layout}': use one of {', '.join(FORMATS)}")
    spec = SynthSpec(images=images, seed=seed)
    path = synthesize(out, spec, format=layout)
    typer.echo(f"wrote {images} train + {spec.val_images} val images; data YAML: {path}")


@app.command()
def evaluate(
    model: str = typer.Argument(
        ...,
        help="Checkpoint (.pt), model YAML, Ultralytics name, torchvision:BUILDER, or an artifact: .onnx, "
        "OpenVINO .xml or Ultralytics' *_openvino_model folder (measured as it is).",
    ),
    data: Path = typer.Option(..., "--data", help="Data YAML (YOLO, VOC or COCO layout) or a VOC/COCO folder."),
    imgsz: int | None = typer.Option(
        None, "--imgsz", help="Square input size (multiple of 32); default 320, an artifact's own size."
    ),
    runtime: str | None = typer.Option(
        None,
        "--runtime",
        help="onnxruntime, openvino, torch (or a GPU runtime where present); default onnxruntime, an artifact's own.",
    ),
    precision_hint: str | None = typer.Option(
        None, "--precision-hint", help="openvino: f32, bf16 or f16 where offered; default an artifact's own, else f32."
    ),
    threads: int = typer.Option(2, "--threads", help="Runtime threads (fixed and recorded)."),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON on stdout."),
    weights: Path | None = typer.Option(
        None, "--weights", help="State dict for a builder name (torchvision:...), e.g. torchvision's own .pth."
    ),
    trust_model: bool = typer.Option(
        False, "--trust-model", envvar="PARETODET_TRUST_MODEL", help="Load a checkpoint that may run code (unsafe)."
    ),
    ignore: bool = IGNORE_CLASS_NAMES,
) -> None:
    """Measure a model as an FP32 artifact, or an artifact as it is: mAP (COCO), latency/FPS, size."""
    from paretodet.objectives import EvalSettings
    from paretodet.search import evaluate_model

    settings = EvalSettings(threads=threads, ignore_class_names=ignore)
    with stdout_reserved(as_json), image_bar("scoring val images") as (on_image, _):
        metrics = evaluate_model(
            model,
            data,
            imgsz=imgsz,
            runtime=runtime,
            precision_hint=precision_hint,
            settings=settings,
            on_image=on_image,
            trust_model=trust_model,
            weights=weights,
        )
    warn_unchecked_classes(metrics.class_names_check, model=model, data=data)
    if as_json:
        print_json(metrics.to_dict())
    else:
        for key, value in metrics.to_dict().items():
            typer.echo(f"{key:>16}: {value}")


@app.command()
def apply(
    model: str = typer.Argument(..., help="Checkpoint (.pt), model YAML, Ultralytics name, or torchvision:BUILDER."),
    data: Path = typer.Option(..., "--data", help="Data YAML (YOLO, VOC or COCO layout) or a VOC/COCO folder."),
    out: Path = typer.Option(..., "--out", help="Folder for the artifact, config.yaml and metrics.json."),
    config: Path | None = typer.Option(None, "--config", help="Candidate YAML (knob: value)."),
    sets: list[str] = typer.Option([], "--set", help="Knob override KEY=VALUE, e.g. quant.precision=fp16."),
    threads: int = typer.Option(2, "--threads", help="Runtime threads."),
    weights: Path | None = typer.Option(
        None, "--weights", help="State dict for a builder name (torchvision:...), e.g. torchvision's own .pth."
    ),
    trust_model: bool = typer.Option(
        False, "--trust-model", envvar="PARETODET_TRUST_MODEL", help="Load a checkpoint that may run code (unsafe)."
    ),
    device: str = typer.Option("cpu", "--device", help="Where training runs: cpu, cuda or cuda:N."),
    ignore: bool = IGNORE_CLASS_NAMES,
) -> None:
    """Build one candidate's artifact, measure it, and write it with its config and metrics."""
    from paretodet.objectives import EvalSettings
    from paretodet.search import apply_candidate, load_candidate_file
    from paretodet.spaces import Candidate

    values = {**(load_candidate_file(config) if config else {}), **parse_sets(sets)}
    candidate = Candidate.from_dict(values)
    with image_bar("scoring val images") as (on_image, on_epoch):
        artifact, metrics = apply_candidate(
            model,
            data,
            candidate,
            out,
            settings=EvalSettings(threads=threads, ignore_class_names=ignore),
            on_image=on_image,
            on_epoch=on_epoch,
            trust_model=trust_model,
            weights=weights,
            device=device,
            on_cache_repair=lambda line: err_console().print(f"cache: damaged entry {line}", highlight=False),
        )
    warn_unchecked_classes(metrics.class_names_check, model=model, data=data)
    typer.echo(f"artifact: {artifact}\nconfig:   {out / 'config.yaml'}\nmetrics:  {out / 'metrics.json'}")
    typer.echo(f"mAP50-95 {metrics.map50_95:.4f}  latency {metrics.latency_ms:.2f} ms  size {metrics.size_bytes} B")


@app.command()
def search(
    model: str = typer.Option(
        ..., "--model", help="Checkpoint (.pt), model YAML, Ultralytics name, or torchvision:BUILDER."
    ),
    data: Path = typer.Option(..., "--data", help="Data YAML (YOLO, VOC or COCO layout) or a VOC/COCO folder."),
    trials: int | None = TRIALS,
    time_budget: str | None = TIME_BUDGET,
    early_stop: bool = EARLY_STOP,
    workdir: Path = typer.Option(Path("paretodet-work"), "--workdir", help="Study database, cache, artifacts."),
    storage: str | None = typer.Option(
        None,
        "--storage",
        envvar="PARETODET_STORAGE",
        help="Optuna storage URL (default: SQLite in workdir); or $PARETODET_STORAGE, which keeps a password out of "
        "shell history. Reports and files show it masked.",
    ),
    study: str = typer.Option("paretodet", "--study", help="Study name."),
    sampler: str = typer.Option("tpe", "--sampler", help="tpe, nsga2, random or grid."),
    seed: int = typer.Option(0, "--seed", help="Sampler seed."),
    budgets: list[str] = typer.Option([], "--budget", help="Constraint, e.g. 'size_mb<=4' (repeatable)."),
    threads: int = typer.Option(2, "--threads", help="Runtime threads for latency."),
    space: str = typer.Option("balanced", "--space", help="Preset (quick, balanced, thorough) or space YAML file."),
    probes: bool = typer.Option(
        True, "--probes/--no-probes", help="First measure the original model and each technique alone (default)."
    ),
    weights: Path | None = typer.Option(
        None, "--weights", help="State dict for a builder name (torchvision:...), e.g. torchvision's own .pth."
    ),
    trust_model: bool = typer.Option(
        False, "--trust-model", envvar="PARETODET_TRUST_MODEL", help="Load a checkpoint that may run code (unsafe)."
    ),
    device: str = typer.Option("cpu", "--device", help="Where training runs: cpu, cuda or cuda:N."),
    val_images: int | None = typer.Option(
        None,
        "--val-images",
        help="Score trials on a fixed seeded subset of N val images (every class where "
        "possible); the verified front is scored on the whole split.",
    ),
    verify: bool = typer.Option(
        True, "--verify/--no-verify", help="At the end, re-time the front and the reference in interleaved rounds."
    ),
    storage_grace: float = typer.Option(
        600.0, "--storage-grace", help="Seconds to wait for an unreachable storage (a restarting database)."
    ),
    sets: list[str] = typer.Option([], "--set", help="Fix a knob for every trial: KEY=VALUE (not sampled)."),
    ignore: bool = IGNORE_CLASS_NAMES,
) -> None:
    """Run (or continue) a multi-objective search: maximize mAP50-95 and FPS, minimize size."""
    from paretodet.base import parse_duration
    from paretodet.objectives import EvalSettings
    from paretodet.reports import parse_budgets
    from paretodet.search import SearchConfig, run_study
    from paretodet.spaces import load_space

    budget_s = parse_duration(time_budget) if time_budget is not None else None
    config = SearchConfig(
        model=model,
        data=data,
        workdir=workdir,
        trials=trials if trials is not None or budget_s is not None else 20,
        time_budget_s=budget_s,
        early_stop=early_stop,
        sampler=sampler,
        seed=seed,
        storage=storage,
        study=study,
        budgets=tuple(parse_budgets(budgets)),
        evaluation=EvalSettings(threads=threads, val_images=val_images, subset_seed=seed, ignore_class_names=ignore),
        space=load_space(space).with_fixed(parse_sets(sets)),
        probes=probes,
        trust_model=trust_model,
        weights=weights,
        device=device,
        storage_grace_s=storage_grace,
    )
    with trial_bar("trials") as (on_trial, on_epoch):
        summary = run_study(config, on_trial=on_trial, on_epoch=on_epoch)
    finish_search(summary, workdir, storage=storage, study=study, verify=verify)
    typer.echo(f"next: paretodet report {workdir}")


@app.command()
def worker(
    storage: str = typer.Option(
        ..., "--storage", envvar="PARETODET_STORAGE", help="The study's storage URL, or $PARETODET_STORAGE."
    ),
    study: str = typer.Option(..., "--study", help="Name of a study started by 'paretodet search'."),
    workdir: Path = typer.Option(Path("paretodet-work"), "--workdir", help="Cache and artifacts (shared or own)."),
    trials: int | None = typer.Option(None, "--trials", help="Completed-trial target (default: the study's)."),
    trust_model: bool = typer.Option(
        False, "--trust-model", envvar="PARETODET_TRUST_MODEL", help="Load a checkpoint that may run code (unsafe)."
    ),
    device: str = typer.Option("cpu", "--device", help="Where training runs: cpu, cuda or cuda:N."),
    storage_grace: float = typer.Option(
        600.0, "--storage-grace", help="Seconds to wait for an unreachable storage (a restarting database)."
    ),
) -> None:
    """Join a running study from this machine (start several: they share it through the storage).

    Workers on several machines, or more than 4 on one, need a database server (PostgreSQL:
    --storage postgresql://user@host/db); SQLite serves a few local processes only."""
    from paretodet.search import run_worker

    with trial_bar("trials") as (on_trial, on_epoch):
        summary = run_worker(
            storage,
            study,
            workdir=workdir,
            trials=trials,
            trust_model=trust_model,
            device=device,
            storage_grace_s=storage_grace,
            on_trial=on_trial,
            on_epoch=on_epoch,
        )
    for note in summary.notes:
        typer.echo(note)
    typer.echo(
        f"study '{summary.study}': {summary.completed} completed, {summary.failed} failed, "
        f"{summary.duplicates} duplicate samples skipped, front {summary.front_size}"
    )


register_front_commands(app)  # measure, compare, verify
register_teacher_command(app)  # teacher


@app.command()
def runtimes() -> None:
    """Every runtime: precisions, INT8 engines, precision hints this host offers, and whether it runs here."""
    from paretodet.runtimes import list_runtimes, runtime_spec

    typer.echo(f"{'runtime':<17} {'device':<7} {'precisions':<15} {'int8 engines':<13} {'hints here':<11} here")
    for name in list_runtimes():
        spec = runtime_spec(name)
        reason = spec.missing()
        hints = "-" if not spec.hints else " ".join(spec.offered_hints()) or "none"
        engines = " ".join(spec.int8_engines) or "-"
        typer.echo(
            f"{name:<17} {spec.device:<7} {' '.join(spec.precisions):<15} {engines:<13} {hints:<11} "
            + ("yes" if reason is None else f"no: {reason}")
        )


@app.command()
def spaces(
    space: str | None = typer.Option(None, "--space", help="Show what this preset or space YAML samples."),
    as_yaml: bool = typer.Option(False, "--yaml", help="With --space: print it as a space file to edit."),
) -> None:
    """Every knob (type, allowed values, default); with --space, what that space samples.

    A space file is YAML: an optional 'base:' mapping (values of unsampled knobs) and a 'knobs:' mapping of
    knob -> {choices: [...]} or {low: .., high: .., step: .., log: true}, each with optional 'when:' (all of
    these knobs hold one of the listed values) and 'when_any:' (at least one does). Presets: quick (the demo),
    balanced (the default), thorough. Start from one: paretodet spaces --space balanced --yaml > my.yaml
    """
    from paretodet.spaces import PRESETS, knob_table, load_space, space_to_dict

    if space is None:
        rows = knob_table()
        width = max(len(r["knob"]) for r in rows)
        typer.echo(f"{'knob':<{width}}  {'type':<5}  {'default':<13}  allowed / what it does")
        for r in rows:
            default = repr(r["default"]) if isinstance(r["default"], str) else str(r["default"])
            typer.echo(f"{r['knob']:<{width}}  {r['type']:<5}  {default:<13}  {r['allowed']}: {r['help']}")
        typer.echo(f"\npresets: {', '.join(PRESETS)} (paretodet spaces --space NAME)")
        return
    chosen = load_space(space)
    if as_yaml:
        typer.echo(yaml.safe_dump(space_to_dict(chosen), sort_keys=False, default_flow_style=None, width=118).rstrip())
        return
    for row in chosen.describe():
        values = row["values"] if isinstance(row["values"], str) else ", ".join(map(str, row["values"]))
        typer.echo(f"{row['knob']:<22} {values}" + (f"   (when {row['when']})" if row["when"] else ""))


@app.command()
def report(
    workdir: Path = typer.Argument(..., help="A search work dir."),
    out: Path | None = typer.Option(None, "--out", help="Report folder (default: WORKDIR/report)."),
    budgets: list[str] = typer.Option(
        [], "--budget", help="Mark trials outside these budgets (default: the search's)."
    ),
    latency_from: str | None = typer.Option(
        None, "--latency-from", help="Use the latencies 'paretodet measure --label' stored under this label."
    ),
) -> None:
    """Write report.html, report.md and trials.csv for a study."""
    from paretodet.reports import build_info, parse_budgets, write_report
    from paretodet.search import load_sensitivity_tables, load_trials, param_importances

    df, manifest = load_trials(workdir, latency_from=latency_from)
    chosen = parse_budgets(budgets or manifest.get("budgets", []))
    paths = write_report(
        build_info(df, budgets=chosen),
        out or workdir / "report",
        meta=manifest,
        sensitivity=load_sensitivity_tables(workdir),
        importances=param_importances(workdir),
    )
    for kind, path in paths.items():
        typer.echo(f"{kind:>6}: {path}")


@app.command()
def select(
    workdir: Path = typer.Argument(..., help="A search work dir."),
    budgets: list[str] = typer.Option([], "--budget", help="Constraint, e.g. 'latency_ms<=20' (repeatable)."),
    objective: str = typer.Option("map50_95", "--objective", help="What to optimize among feasible trials."),
    export: Path | None = typer.Option(None, "--export", help="Copy the chosen artifact and config.yaml here."),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON on stdout."),
    latency_from: str | None = typer.Option(
        None, "--latency-from", help="Judge latency budgets on the figures 'paretodet measure' stored under this label."
    ),
    confident: bool = typer.Option(
        False, "--confident", help="Budgets must hold at the pessimistic end of each 95% interval (mAP, latency)."
    ),
) -> None:
    """Pick the best trial that meets every budget (on the verified figures once 'paretodet verify' ran)."""
    from paretodet.errors import StudyError
    from paretodet.reports import parse_budgets, select_best
    from paretodet.search import load_trials

    chosen = parse_budgets(budgets)
    with stdout_reserved(as_json):
        df, _ = load_trials(workdir, latency_from=latency_from)
        if latency_from is not None:  # only the trials re-timed under that label compete
            df = df[df["latency_ms"].notna()]
        selection = select_best(df, chosen, objective=objective, confident=confident)
    if selection.best is None:
        closest = selection.closest
        hint = (
            (
                f"; closest: trial {int(closest['number'])} (mAP50-95 {closest['map50_95']:.4f}, "
                f"latency {closest['latency_ms']:.2f} ms, size {closest['size_bytes'] / 1e6:.2f} MB)"
            )
            if closest
            else ""
        )
        raise StudyError(f"no trial meets {', '.join(str(b) for b in chosen)}{hint}: relax a budget or search more")
    result = {
        "trial": int(selection.best["number"]),
        "config": selection.candidate(),
        "metrics": selection.metrics(),
        "artifact": selection.best.get("artifact"),
        "feasible_trials": selection.feasible_count,
    }
    if export is not None:
        result["exported"] = _export_selection(export, selection, workdir=workdir)
    if as_json:
        print_json(result)
        return
    typer.echo(f"best trial {result['trial']} ({selection.feasible_count} feasible)")
    typer.echo(yaml.safe_dump({"config": result["config"], "metrics": result["metrics"]}, sort_keys=False).rstrip())
    if export is not None:
        typer.echo(f"exported to {export}")


def _export_selection(export: Path, selection: Selection, *, workdir: Path) -> dict[str, str]:
    from paretodet.reports import export_selection
    from paretodet.search import read_manifest

    return export_selection(selection, export, meta=read_manifest(workdir))


@app.command()
def demo(
    trials: int = typer.Option(16, "--trials", help="Candidates to search."),
    out: Path = typer.Option(Path("paretodet-demo"), "--out", help="Output folder."),
    retrain: bool = typer.Option(False, "--retrain", help="Train the demo teacher again (to a plateau) first."),
    seed: int = typer.Option(0, "--seed", help="Sampler seed."),
    family: str = typer.Option(
        "ultralytics", "--family", help="ultralytics (packaged YOLOv8n) or torchvision (SSDlite, trained on first use)."
    ),
) -> None:
    """Offline demo: synthetic data + a demo teacher -> search -> Pareto report."""
    from paretodet.search import run_demo

    console = err_console()
    with trial_bar("trials") as (on_trial, on_epoch):
        result = run_demo(
            out,
            trials=trials,
            retrain=retrain,
            seed=seed,
            family=family,
            on_stage=lambda msg: console.print(f"[bold]>[/bold] {msg}", soft_wrap=True),  # a log keeps it one line
            on_trial=on_trial,
            on_epoch=on_epoch,
        )
    s = result.summary
    typer.echo(
        f"{s.completed} trials completed ({s.failed} failed, {s.duplicates} duplicate samples skipped) "
        f"in {s.wall_s:.0f} s; Pareto front: {s.front_size}"
    )
    typer.echo(f"report: {result.report['html']}")
    typer.echo(f"        {result.report['md']}\n        {result.report['csv']}")
    typer.echo(f"pick one: paretodet select {s.workdir} --budget 'size_mb<=8' --budget 'latency_ms<=15'")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: library errors and usage errors become one line on stderr."""
    quiet_third_party_logs()
    command = typer.main.get_command(app)
    log_storage_events()
    try:
        code = command.main(args=argv, prog_name="paretodet", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: unknown option, bad value, missing argument
        sys.stderr.write(f"error: {exc.format_message()}\n")
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except ParetodetError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(exc.exit_code)
    except Exception as exc:  # e.g. --out names an existing file, a read-only folder, a full disk
        from paretodet.base import no_space_on

        full = no_space_on(exc, default=str(Path.cwd()))
        if full is not None:
            sys.stderr.write(f"error: no space left on {full}: free some space, then run the same command again\n")
            sys.exit(2)
        if not isinstance(exc, OSError):
            raise
        sys.stderr.write(f"error: {exc.strerror or exc}: {exc.filename or ''} (check the path)\n")
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
