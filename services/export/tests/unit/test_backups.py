"""A backup's file, written from the library's answers and read back (domain/backups.py,
usecases/backups.read_backup): whatever is cut short, broken or hostile restores nothing."""

from __future__ import annotations

import contextlib
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
    change_lines,
    end_line,
    entry_line,
    header_line,
    line_schema,
    oldest_kept,
    playlist_line,
    version_line,
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
    lines.append(end_line(2, 2, 0, 0))
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
    return [
        header_line(NOW, []),
        playlist_line(playlist_view()),
        entry_line(entry_view()),
        end_line(1, 1, 0, 0),
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (_valid()[:-1], "cut short"),
        ([*_valid()[:-1], end_line(1, 2, 0, 0)], "cut short"),
        (_valid()[1:], "does not begin with its header"),
        ([_valid()[0], _valid()[2], *_valid()[1:]], "an entry, version or change before any playlist"),
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
    for line in [
        *_valid(),
        playlist_line(playlist_view(collection="liked", origin=None)),
        *_history(),
        end_line(1, 1, 3, 2),
    ]:
        validator.validate(json.loads(line))
    assert not validator.is_valid({"entry": {}, "end": {"playlists": 0, "entries": 0}})


def version_view(number: int, entry_count: int, **extra: Any) -> dict[str, Any]:
    return {
        "version": number,
        "kind": "add",
        "author": "me",
        "created_at": f"2026-02-0{number}T03:04:05+00:00",
        "added": 1,
        "removed": 0,
        "moved": 0,
        "entry_count": entry_count,
        "details": None,
        **extra,
    }


def _history() -> list[str]:
    """Versions 3, 2, 1 of a playlist of one entry: 3 renamed it, 2 added its entry (1 was empty)."""
    moved = {**entry_view("moved"), "position": 0, "from_position": 1}
    return [
        version_line(version_view(3, 1, kind="details", added=0, details={"name": "Mix"})),
        *change_lines({"added": [], "removed": [], "moved": []}),
        version_line(version_view(2, 1)),
        *change_lines({"added": [entry_view()], "removed": [], "moved": [moved]}),
        version_line(version_view(1, 0, kind="create", added=0)),
    ]


def test_kept_versions_read_back_newest_first_after_the_entries(tmp_path: Path) -> None:
    history = _history()
    lines = [*_valid()[:-1], *history, end_line(1, 1, 3, 2)]
    read = restore(tmp_path, backup(*lines))
    assert read.versions == [3] and read.steps == [5] and read.counts == [1]
    spooled = [json.loads(x) for x in (tmp_path / "restore-0.history.jsonl").read_text().splitlines()]
    kinds = ["version" if step["version"] is not None else "change" for step in spooled]
    assert kinds == ["version", "version", "change", "change", "version"]
    assert [s["version"]["version"] for s in spooled if s["version"] is not None] == [3, 2, 1]
    assert spooled[0]["version"]["details"] == {"name": "Mix"}
    changes = [s["change"] for s in spooled if s["change"] is not None]
    assert [(c["change"], c["position"], c.get("from_position")) for c in changes] == [
        ("moved", 0, 1),
        ("added", 0, None),
    ]
    assert read.playlists[0].version == 3 and read.playlists[0].updated_at is not None


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([version_line(version_view(2, 1))], "the one it was backed up at"),
        ([version_line(version_view(3, 5))], "holds its entries"),
        ([version_line(version_view(3, 1)), version_line(version_view(1, 0))], "follow each other"),
        ([version_line(version_view(3, 1)), version_line(version_view(4, 0))], "follow each other"),
        (
            [version_line(version_view(3, 1)), entry_line(entry_view())],
            "an entry after the playlist's versions",
        ),
        (change_lines({"added": [entry_view()], "removed": [], "moved": []}), "a change before its version"),
        (
            [
                version_line(version_view(3, 1)),
                '{"change": {"change": "moved", "position": 0, "entry": {}}}\n',
            ],
            "change",
        ),
    ],
    ids=[
        "not-current",
        "count-differs",
        "gap",
        "not-descending",
        "entry-after",
        "change-first",
        "bad-change",
    ],
)
def test_a_broken_history_restores_nothing(tmp_path: Path, history: list[str], message: str) -> None:
    versions = sum(1 for line in history if line.startswith('{"version"'))
    changes = sum(1 for line in history if line.startswith('{"change"'))
    lines = [*_valid()[:-1], *history, end_line(1, 1, versions, changes)]
    with pytest.raises(BackupError) as refused:
        restore(tmp_path, backup(*lines))
    assert message in str(refused.value)


def test_the_end_counts_the_versions_and_changes(tmp_path: Path) -> None:
    lines = [*_valid()[:-1], *_history(), end_line(1, 1, 2, 2)]
    with pytest.raises(BackupError, match="cut short"):
        restore(tmp_path, backup(*lines))


def test_which_versions_are_kept() -> None:
    assert oldest_kept(7, "latest") == 7
    assert oldest_kept(7, "all") == 1
    assert oldest_kept(7, 3) == 5
    assert oldest_kept(2, 5) == 1


def _fuzzed_lines() -> Any:
    from hypothesis import strategies as st

    valid = [*_valid()[:-1], *_history(), end_line(1, 1, 3, 2)]
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=12,
    )
    records = st.sampled_from(["backup", "playlist", "entry", "version", "change", "end"]).flatmap(
        lambda kind: json_values.map(lambda value: json.dumps({kind: value}) + "\n")
    )
    mutated = st.lists(st.sampled_from(valid) | records | st.text(max_size=40).map(lambda t: t + "\n"))
    return mutated


def test_any_backup_file_is_read_or_refused_with_a_clear_error(tmp_path_factory: Any) -> None:
    """Fuzzed: lines of a real backup, reordered, repeated, dropped or replaced by any record of any
    shape: the reader gives a backup or a BackupError, nothing else."""
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(lines=_fuzzed_lines())
    def read_any(lines: list[str]) -> None:
        scratch = tmp_path_factory.mktemp("fuzz")
        with contextlib.suppress(BackupError):
            restore(scratch, backup(*lines, zipped=False))

    read_any()
