"""Study storage: the work dir manifest, opening studies, and reading trials back as a table."""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretodet.errors import StudyError
from paretodet.search.store._secrets import mask_url, real_storage, scrub
from paretodet.search.store._verified_rows import VERIFIED_ATTR, apply_verified

if TYPE_CHECKING:
    import optuna
    import pandas as pd

__all__ = ["MANIFEST", "load_trials", "open_storage", "open_workdir_study", "read_manifest", "write_manifest"]

MANIFEST = "paretodet.json"
HEARTBEAT_S = 20
GRACE_S = 60
SCHEMA_RACE_RETRIES = 5
SCHEMA_RACE_MARKERS = ("already exists", "unique constraint", "duplicate key", "database is locked")


def write_manifest(workdir: Path, data: dict[str, Any]) -> Path:
    """Record how to reopen the study of a work dir (storage URL, study name, model, data)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / MANIFEST
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written manifest behind
    return path


def read_manifest(workdir: Path) -> dict[str, Any]:
    """Read a work dir's manifest; StudyError when the work dir is missing or holds no study."""
    if not workdir.exists():
        raise StudyError(f"work dir {workdir} does not exist: run 'paretodet search --workdir {workdir}' first")
    path = workdir / MANIFEST
    if not path.is_file():
        raise StudyError(f"{workdir} holds no paretodet study ({MANIFEST} missing): point to a search work dir")
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise StudyError(f"{path} is corrupt: re-run the search or restore the file") from None
    return _moved_sqlite(data, workdir)


