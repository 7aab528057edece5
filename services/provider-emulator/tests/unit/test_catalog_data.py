"""Properties of the committed catalogs (no ../shared needed)."""

from collections import Counter

from pm_provider_emulator.domain.catalog import Catalogs


def test_every_service_can_hold_a_10000_track_playlist_of_distinct_tracks(catalogs: Catalogs):
    assert len(catalogs.spotify) >= 10_000
    assert len(catalogs.deezer) >= 10_000
    assert len(catalogs.tidal) >= 10_000
    assert len(catalogs.youtube) >= 10_000


def test_real_playlists_hold_about_3000_tracks(catalogs: Catalogs):
    distinct = {t for p in catalogs.playlists for t in p.tracks}
    assert 3_000 <= len(distinct) <= 3_500
    assert all(t in catalogs.spotify for t in distinct)
    assert len({p.genre for p in catalogs.playlists}) == 6


def test_services_differ_like_real_ones(catalogs: Catalogs):
    deezer_missing = sum(1 for s in catalogs.spotify if s not in catalogs.deezer_by_src)
    assert 0.02 < deezer_missing / len(catalogs.spotify) < 0.06
    assert any(t.isrc == "" for t in catalogs.deezer.values())  # some Deezer tracks lack an ISRC
    assert any(t.isrc is None for t in catalogs.tidal.values())
    assert any(t.isrc is None for t in catalogs.spotify.values())
    dur_diff = Counter(
        catalogs.deezer_by_src[s].duration - round(t.duration_ms / 1000)
        for s, t in catalogs.spotify.items()
        if s in catalogs.deezer_by_src
    )
    assert dur_diff[0] > dur_diff[1] > 0
    assert dur_diff[-1] > 0
    assert any("(Official Video)" in v.title for v in catalogs.youtube.values())
    assert any(v.channel_title.endswith(" - Topic") for v in catalogs.youtube.values())
    titled = [t for t in catalogs.tidal.values() if t.version]
    assert titled
    assert all(t.version not in t.title for t in titled[:50])


def test_one_isrc_can_map_to_several_spotify_tracks(catalogs: Catalogs):
    multi = [r for r in catalogs.recordings.values() if len(r.spotify_ids) > 1]
    assert multi
    r = multi[0]
    assert {catalogs.spotify[s].isrc for s in r.spotify_ids} <= {r.isrc, None}


def test_musicbrainz_moves_featured_artists_into_the_credit(catalogs: Catalogs):
    featured = [m for m in catalogs.musicbrainz.values() if len(m.artist_credit) > 1]
    assert featured
    assert featured[0].artist_credit[0][1] == " feat. "
    assert "feat." not in featured[0].title
