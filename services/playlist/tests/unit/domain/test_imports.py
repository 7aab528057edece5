"""A re-import keeps the entries that stay, and the library knows a provider's track by its id (a
file's track by the first id it names, in PROVIDERS order); a backup's kept history is rebuilt from its
entries backwards, or left out whole when it does not hold together."""

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pm_contracts.library import (
    FileEntry,
    FileTrack,
    ImportedTrack,
    RestoredChange,
    RestoredEntry,
    RestoredPlaylist,
    RestoredStep,
    RestoredTrack,
    RestoredVersion,
)
from pm_playlist.domain.entries import MAX_ENTRIES, EditRefused, Entry, edit_from_record
from pm_playlist.domain.history import SNAPSHOT_EVERY, diff, edits_between, replay
from pm_playlist.domain.imports import (
    HistoryRefused,
    IncomingEntry,
    TrackKey,
    derived_playlist_id,
    file_entries,
    file_track_record,
    reconcile,
    restore_target,
    restored_entries,
    restored_history,
    restored_track_records,
    restored_versions,
    synced_entries,
    track_identity,
    track_record,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
A, B, C = (uuid.UUID(int=i) for i in (1, 2, 3))


def _entries(*tracks):
    return tuple(Entry(uuid.uuid4(), t, T0) for t in tracks)


def _incoming(*tracks):
    return [IncomingEntry(t, datetime(2026, 2, 1, tzinfo=UTC), "provider") for t in tracks]


def test_entries_that_stay_keep_their_id_and_date_and_only_changes_are_edits():
    current = _entries(A, B, C)
    new = reconcile(current, _incoming(C, A, B))
    assert [e.id for e in new] == [current[2].id, current[0].id, current[1].id]
    assert all(e.added_at == T0 for e in new)
    edit = edits_between(current, new)
    assert edit is not None and edit.size <= 2  # one move, not three new entries


def test_the_kth_copy_of_a_track_is_the_kth_copy_it_was():
    current = _entries(A, B, A)
    new = reconcile(current, _incoming(A, A, A, B))
    assert [e.id for e in new[:2]] == [current[0].id, current[2].id]
    assert new[2].id not in {e.id for e in current} and new[2].added_at.month == 2
    assert new[3].id == current[1].id


def test_an_unchanged_reimport_is_no_edit():
    current = _entries(A, B, C)
    assert edits_between(current, reconcile(current, _incoming(A, B, C))) is None


def test_a_synced_list_keeps_the_entries_that_stay_and_adds_the_others_by_no_one_known():
    current = _entries(A, B, A)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    new = synced_entries(current, [C, A, A, A], at)
    assert [e.track_id for e in new] == [C, A, A, A]
    assert [e.id for e in new[1:3]] == [current[0].id, current[2].id]  # the k-th copy stays the k-th
    fresh = [e for e in new if e.id not in {c.id for c in current}]
    assert len(fresh) == 2 and all(e.added_at == at and e.added_by is None for e in fresh)
    assert edits_between(current, synced_entries(current, [A, B, A], at)) is None


def test_a_synced_list_may_be_empty_and_not_longer_than_a_playlist():
    assert synced_entries(_entries(A, B), [], T0) == ()
    with pytest.raises(EditRefused) as refused:
        synced_entries((), [A] * (MAX_ENTRIES + 1), T0)
    assert refused.value.code == "playlist-too-large"
    assert len(synced_entries((), [A] * MAX_ENTRIES, T0)) == MAX_ENTRIES


def test_a_track_is_known_by_its_provider_id_or_by_its_metadata():
    named = ImportedTrack(provider_track_id="abc", title="X")
    assert track_identity("spotify", named) == "spotify:abc"
    assert track_identity("deezer", named) == "deezer:abc"
    local = ImportedTrack(title="My Demo", artists=["Me"], duration_ms=1000, is_local=True)
    same = ImportedTrack(title="my demo!", artists=["ME"], duration_ms=1000, is_local=True)
    other = ImportedTrack(title="My Demo", artists=["Me"], duration_ms=2000, is_local=True)
    assert track_identity("spotify", local) == track_identity("youtube", same)
    assert track_identity("spotify", local) != track_identity("spotify", other)
    assert track_identity("spotify", local).startswith("local:")


def test_a_file_track_is_known_by_the_first_provider_id_it_names_and_keeps_them_all():
    track = FileTrack(title="X", provider_ids={"youtube": "y1", "tidal": "t1", "deezer": "d1"})
    record = file_track_record(track)
    assert record.identity == "deezer:d1"
    assert record.provider_ids == (("deezer", "d1"), ("tidal", "t1"), ("youtube", "y1"))
    with_spotify = track.model_copy(update={"provider_ids": {**track.provider_ids, "spotify": "s1"}})
    assert file_track_record(with_spotify).identity == "spotify:s1"


def test_a_file_track_without_ids_is_the_local_track_a_provider_import_would_make():
    described = {
        "title": "My Demo",
        "artists": ["Me"],
        "album": "Tapes",
        "duration_ms": 1000,
        "is_local": True,
    }
    record = file_track_record(FileTrack(**described))
    assert record.provider_ids == () and record.is_local
    assert record.identity == track_identity("spotify", ImportedTrack(**described))
    assert record.identity == track_record(None, ImportedTrack(**described)).identity
    assert record.identity.startswith("local:")


def test_a_file_tracks_isrc_is_normalised_and_a_broken_one_dropped():
    assert file_track_record(FileTrack(title="X", isrc="gb-aaa-98-00004")).isrc == "GBAAA9800004"
    assert file_track_record(FileTrack(title="X", isrc="not an isrc")).isrc is None


def test_a_described_track_keeps_the_identity_it_had():
    named = ImportedTrack(provider_track_id="abc", title="X")
    assert track_record("deezer", named).identity == "deezer:abc"
    assert track_record("deezer", named).provider_ids == (("deezer", "abc"),)
    assert track_record(None, named).identity == "local:abc"


def test_file_entries_keep_the_files_order_and_date_else_when_it_was_read():
    read_at = datetime(2026, 3, 1, tzinfo=UTC)
    entries = [
        FileEntry(track=FileTrack(title="a"), added_at=T0),
        FileEntry(track=FileTrack(title="b")),
        FileEntry(track=FileTrack(title="c"), added_at=datetime(2026, 2, 1, 8, 30)),  # no zone: UTC
    ]
    ids = iter(uuid.UUID(int=100 + i) for i in range(3))
    made = file_entries(entries, [C, A, C], read_at, "user-1", new_id=lambda: next(ids))
    assert [(e.id.int, e.track_id) for e in made] == [(100, C), (101, A), (102, C)]
    assert [e.added_at for e in made] == [T0, read_at, datetime(2026, 2, 1, 8, 30, tzinfo=UTC)]
    assert {e.added_by for e in made} == {"user-1"}


# ---------------------------------------------------------------- a restored backup

USER, OTHER = uuid.UUID(int=10), uuid.UUID(int=11)
JOB = uuid.UUID(int=20)


def test_a_derived_playlist_id_is_the_same_for_the_same_job_and_id_only():
    own = uuid.UUID(int=30)
    assert derived_playlist_id(JOB, own) == derived_playlist_id(JOB, own) != own
    assert derived_playlist_id(JOB, own) != derived_playlist_id(uuid.UUID(int=21), own)
    assert derived_playlist_id(JOB, own) != derived_playlist_id(JOB, uuid.UUID(int=31))


def test_a_restored_playlist_takes_its_own_id_else_the_derived_one_and_never_one_taken():
    own, derived = uuid.UUID(int=30), uuid.UUID(int=31)
    assert restore_target(USER, (own, derived), {}) == own
    assert restore_target(USER, (own, derived), {own: OTHER}) == derived
    assert restore_target(USER, (own, derived), {own: OTHER, derived: OTHER}) is None


def test_a_restore_the_user_has_already_under_either_id_is_not_made_again():
    own, derived = uuid.UUID(int=30), uuid.UUID(int=31)
    assert restore_target(USER, (own, derived), {own: USER}) is None
    assert restore_target(USER, (own, derived), {own: OTHER, derived: USER}) is None
    # The derived id is the user's (an earlier restore), the own one free again: still applied once.
    assert restore_target(USER, (own, derived), {derived: USER}) is None


def _restored(track_id, title="X", **ids):
    return RestoredTrack(track_id=track_id, title=title, artists=["Band"], provider_ids=ids)


def test_a_users_own_track_id_is_that_track_whatever_ids_the_backup_lists():
    mine = uuid.UUID(int=40)
    # Imported from Deezer, it gained a Spotify id: the backup's description would say spotify:s1.
    track = _restored(mine, spotify="s1", deezer="d1")
    records, new_ids = restored_track_records(USER, [track], {mine: TrackKey(USER, "deezer:d1")})
    assert [r.identity for r in records] == ["deezer:d1"]
    assert records[0].provider_ids == (("spotify", "s1"), ("deezer", "d1"))
    assert new_ids == {}


def test_a_free_track_id_is_the_new_tracks_and_one_taken_is_never_asked_for():
    free, taken = uuid.UUID(int=41), uuid.UUID(int=42)
    tracks = [_restored(free, spotify="s1"), _restored(taken, spotify="s2"), _restored(None, "Local")]
    records, new_ids = restored_track_records(USER, tracks, {taken: TrackKey(OTHER, "spotify:s2")})
    assert [r.identity for r in records][:2] == ["spotify:s1", "spotify:s2"]
    assert records[2].identity.startswith("local:")
    assert new_ids == {"spotify:s1": free}


def test_a_track_id_is_asked_for_by_one_identity_only_and_an_identity_asks_for_one_id():
    first, second = uuid.UUID(int=43), uuid.UUID(int=44)
    tracks = [
        _restored(first, spotify="s1"),
        _restored(first, spotify="s2"),  # a broken backup: one id, two recordings
        _restored(second, spotify="s1"),  # two ids of one recording (merged here)
    ]
    _, new_ids = restored_track_records(USER, tracks, {})
    assert new_ids == {"spotify:s1": first}


def test_a_restored_track_keeps_its_release_date_and_availability():
    track = RestoredTrack(title="X", release_date="1998-04-20", available=False, isrc="gb-aaa-98-00004")
    [record], _ = restored_track_records(USER, [track], {})
    assert (record.release_date.isoformat(), record.available, record.isrc) == (
        "1998-04-20",
        False,
        "GBAAA9800004",
    )
    assert file_track_record(FileTrack(title="X")).release_date is None


def test_restored_entries_keep_their_ids_dates_and_authors_in_order():
    ids = [uuid.UUID(int=50 + i) for i in range(3)]
    entries = [
        RestoredEntry(entry_id=ids[0], track=_restored(None), added_at=T0, added_by="someone"),
        RestoredEntry(entry_id=ids[1], track=_restored(None), added_at=datetime(2026, 2, 1, 8, 30)),
        RestoredEntry(entry_id=ids[2], track=_restored(None), added_at=T0),
    ]
    made = restored_entries(entries, [C, A, C])
    assert [(e.id, e.track_id, e.added_by) for e in made] == [
        (ids[0], C, "someone"),
        (ids[1], A, None),
        (ids[2], C, None),
    ]
    assert [e.added_at for e in made] == [T0, datetime(2026, 2, 1, 8, 30, tzinfo=UTC), T0]  # no zone: UTC


def test_an_entry_id_given_twice_is_the_first_entrys_only():
    same = uuid.UUID(int=60)
    entries = [RestoredEntry(entry_id=same, track=_restored(None), added_at=T0) for _ in range(3)]
    fresh = iter(uuid.UUID(int=70 + i) for i in range(2))
    made = restored_entries(entries, [A, B, C], new_id=lambda: next(fresh))
    assert [e.id.int for e in made] == [60, 70, 71]


# ---------------------------------------------------------------- a restored backup's history

AT = datetime(2026, 4, 1, tzinfo=UTC)


def _entry(n: int, track: int | None = None) -> Entry:
    return Entry(uuid.UUID(int=1000 + n), uuid.UUID(int=track if track is not None else n), AT, "someone")


def _held(entry: Entry, **track: object) -> RestoredEntry:
    """An entry as a backup holds it (the library's answer): its track named by the library's id."""
    described = RestoredTrack(track_id=entry.track_id, title=f"Song {entry.track_id.int}", **track)
    return RestoredEntry(entry_id=entry.id, track=described, added_at=entry.added_at, added_by=entry.added_by)


def _change(kind: str, position: int, entry: Entry, from_position: int | None = None) -> RestoredStep:
    return RestoredStep(
        change=RestoredChange(change=kind, position=position, from_position=from_position, entry=_held(entry))
    )


def _kept(lists: list[tuple[Entry, ...]], first: int = 1, details: frozenset[int] = frozenset()):
    """What a backup keeps of a playlist whose versions ``first``… had ``lists``: newest first, each
    version followed by its diff from the one before, as the library's answers show them (``details``:
    the versions that changed only details)."""
    steps: list[RestoredStep] = []
    for i in reversed(range(len(lists))):
        number = first + i
        changes = diff(lists[i - 1], lists[i]) if i else None
        added, removed, moved = (
            (len(changes.added), len(changes.removed), len(changes.moved))
            if changes
            else (len(lists[i]), 0, 0)
        )
        version = RestoredVersion(
            version=number,
            kind="details" if number in details else "edit",
            author="someone",
            created_at=AT + timedelta(minutes=number),
            added=added,
            removed=removed,
            moved=moved,
            entry_count=len(lists[i]),
            details={"name": f"v{number}"} if number in details else None,
        )
        steps.append(RestoredStep(version=version))
        if changes is not None:
            steps += [_change("removed", p, e) for p, e in changes.removed]
            steps += [_change("moved", m.to_position, m.entry, m.from_position) for m in changes.moved]
            steps += [_change("added", p, e) for p, e in changes.added]
    return steps


def _playlist(version: int | None) -> RestoredPlaylist:
    return RestoredPlaylist(playlist_id=uuid.UUID(int=1), name="Kept", created_at=AT, version=version)


def _replayed(kept) -> list[tuple[Entry, ...]]:
    """Each version's entries as the library reads them back: its nearest snapshot and the edits after
    it, each stored as JSON and read back."""
    lists, current, since = [], (), 0
    for k in kept:
        if k.edit is not None:
            current = replay(current, [edit_from_record(json.loads(json.dumps(k.edit.to_record())))])
            since += 1
        if k.snapshot is not None:
            assert k.edit is None or current == k.snapshot
            current, since = k.snapshot, 0
        assert since < SNAPSHOT_EVERY
        lists.append(current)
    return lists


def _random_lists(seed: int, versions: int) -> tuple[list[tuple[Entry, ...]], frozenset[int]]:
    """A playlist's lists through ``versions`` random changes: adds, removals, moves, reorders, an old
    version restored (its entries back with their ids), and changes of details only."""
    rng = random.Random(seed)
    lists = [tuple(_entry(n, track=n % 7) for n in range(12))]  # some tracks twice
    details: set[int] = set()
    fresh = 100
    for number in range(2, versions + 1):
        current = list(lists[-1])
        kind = rng.choice(["add", "remove", "move", "move", "reorder", "restore", "details"])
        if kind == "add":
            for _ in range(rng.randint(1, 3)):
                fresh += 1
                current.insert(rng.randint(0, len(current)), _entry(fresh, track=rng.randrange(9)))
        elif kind == "remove" and len(current) > 2:
            for _ in range(rng.randint(1, 2)):
                current.pop(rng.randrange(len(current)))
        elif kind == "move" and current:
            current.insert(rng.randrange(len(current)), current.pop(rng.randrange(len(current))))
        elif kind == "reorder":
            rng.shuffle(current)
        elif kind == "restore":
            current = list(rng.choice(lists))
        if tuple(current) == lists[-1]:
            details.add(number)
        lists.append(tuple(current))
    return lists, frozenset(details)


@pytest.mark.parametrize("seed", range(25))
def test_a_kept_history_is_rebuilt_backwards_and_every_version_replays_exactly(seed):
    lists, details = _random_lists(seed, versions=70)
    steps = _kept(lists, details=details)
    current = [_held(e) for e in lists[-1]]

    history = restored_history(_playlist(len(lists)), current, steps)
    every = {e.id: e for version in lists for e in version}
    assert {e.entry_id for e in history.older_entries} == set(every) - {e.id for e in lists[-1]}
    kept = list(restored_versions(history, every))

    assert _replayed(kept) == lists
    given = [s.version for s in reversed(steps) if s.version is not None]
    assert [(k.version.version, k.version.kind, k.version.created_at, k.version.details) for k in kept] == [
        (v.version, v.kind, v.created_at, v.details) for v in given
    ]
    assert [(k.version.added, k.version.removed, k.version.moved, k.version.entry_count) for k in kept] == [
        (v.added, v.removed, v.moved, v.entry_count) for v in given
    ]
    assert kept[0].edit is None and kept[0].snapshot == lists[0]
    for k, older, newer in zip(kept[1:], lists, lists[1:], strict=False):
        # The very edit a change of the list is kept as (found here from the backup's changes).
        assert k.edit == edits_between(older, newer)
        assert k.edit is not None or k.snapshot is None  # a change of details keeps no list


def test_a_partial_history_begins_whole_at_its_oldest_kept_version():
    lists, details = _random_lists(7, versions=30)
    steps = _kept(lists[-3:], first=28, details=details)
    history = restored_history(_playlist(30), [_held(e) for e in lists[-1]], steps)
    kept = list(restored_versions(history, {e.id: e for version in lists for e in version}))
    assert [k.version.version for k in kept] == [28, 29, 30]
    assert kept[0].edit is None and kept[0].snapshot == lists[-3]
    assert _replayed(kept) == lists[-3:]


def test_a_playlist_without_its_version_takes_the_newest_kept_and_the_oldest_keeps_no_changes():
    a, b, c = _entry(1), _entry(2), _entry(3)
    steps = _kept([(a, b), (a, b, c)], first=4)
    steps.append(_change("added", 0, _entry(9)))  # a change of the oldest kept version: ignored
    history = restored_history(_playlist(None), [_held(a), _held(b), _held(c)], steps)
    assert history.newest.version == 5
    assert history.versions[0].changes == () and history.oldest == (a.id, b.id)
    assert [e.entry_id for e in history.older_entries] == []


def test_a_history_of_the_newest_version_alone_keeps_it_whole():
    a, b = _entry(1), _entry(2)
    history = restored_history(_playlist(12), [_held(a), _held(b)], _kept([(a, b)], first=12))
    [kept] = restored_versions(history, {a.id: a, b.id: b})
    assert (kept.version.version, kept.edit, kept.snapshot) == (12, None, (a, b))


def test_an_entry_only_older_versions_hold_names_its_track_as_the_current_entries_describe_it():
    a, b, gone = _entry(1), _entry(2, track=5), _entry(3, track=5)  # b and gone: one track
    steps = _kept([(a, gone, b), (a, b)])
    current = [_held(a), _held(b, is_local=True, media_type="episode")]  # the diff shows less of a track
    history = restored_history(_playlist(2), current, steps)
    [older] = history.older_entries
    assert older.entry_id == gone.id and older.track == current[1].track


# A small history the tests below break in one place each.
A, B_, C_, D, E = (_entry(n) for n in range(5))
LISTS = [
    (A, B_, C_, D),  # 1
    (A, E, B_, C_, D),  # 2: E added at 1
    (A, E, B_, D),  # 3: C removed from 3
    (D, A, E, B_),  # 4: D moved from 3 to 0
    (D, A, E, B_),  # 5: details only
    (B_, E, A, D, C_),  # 6: reordered, C back (an old version restored)
]


def _change_of(steps, kind: str, entry: Entry) -> int:
    return next(
        i
        for i, s in enumerate(steps)
        if s.change is not None and s.change.change == kind and s.change.entry.entry_id == entry.id
    )


def _version_of(steps, number: int) -> int:
    return next(i for i, s in enumerate(steps) if s.version is not None and s.version.version == number)


def _changed(steps, i: int, **update):
    step = steps[i]
    if step.change is not None:
        return [*steps[:i], RestoredStep(change=step.change.model_copy(update=update)), *steps[i + 1 :]]
    return [*steps[:i], RestoredStep(version=step.version.model_copy(update=update)), *steps[i + 1 :]]


def _broken(case: str):
    """The backup's playlist version, current entries and steps, broken as ``case`` says."""
    steps = _kept(LISTS, details=frozenset({5}))
    current = [_held(e) for e in LISTS[-1]]
    version = 6
    if case == "the newest is not the playlist's version":
        version = 7
    elif case == "a version is missing":
        start, end = _version_of(steps, 3), _version_of(steps, 2)
        steps = steps[:start] + steps[end:]
    elif case == "the newest does not hold the entries":
        current = current[:-1]
    elif case == "a change is missing":
        steps.pop(_change_of(steps, "removed", C_))
    elif case == "an added entry is not where it says":
        steps = _changed(steps, _change_of(steps, "added", E), position=2)
    elif case == "a moved entry comes from beyond the list":
        steps = _changed(steps, _change_of(steps, "moved", D), from_position=9)
    elif case == "a removed entry goes beyond the list":
        steps = _changed(steps, _change_of(steps, "removed", C_), position=9)
    elif case == "an entry is named as another one":
        other = _held(C_).model_copy(update={"added_at": AT + timedelta(days=1)})
        steps = _changed(steps, _change_of(steps, "removed", C_), entry=other)
    elif case == "a version's count of entries is wrong":
        steps = _changed(steps, _version_of(steps, 3), entry_count=5)
    elif case == "the history begins with a change":
        steps = [steps[_change_of(steps, "added", E)], *steps]
    elif case == "an entry is in the playlist twice":
        current.append(current[0])
        steps = _changed(steps, 0, entry_count=len(current))
    return _playlist(version), current, steps


def test_the_small_history_holds_together():
    kept = list(restored_versions(restored_history(*_broken("none")), {e.id: e for e in (A, B_, C_, D, E)}))
    assert _replayed(kept) == LISTS


@pytest.mark.parametrize(
    "case",
    [
        "the newest is not the playlist's version",
        "a version is missing",
        "the newest does not hold the entries",
        "a change is missing",
        "an added entry is not where it says",
        "a moved entry comes from beyond the list",
        "a removed entry goes beyond the list",
        "an entry is named as another one",
        "a version's count of entries is wrong",
        "the history begins with a change",
        "an entry is in the playlist twice",
    ],
)
def test_a_history_that_does_not_hold_together_is_refused(case):
    with pytest.raises(HistoryRefused):
        restored_history(*_broken(case))


def test_versions_of_details_only_cost_no_pass_over_the_list(monkeypatch):
    """Only versions that changed entries count against MAX_REBUILD_WORK: a long run of renames of a
    big playlist rebuilds; a history that would pass over too many entries is refused."""
    import pm_playlist.domain.imports as imports

    big = tuple(_entry(n) for n in range(500))
    lists = [big] * 40 + [big[1:]]  # 39 renames, then one entry removed
    steps = _kept(lists, details=frozenset(range(2, 41)))
    current = [_held(e) for e in lists[-1]]
    monkeypatch.setattr(imports, "MAX_REBUILD_WORK", len(lists[-1]))
    history = restored_history(_playlist(len(lists)), current, steps)
    assert [k.version.version for k in history.versions] == list(range(1, 42))
    monkeypatch.setattr(imports, "MAX_REBUILD_WORK", len(lists[-1]) - 1)
    with pytest.raises(HistoryRefused, match="to rebuild"):
        restored_history(_playlist(len(lists)), current, steps)