def _moved_sqlite(manifest: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """A work dir copied elsewhere (e.g. to the deployment target) keeps its SQLite study beside it: use that
    file when the stored one is not there (opening a missing SQLite file would create an empty study)."""
    url = str(manifest.get("storage", ""))
    if not url.startswith("sqlite:///"):
        return manifest
    stored = Path(url[len("sqlite:///") :])
    local = workdir.resolve() / stored.name
    if not stored.is_file() and local.is_file():
        return {**manifest, "storage": f"sqlite:///{local}"}
    return manifest


def open_storage(url: str, *, grace_s: float | None = None) -> optuna.storages.BaseStorage:
    """An Optuna RDB storage with heartbeats (a killed worker's RUNNING trial is failed and retried) that waits
    out database outages for ``grace_s`` (default ``STORAGE_GRACE_S``; see ``search.store._resilient``). A database
    that cannot be reached when it is opened is an error at once: a wrong URL says so without delay."""
    import optuna

    from paretodet.search.store._resilient import STORAGE_GRACE_S

    optuna.logging.set_verbosity(logging.ERROR)  # failed trials are reported with their reason, not a traceback
    try:
        return _rdb_storage(url, grace_s=STORAGE_GRACE_S if grace_s is None else grace_s)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = scrub(first, url)
        raise StudyError(
            f"cannot open storage {mask_url(url)}: {reason} (check the URL and that the database is reachable)"
        ) from None


def _rdb_storage(url: str, *, grace_s: float) -> optuna.storages.RDBStorage:
    """Open the storage; when processes open an empty database at once, the losers of the schema race retry."""
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from sqlalchemy.exc import DBAPIError

    from paretodet.search.store._resilient import ResilientStorage

    for attempt in range(SCHEMA_RACE_RETRIES + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return ResilientStorage(
                    url,
                    grace_s=grace_s,
                    heartbeat_interval=HEARTBEAT_S,
                    grace_period=GRACE_S,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
                )
        except DBAPIError as exc:
            # several processes created Optuna's tables at once; the winner's schema is there for the next attempt
            if attempt == SCHEMA_RACE_RETRIES or not _schema_race(exc):
                raise
            time.sleep(0.2 * (attempt + 1))
    raise StudyError(f"cannot open storage {mask_url(url)}")


def _schema_race(exc: Exception) -> bool:
    """The error another process's concurrent schema creation causes (SQLite or PostgreSQL wording)."""
    text = str(exc).lower()
    return any(marker in text for marker in SCHEMA_RACE_MARKERS)


def load_trials(
    workdir: Path, *, latency_from: str | None = None, verified: bool = True
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """All trials of a work dir's study as a table (one row per trial) plus the study's manifest.

    Columns: number, state, every candidate knob, every metric, artifact, fail_reason, cache_hits, and where
    latency was timed (host, cpu, cores, threads, runtime_version). With ``latency_from``, the latency
    columns (latency_ms, latency_p90_ms, latency_cv, fps) hold the figures ``paretodet measure --label``
    stored under that label (NaN for trials it did not time) and the manifest gains ``latency_from`` and
    ``latency_host``. Otherwise, once ``paretodet verify`` ran (and ``verified``), the verified figures replace
    the per-trial ones (see ``search.store._verified_rows``), a ``verified`` column says which rows have them, and
    the manifest gains ``verified``.
    """
    import pandas as pd

    study, manifest = open_workdir_study(workdir)
    rows = [_trial_row(t) for t in study.get_trials(deepcopy=False)]
    if not rows:
        raise StudyError(f"the study in {workdir} has no trials yet: run the search first")
    manifest = {**manifest, **_time_figures(study.user_attrs)}
    if latency_from is not None:
        manifest = {**manifest, **_relabel(rows, study.user_attrs, latency_from)}
    elif verified and study.user_attrs.get(VERIFIED_ATTR):
        manifest = {**manifest, **apply_verified(rows, study.user_attrs[VERIFIED_ATTR])}
    return pd.DataFrame(rows), manifest


def _time_figures(attrs: dict[str, Any]) -> dict[str, Any]:
    """The study's time budget (None: none) and the time it used (every process), for the report."""
    from paretodet.search.store._clock import BUDGET_ATTR, CLOCK_PREFIX, used_seconds

    if not any(k.startswith(CLOCK_PREFIX) for k in attrs):
        return {}
    return {"time_budget_s": attrs.get(BUDGET_ATTR), "time_used_s": round(used_seconds(attrs), 1)}


def open_workdir_study(workdir: Path) -> tuple[optuna.Study, dict[str, Any]]:
    """The study of a work dir (through its manifest; a masked storage URL takes its password from
    ``$PARETODET_STORAGE``) and the manifest."""
    import optuna

    manifest = read_manifest(workdir)
    try:
        study = optuna.load_study(study_name=manifest["study"], storage=open_storage(real_storage(manifest["storage"])))
    except KeyError:
        raise StudyError(f"study '{manifest['study']}' not found in {manifest['storage']}") from None
    return study, manifest


def _relabel(rows: list[dict[str, Any]], study_attrs: dict[str, Any], label: str) -> dict[str, Any]:
    """Put the latencies measured under ``label`` into ``rows`` (in place); return what the manifest adds."""
    from paretodet.reports import TIMED_METRICS
    from paretodet.search.store._latency_labels import relabelled_latency

    figures, host = relabelled_latency(study_attrs, label)
    for row in rows:
        source = row.get("duplicate_of")
        measured = figures.get(int(source) if source is not None else row["number"])
        for column in TIMED_METRICS:  # end-to-end timings are not re-timed there: NaN
            row[column] = measured[column] if measured and column in measured else float("nan")
        if measured:
            row.update({"host": host.get("host"), "cpu": host.get("cpu"), "cores": host.get("cores")})
            row.update({"threads": host.get("threads"), "runtime_version": host.get("runtime_version")})
            # each trial's own hint and provider (a study mixes f32 and bf16 trials); older records: the host's
            row["runtime_hint"] = measured.get("runtime_hint", host.get("precision_hint", ""))
            row["provider"] = measured.get("provider", host.get("provider", ""))
    return {"latency_from": label, "latency_host": host}


def _trial_row(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    attrs = trial.user_attrs
    row: dict[str, Any] = {"number": trial.number, "state": trial.state.name}
    row.update(attrs.get("candidate", {}))
    row.update(attrs.get("metrics", {}))
    row["artifact"] = attrs.get("artifact", {}).get("path")
    row["cache_hits"] = ",".join(attrs.get("cache_hits", []))
    row["cache_repairs"] = "; ".join(attrs.get("cache_repairs", []))
    row["fail_reason"] = attrs.get("fail_reason") or trial.system_attrs.get("fail_reason")
    row["wall_s"] = attrs.get("wall_s")
    row["duplicate_of"] = attrs.get("duplicate_of")
    row["probe"] = attrs.get("probe")
    row.update(_stop_columns(trial))
    return row


def _stop_columns(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """Why a PRUNED trial was not measured whole (``stop_kind``: duplicate, rung, bound, budget, over_budget),
    in words, the seconds it saved, its last rung mAP, and its untrained twin's FPS and size (the figures early
    stopping judged it by); empty values for the other trials."""
    attrs = trial.user_attrs
    stopped, over, shape = attrs.get("stopped") or {}, attrs.get("over_budget"), attrs.get("shape") or {}
    kind = stopped.get("kind") or ("over_budget" if over else None)
    if kind is None and trial.state.name == "PRUNED" and attrs.get("duplicate_of") is not None:
        kind = "duplicate"
    reason = stopped.get("reason") or (over or {}).get("reason")
    return {
        "stop_kind": kind,
        "stop_reason": reason,
        "saved_s": stopped.get("saved_s"),
        "rung_map50_95": stopped.get("rung_map"),
        "twin_fps": shape.get("fps"),
        "twin_size_bytes": shape.get("size_bytes"),
    }


def param_importances(workdir: Path) -> dict[str, dict[str, float]]:
    """Optuna's parameter importances for each objective of a work dir's study (knobs sampled in every
    completed trial only); empty for an objective Optuna cannot rank yet (too few trials)."""
    import optuna

    study, manifest = open_workdir_study(workdir)
    out: dict[str, dict[str, float]] = {}
    for index, (metric, direction) in enumerate(zip(manifest["objectives"], manifest["directions"])):
        sign = -1.0 if direction == "maximize" else 1.0  # Optuna ranks knobs by how they lower the target

        def target(trial: optuna.trial.FrozenTrial, i: int = index, s: float = sign) -> float:
            return s * trial.values[i]

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[metric] = dict(optuna.importance.get_param_importances(study, target=target))
        except (RuntimeError, ValueError, ZeroDivisionError):
            out[metric] = {}
    return out
