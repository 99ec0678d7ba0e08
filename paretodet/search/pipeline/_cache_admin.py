"""Checking and pruning a work dir's stage cache (``paretodet cache verify|prune``)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paretodet.errors import StudyError
from paretodet.search.pipeline._cache import EntryCheck, check_entry, discard_entry, list_entries, staging_leftovers

__all__ = ["CacheCheck", "CachePruning", "prune_cache", "verify_cache"]


@dataclass(frozen=True)
class CacheCheck:
    """Every entry of a cache with its state, and the staging folders found beside them."""

    cache: Path
    entries: tuple[EntryCheck, ...]
    leftovers: tuple[Path, ...]

    @property
    def damaged(self) -> list[EntryCheck]:
        return [e for e in self.entries if e.problem is not None]

    def name(self, entry: Path) -> str:
        return entry.relative_to(self.cache).as_posix()


@dataclass(frozen=True)
class CachePruning:
    """What ``prune_cache`` removed (``<stage>/<key>: why``), how many entries it kept, and the bytes it freed."""

    removed: tuple[str, ...]
    kept: int
    freed_bytes: int
    notes: tuple[str, ...] = ()


def verify_cache(workdir: Path, *, on_progress: Callable[[int, int], None] | None = None) -> CacheCheck:
    """Check every entry of ``workdir/cache`` against its recorded sizes and sha256."""
    cache = _cache_dir(workdir)
    entries = list_entries(cache)
    checks = []
    for done, entry in enumerate(entries, 1):
        checks.append(check_entry(entry))
        if on_progress is not None:
            on_progress(done, len(entries))
    return CacheCheck(cache, tuple(checks), tuple(staging_leftovers(cache)))


def prune_cache(
    workdir: Path, *, keep_front: bool = False, on_progress: Callable[[int, int], None] | None = None
) -> CachePruning:
    """Remove damaged entries and abandoned staging folders; with ``keep_front``, also every entry that no
    trial on the study's Pareto front uses (the front's artifacts and the stages they were built from stay)."""
    check = verify_cache(workdir, on_progress=on_progress)
    keep: set[str] | None = None
    notes: list[str] = []
    if keep_front:
        keep, notes = _front_entries(workdir)
    removed: list[str] = []
    freed = 0
    for item in check.entries:
        name = check.name(item.entry)
        why = item.problem or (None if keep is None or name in keep else "no trial on the front uses it")
        if why is None:
            continue
        freed += _bytes(item.entry)
        discard_entry(item.entry)
        removed.append(f"{name}: {why}")
    for folder in staging_leftovers(check.cache, abandoned_only=True):
        freed += _bytes(folder)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(f"{check.name(folder)}: left by an interrupted build")
    kept = len(check.entries) - sum(1 for r in removed if not r.endswith("interrupted build"))
    return CachePruning(tuple(removed), kept, freed, tuple(notes))


def _front_entries(workdir: Path) -> tuple[set[str], list[str]]:
    """The cache entries the front's trials use (a duplicate's are its original's), and notes on trials that
    recorded none (older than entry records: only their artifact's entry is kept)."""
    from paretodet.reports import build_info
    from paretodet.search.store import load_trials, open_workdir_study

    trials, _ = load_trials(workdir, verified=False)
    front = build_info(trials).front
    study, _ = open_workdir_study(workdir)
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    keep: set[str] = set()
    notes = []
    for number in front["number"]:
        trial = by_number[int(number)]
        source = by_number.get(trial.user_attrs.get("duplicate_of", trial.number), trial)
        entries = source.user_attrs.get("cache_entries")
        if entries is None:
            artifact = Path(str(source.user_attrs.get("artifact", {}).get("path", "")))
            entries = [f"{artifact.parent.parent.name}/{artifact.parent.name}"] if artifact.name else []
            notes.append(f"trial {source.number} predates cache entry records: only its artifact's entry is kept")
        keep.update(entries)
    return keep, notes


def _cache_dir(workdir: Path) -> Path:
    if not workdir.is_dir():
        raise StudyError(f"work dir {workdir} does not exist: name the --workdir of a search or the --out of apply")
    cache = workdir / "cache"
    if not cache.is_dir():
        raise StudyError(f"{workdir} has no stage cache (no cache/ folder): name a search or apply work dir")
    return cache


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
