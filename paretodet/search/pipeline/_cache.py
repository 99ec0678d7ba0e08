"""The stage cache's entries: built in private staging folders, committed whole, verified when reused.

An entry is one folder, ``cache/<stage>/<key>/``, holding a stage's files (an artifact and its sidecar, a
checkpoint, a ranges or sensitivity table) and ``content.json``: the size and sha256 of each file, written
last. An entry is built in a staging folder beside it (``.<key>.<random>.tmp``) and becomes the entry in one
``rename``: readers never see half an entry, a build that fails (a full disk, a crash) leaves nothing where
the cache would reuse it, and of two processes that build one entry at once (also on NFS, where ``rename`` is
atomic) the first to commit wins and the other uses its files. An entry whose files no longer match
``content.json`` (truncated, modified) or that has none is discarded when reused and built again; the
:class:`CacheLog` of the build records the repair.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CONTENT",
    "CacheLog",
    "EntryCheck",
    "building",
    "check_entry",
    "discard_entry",
    "list_entries",
    "staging_leftovers",
]

CONTENT = "content.json"  # per entry: {"files": {name: {"bytes": n, "sha256": hex}}}
STAGING_SUFFIX = ".tmp"


@dataclass
class CacheLog:
    """What one build did with the cache: stages reused (``hits``), entries it reused or built (``entries``,
    relative to the cache folder, e.g. ``export/ab12``), and damaged entries it discarded and rebuilt
    (``repairs``, one line each)."""

    cache: Path
    hits: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    def reuse(self, path: Path, stage: str) -> bool:
        """Whether the entry holding ``path`` can be reused as it is (recorded as a hit of ``stage``). A damaged
        entry is discarded (and the repair recorded): the caller builds it again."""
        entry = path.parent
        if not entry.is_dir():
            return False
        problem = check_entry(entry).problem
        if problem is None and path.is_file():
            self.hits.append(stage)
            self.used(path)
            return True
        discard_entry(entry)
        self.repairs.append(f"{self.name(entry)}: {problem or f'{path.name} missing'}; rebuilt")
        return False

    def used(self, path: Path) -> None:
        """Record that this build uses the entry holding ``path``."""
        name = self.name(path.parent)
        if name not in self.entries:
            self.entries.append(name)

    def name(self, entry: Path) -> str:
        """``<stage>/<key>`` of an entry folder."""
        try:
            return entry.relative_to(self.cache).as_posix()
        except ValueError:
            return entry.as_posix()


def file_record(path: Path) -> dict[str, int | str]:
    """Size and sha256 of one file (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


@dataclass(frozen=True)
class EntryCheck:
    """One entry's state: ``problem`` is None when every recorded file is there with its recorded content."""

    entry: Path
    problem: str | None
    files: int = 0


def check_entry(entry: Path) -> EntryCheck:
    """Compare an entry's files with its ``content.json`` (sizes first, then sha256)."""
    try:
        recorded = json.loads((entry / CONTENT).read_text())["files"]
    except FileNotFoundError:
        return EntryCheck(entry, f"no {CONTENT} (an interrupted build, or written before paretodet hashed entries)")
    except (OSError, ValueError, KeyError, TypeError):
        return EntryCheck(entry, f"{CONTENT} is unreadable")
    for name, record in recorded.items():
        file = entry / name
        if not file.is_file():
            return EntryCheck(entry, f"{name} missing", len(recorded))
        size = file.stat().st_size
        if size != record["bytes"]:
            why = f"{name} is {size:,} bytes, {record['bytes']:,} recorded (truncated?)"
            return EntryCheck(entry, why, len(recorded))
        if file_record(file)["sha256"] != record["sha256"]:
            return EntryCheck(entry, f"{name} does not match its recorded sha256 (modified)", len(recorded))
    return EntryCheck(entry, None, len(recorded))


def _seal(staging: Path) -> None:
    """Write ``content.json`` for the top-level files of a staging folder (working subfolders are not part of
    the entry's content), flushed to disk."""
    files = sorted(p for p in staging.iterdir() if p.is_file() and p.name != CONTENT and not p.name.startswith("."))
    content = staging / CONTENT
    content.write_text(json.dumps({"files": {p.name: file_record(p) for p in files}}, indent=1))
    for path in (*files, content):
        with path.open("rb") as fh:
            os.fsync(fh.fileno())


@contextmanager
def building(dest: Path) -> Iterator[Path]:
    """Yield where to write ``dest`` (``<entry>/<file>``): the same name in a fresh staging folder. On success the
    folder is sealed and renamed to the entry; when another process committed the entry first, its files are
    kept and ours dropped. On failure the staging folder is removed: nothing partial is left."""
    entry = dest.parent
    entry.parent.mkdir(parents=True, exist_ok=True)
    owner = f"{socket.gethostname()}-{os.getpid()}"  # lets `cache prune` tell a live build from a leftover
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}.{owner}.", suffix=STAGING_SUFFIX, dir=entry.parent))
    try:
        yield staging / dest.name
        _seal(staging)
        _commit(staging, entry)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _commit(staging: Path, entry: Path) -> None:
    """Rename ``staging`` to ``entry``; a sound entry already there wins, a damaged one is replaced."""
    for _ in range(3):
        try:
            os.rename(staging, entry)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        if check_entry(entry).problem is None:
            return  # another process built it first: its files stand
        discard_entry(entry)
    raise OSError(errno.EEXIST, "cannot replace a damaged cache entry", str(entry))


def discard_entry(entry: Path) -> None:
    """Remove an entry: renamed aside first (one atomic step for readers), then deleted."""
    trash = entry.with_name(f".trash-{entry.name}-{uuid.uuid4().hex[:8]}{STAGING_SUFFIX}")
    try:
        os.rename(entry, trash)
    except FileNotFoundError:
        return  # another process removed it
    shutil.rmtree(trash, ignore_errors=True)


def list_entries(cache: Path) -> list[Path]:
    """Every committed entry folder, ``cache/<stage>/<key>``, sorted."""
    if not cache.is_dir():
        return []
    return sorted(
        entry
        for stage in cache.iterdir()
        if stage.is_dir() and not stage.name.startswith(".")
        for entry in stage.iterdir()
        if entry.is_dir() and not entry.name.startswith(".")
    )


def staging_leftovers(cache: Path, *, abandoned_only: bool = False) -> list[Path]:
    """Staging and trash folders in the cache; with ``abandoned_only``, only those no live build owns (its
    process on this host is gone, or, from another host, untouched for ``FOREIGN_STAGING_S``)."""
    if not cache.is_dir():
        return []
    found = sorted(
        path
        for stage in cache.iterdir()
        if stage.is_dir()
        for path in stage.iterdir()
        if path.name.startswith(".") and path.name.endswith(STAGING_SUFFIX)
    )
    return [p for p in found if _abandoned(p)] if abandoned_only else found


FOREIGN_STAGING_S = 24 * 3600  # a staging folder of another host counts as abandoned after a day untouched


def _abandoned(path: Path) -> bool:
    """Whether a staging folder's build is over: trash always; ``.<key>.<host>-<pid>.<random>.tmp`` when that
    process is gone (this host) or the folder is old (another host)."""
    if path.name.startswith(".trash-"):
        return True
    middle = path.name[1 : -len(STAGING_SUFFIX)].partition(".")[2].rpartition(".")[0]  # host-pid (host may hold dots)
    host, _, pid = middle.rpartition("-")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    try:
        return time.time() - path.stat().st_mtime > FOREIGN_STAGING_S
    except FileNotFoundError:
        return False
