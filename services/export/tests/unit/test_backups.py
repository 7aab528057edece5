"""A backup's file, written from the library's answers and read back (domain/backups.py,
usecases/backups.read_backup): whatever is cut short, broken or hostile restores nothing."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pm_export.domain.backups import (
    MEMBER,
    BackupError,
    end_line,
    entry_line,
    header_line,
    line_schema,
    playlist_line,
)
from pm_export.usecases.backups import read_backup

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def playlist_view(name: str = "Mix", **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "collection": "playlist",
        "name": name,
        "description": "d",
        "public": True,
        "collaborative": False,
        "cover_url": None,
        "origin": {"provider": "spotify", "playlist_id": "abc", "owner_id": "me", "owner_name": "Me"},
        "read_only": False,
        "gone_from_provider": False,
        "version": 3,
        "entry_count": 1,
        "created_at": "2026-01-02T03:04:05+00:00",
        "updated_at": "2026-02-02T03:04:05+00:00",
        **extra,
    }


def entry_view(title: str = "Song") -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "position": 0,
        "added_at": "2026-01-02T03:04:05+00:00",
        "added_by": "me",
        "track": {
            "id": str(uuid.uuid4()),
            "title": title,
            "artists": ["A", "B"],
            "album": None,
            "duration_ms": 1000,
            "isrc": "GBAAA9800004",
            "explicit": None,
            "release_date": "2020-01-01",
            "provider_ids": {"spotify": "x", "deezer": "1"},
            "media_type": "track",
            "is_local": False,
            "available": True,
        },
    }


def backup(*lines: str, zipped: bool = True) -> bytes:
    text = "".join(lines).encode()
    if not zipped:
        return text
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MEMBER, text)
    return buffer.getvalue()


def restore(tmp_path: Path, data: bytes) -> Any:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return read_backup(path, tmp_path)


def test_a_backup_reads_back_as_written(tmp_path: Path) -> None:
    lists = [playlist_view("One"), playlist_view("Liked", collection="liked", origin=None)]
    entries = [[entry_view("a"), entry_view("b")], []]
    lines = [header_line(NOW, [{"provider": "spotify", "account_id": "me", "status": "linked"}])]
    for view, items in zip(lists, entries, strict=True):
        lines += [playlist_line(view), *(entry_line(e) for e in items)]
    lines.append(end_line(2, 2))
    for zipped in (True, False):
        read = restore(tmp_path, backup(*lines, zipped=zipped))
        assert [str(p.playlist_id) for p in read.playlists] == [v["id"] for v in lists]
        assert read.counts == [2, 0]
        assert read.playlists[1].collection == "liked" and read.playlists[1].origin is None
        assert read.playlists[0].origin is not None and read.playlists[0].origin.owner_name == "Me"
        assert [p.provider for p in read.header.providers] == ["spotify"]
        spooled = [json.loads(line) for line in (tmp_path / "restore-0.jsonl").read_text().splitlines()]
        assert [(e["entry_id"], e["track"]["track_id"]) for e in spooled] == [
            (e["id"], e["track"]["id"]) for e in entries[0]
        ]
        assert spooled[0]["track"]["provider_ids"] == {"spotify": "x", "deezer": "1"}


def _valid() -> list[str]:
    return [header_line(NOW, []), playlist_line(playlist_view()), entry_line(entry_view()), end_line(1, 1)]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (_valid()[:-1], "cut short"),
        ([*_valid()[:-1], end_line(1, 2)], "cut short"),
        (_valid()[1:], "does not begin with its header"),
        ([_valid()[0], _valid()[2], *_valid()[1:]], "an entry before any playlist"),
        ([*_valid(), _valid()[2]], "a record after the end"),
        ([_valid()[0], '{"playlist": {"name": "x"}}\n'], "line 2: playlist"),
        ([_valid()[0], '{"entry": {}, "playlist": {}}\n'], "line 2: a line holds one record"),
        ([_valid()[0], "not json\n"], "line 2: not a JSON line"),
        ([_valid()[0], '{"song": 1}\n'], "an unknown record"),
        (['{"backup": {"format": "other", "version": 1, "created_at": "2026-01-01T00:00:00Z"}}\n'], "line 1"),
        (["[" * 100_000 + "\n"], "line 1"),
        ([_valid()[0], "x" * (1 << 20) + "\n"], "longer than 1 MB"),
        ([], "an empty file"),
    ],
    ids=[
        "no-end",
        "counts-differ",
        "no-header",
        "entry-first",
        "after-end",
        "invalid-playlist",
        "two-records",
        "not-json",
        "unknown-record",
        "other-format",
        "deep-nesting",
        "long-line",
        "empty",
    ],
)
def test_a_broken_backup_restores_nothing(tmp_path: Path, lines: list[str], message: str) -> None:
    with pytest.raises(BackupError) as refused:
        restore(tmp_path, backup(*lines))
    assert message in str(refused.value)


def test_an_archive_that_is_no_backup_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../backup.jsonl", "".join(_valid()))
    with pytest.raises(BackupError, match=r"holds no backup\.jsonl"):
        restore(tmp_path, buffer.getvalue())


def test_the_published_schema_is_the_models_and_every_line_we_write_holds_to_it() -> None:
    import jsonschema

    published = json.loads((Path(__file__).parents[4] / "proto/files/library-backup.v1.json").read_text())
    assert published == line_schema(), "regenerate proto/files/library-backup.v1.json from line_schema()"
    validator = jsonschema.Draft202012Validator(published)
    for line in [*_valid(), playlist_line(playlist_view(collection="liked", origin=None))]:
        validator.validate(json.loads(line))
    assert not validator.is_valid({"entry": {}, "end": {"playlists": 0, "entries": 0}})
