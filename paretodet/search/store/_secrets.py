"""Storage URLs carry passwords: paretodet shows and stores them masked (``postgresql://user:***@host/db``) in
reports, manifests, messages and trial records. A process that must open such a study again takes the real
URL from its own command line or from ``$PARETODET_STORAGE`` (so the password need not appear in shell
history either)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from paretodet.errors import StudyError

__all__ = ["MASK", "STORAGE_ENV", "mask_url", "real_storage", "scrub"]

STORAGE_ENV = "PARETODET_STORAGE"
MASK = "***"


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``.

    Example:
        >>> mask_url("postgresql://user:s3cret@db:5432/paretodet")
        'postgresql://user:***@db:5432/paretodet'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name = user.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{name}:{MASK}@{host}"))


def scrub(text: str, url: str) -> str:
    """``text`` with ``url``'s password (if any) replaced by ``***`` (for error messages from drivers)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return text
    return text.replace(password, MASK) if password else text


def real_storage(stored: str) -> str:
    """The URL to open for a storage recorded masked: ``$PARETODET_STORAGE`` when it is that URL with its
    password; StudyError saying how to provide it otherwise. Unmasked URLs are returned as they are."""
    if f":{MASK}@" not in stored:
        return stored
    given = os.environ.get(STORAGE_ENV, "")
    if given and mask_url(given) == stored:
        return given
    raise StudyError(
        f"the study's storage {stored} is recorded without its password: "
        f"export {STORAGE_ENV}=<the full URL> and run again"
    )
