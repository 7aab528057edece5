"""Where a user's objects live in the bucket, and the names of the files in them (pure).

``exports/{user}/{job}/{file}``: an export's file, deleted by the bucket's lifecycle rule after
EXPORT_RETENTION_DAYS. ``uploads/{user}/{upload}``: a file uploaded for an import, deleted once read.
``backups/{user}/{job}/{file}``: a library backup, deleted after BACKUP_RETENTION_DAYS. Every object of a user lives under one of :func:`user_prefixes`, so erasing them
is one sweep per prefix.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

EXPORTS = "exports/"
# Files uploaded for an import, deleted once read (or by the bucket's lifecycle rule after a day).
UPLOADS = "uploads/"
UPLOAD_RETENTION_DAYS = 1
# A library backup's file, deleted after BACKUP_RETENTION_DAYS.
BACKUPS = "backups/"
# Every top-level prefix that holds users' objects.
USER_AREAS = (EXPORTS, UPLOADS, BACKUPS)

# A file name's longest stem, in characters: far inside every file system's 255 bytes once encoded.
MAX_STEM = 80
# Characters no file system, archive tool or shell takes kindly in a name: path separators, Windows'
# reserved punctuation, and control characters.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
# Windows refuses these as a file's stem, whatever the extension.
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


def user_prefixes(user_id: uuid.UUID) -> list[str]:
    return [f"{area}{user_id}/" for area in USER_AREAS]


def export_object(user_id: uuid.UUID, job_id: uuid.UUID, file_name: str) -> str:
    return f"{EXPORTS}{user_id}/{job_id}/{file_name}"


def backup_object(user_id: uuid.UUID, job_id: uuid.UUID, file_name: str) -> str:
    return f"{BACKUPS}{user_id}/{job_id}/{file_name}"


def upload_object(user_id: uuid.UUID, upload_id: uuid.UUID) -> str:
    return f"{UPLOADS}{user_id}/{upload_id}"


def safe_stem(name: str, fallback: str = "playlist") -> str:
    """A playlist's name as a file's stem: NFC, no path separators, control or reserved characters, no
    leading dots (hidden files, ``..``), not a Windows device name, at most MAX_STEM characters."""
    stem = _UNSAFE.sub("_", unicodedata.normalize("NFC", name)).strip().lstrip(".").strip()
    stem = stem[:MAX_STEM].rstrip(" .")
    if not stem or stem.split(".")[0].upper() in _RESERVED:
        stem = f"{fallback}-{stem}" if stem else fallback
    return stem


class FileNames:
    """Distinct file names within one archive: a second playlist of the same name gets " (2)"."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def name(self, playlist_name: str, extension: str) -> str:
        stem = safe_stem(playlist_name)
        candidate, n = f"{stem}{extension}", 1
        while candidate.casefold() in self._taken:  # case-insensitive file systems unpack archives too
            n += 1
            candidate = f"{stem} ({n}){extension}"
        self._taken.add(candidate.casefold())
        return candidate
