"""The bottom layer: content hashes, YAML reading, lazy package exports, and the host's timing lock (heavy
work waits while another process on this host times latency). Light imports only (no torch)."""

from __future__ import annotations

from paretodet.base._disk import exception_chain, no_space_on
from paretodet.base._duration import format_duration, parse_duration
from paretodet.base._hashing import file_digest, stable_hash
from paretodet.base._host import (
    TimingHost,
    cpu_model,
    heavy_work,
    timed_quietly,
    timing_host,
    timing_lock,
    timing_lock_path,
    wait_for_quiet_cpu,
)
from paretodet.base._json import json_safe, strict_json
from paretodet.base._lazy import declared_exports, lazy_exports
from paretodet.base._words import did_you_mean
from paretodet.base._yaml import read_yaml_file

__all__ = [
    "TimingHost",
    "cpu_model",
    "declared_exports",
    "did_you_mean",
    "exception_chain",
    "file_digest",
    "format_duration",
    "heavy_work",
    "json_safe",
    "lazy_exports",
    "no_space_on",
    "parse_duration",
    "read_yaml_file",
    "stable_hash",
    "strict_json",
    "timed_quietly",
    "timing_host",
    "timing_lock",
    "timing_lock_path",
    "wait_for_quiet_cpu",
]
