"""The bodies of provider-sync's internal writes: described tracks only, a bounded page of them, and a
list of track ids with an author that names a sync (hostile input is a 422 before any work)."""

import json
import uuid

import pytest
from pydantic import ValidationError

from pm_playlist.domain.api import MAX_SYNC_AUTHOR, MAX_SYNC_TRACKS, SyncEntries, SyncTracks

SONG = {"provider": "spotify", "provider_track_id": "t1", "title": "Song", "artists": ["Band"]}


def _parsed(model, body):
    # As read_json parses a request: from JSON text, strict types.
    return model.model_validate_json(json.dumps(body))


def test_described_tracks_are_taken_with_what_an_import_tells_besides():
    body = _parsed(
        SyncTracks,
        {"tracks": [SONG, {"title": "Demo"}, {**SONG, "media_type": "episode", "available": False}]},
    )
    assert [t.title for t in body.tracks] == ["Song", "Demo", "Song"]
    assert (body.tracks[0].media_type, body.tracks[0].available) == ("track", None)
    assert (body.tracks[2].media_type, body.tracks[2].available) == ("episode", False)
    assert _parsed(SyncTracks, {"tracks": []}).tracks == []


@pytest.mark.parametrize(
    "tracks",
    [
        [{"track_id": str(uuid.uuid4())}],  # an id is not a description
        [{**SONG, "track_id": str(uuid.uuid4())}],
        [{"provider": "spotify", "title": "No id"}],  # provider without provider_track_id
        [{**SONG, "provider": "napster"}],
        [{**SONG, "media_type": "podcast"}],
        [{**SONG, "rating": 5}],  # unknown field
        [{**SONG, "title": ""}],
        [SONG] * (MAX_SYNC_TRACKS + 1),
    ],
)
def test_anything_but_a_bounded_list_of_descriptions_is_refused(tracks):
    with pytest.raises(ValidationError):
        _parsed(SyncTracks, {"tracks": tracks})


def test_a_list_of_entries_names_track_ids_and_a_sync_author():
    ids = [str(uuid.uuid4()) for _ in range(3)]
    body = _parsed(SyncEntries, {"track_ids": [*ids, ids[0]], "author": "sync:link-1"})
    assert [str(t) for t in body.track_ids] == [*ids, ids[0]] and body.author == "sync:link-1"
    assert _parsed(SyncEntries, {"track_ids": [], "author": "sync:x"}).track_ids == []


@pytest.mark.parametrize(
    "body",
    [
        {"track_ids": []},
        {"track_ids": ["not-a-uuid"], "author": "sync:x"},
        {"track_ids": [1], "author": "sync:x"},
        {"track_ids": None, "author": "sync:x"},
        {"author": "sync:x"},
        {"track_ids": [], "author": ""},
        {"track_ids": [], "author": "sync:"},
        {"track_ids": [], "author": "import:spotify"},  # a sync does not pose as an import
        {"track_ids": [], "author": str(uuid.uuid4())},  # nor as a user
        {"track_ids": [], "author": "sync:a\nb"},
        {"track_ids": [], "author": "sync:\u202eevil"},
        {"track_ids": [], "author": "sync:" + "x" * MAX_SYNC_AUTHOR},
        {"track_ids": [], "author": "sync:x", "kind": "restore"},
    ],
)
def test_a_list_without_valid_ids_or_a_printable_sync_author_is_refused(body):
    with pytest.raises(ValidationError):
        _parsed(SyncEntries, body)
