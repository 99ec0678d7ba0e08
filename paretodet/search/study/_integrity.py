"""Integrity across workers: a study records the sha256 of the model file and the data YAML it was started
with, and whether its model was trusted to run code when loaded; a process that joins it (a worker, a resumed
search) refuses files that differ, and a trusted model unless it opts in itself."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretodet.base import file_digest
from paretodet.errors import StudyError

if TYPE_CHECKING:
    import optuna

    from paretodet.search.study._config import SearchConfig

__all__ = ["STUDY_CONFIG_ATTR", "TRUST_ENV", "check_study_files", "file_hashes"]

STUDY_CONFIG_ATTR = "paretodet_config"
TRUST_ENV = "PARETODET_TRUST_MODEL"


def file_hashes(config: SearchConfig) -> dict[str, Any]:
    """What a study records about its files: the sha256 of the model (when it is a file), of its weights file
    (builder names) and of the data YAML."""
    hashes: dict[str, Any] = {}
    files = [("model_sha256", Path(str(config.model))), ("data_sha256", Path(config.data))]
    if config.weights is not None:
        files.append(("weights_sha256", Path(config.weights)))
    for key, path in files:
        if path.is_file():
            hashes[key] = file_digest(path, length=64)
    return hashes


def check_study_files(storage: optuna.storages.BaseStorage, config: SearchConfig) -> None:
    """StudyError when the model or data YAML here differs from the one the study recorded, or when the study
    trusts its model and this process does not (``--trust-model`` / ``PARETODET_TRUST_MODEL=1``)."""
    study_id = storage.get_study_id_from_name(config.study)
    stored = storage.get_study_user_attrs(study_id).get(STUDY_CONFIG_ATTR) or {}
    if stored.get("trust_model") and not config.trust_model:
        raise StudyError(
            f"study '{config.study}' was started with --trust-model (its model may run code when loaded): "
            f"this process loads it only if it opts in too (--trust-model or {TRUST_ENV}=1)"
        )
    for what, key, given in (
        ("model", "model", str(config.model)),
        ("data YAML", "data", str(Path(config.data).resolve())),
    ):
        if stored.get(key) not in (None, given):
            raise StudyError(
                f"study '{config.study}' was started with another {what} ({stored[key]}), not {given}: "
                "use a new --workdir or --study"
            )
    here = file_hashes(config)
    for key, what, path in (
        ("model_sha256", "model", config.model),
        ("data_sha256", "data YAML", config.data),
        ("weights_sha256", "weights file", config.weights),
    ):
        if key in stored and key in here and here[key] != stored[key]:
            raise StudyError(
                f"{path} is not the {what} study '{config.study}' was started with (sha256 {here[key][:12]}... "
                f"here, {stored[key][:12]}... recorded): restore that file or start a new study"
            )
