"""The library import end to end inside provider-sync: the public request, the job against the emulated
providers (tokens from a stand-in auth), and the events it publishes (read back from Kafka).

Each test has its own user and emulator accounts; nothing is timed: a test waits for the job's state."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from pm_contracts.library import MAX_ENTRIES_PER_PART
from pm_contracts.provider_links import ProviderLinked, ProviderReconsentRequired, waiting_for_link
from pm_provider_sync.domain.imports import LIKED_ID
from pm_provider_sync.storage.imports import remembered
from pm_provider_sync.usecases import links
from pm_providers.domain.calendar import next_pacific_midnight

pytestmark = pytest.mark.integration


def imported(events: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """The library.playlist_imported events by (provider, provider playlist id), parts in order."""
    found: dict[tuple[str, str], list[dict]] = {}
    for event in events:
        if "part" in event:
            found.setdefault((event["provider"], event["playlist"]["provider_playlist_id"]), []).append(event)
    return found


def finished(events: list[dict]) -> dict[str, list[str]]:
    """The library.import_finished events: the ids each provider listed."""
    return {e["provider"]: e["provider_playlist_ids"] for e in events if "provider_playlist_ids" in e}


async def calls_by_host(emulator, *providers: str) -> dict[str, int]:
    return {p: sum((await emulator.calls(p)).values()) for p in providers}


async def test_a_full_import_then_nothing_then_only_what_changed_then_what_is_gone(provider_sync):
    ps, emulator = provider_sync, provider_sync.emulator
    user = uuid.uuid4()
    spotify = await emulator.account("spotify", [{"name": "A", "size": 3}, {"name": "B", "size": 2}], liked=3)
    deezer = await emulator.account("deezer", [{"name": "C", "size": 4}], liked=2)
    await ps.link(user, spotify)
    await ps.link(user, deezer)
    a, b, c = spotify.playlists["A"], spotify.playlists["B"], deezer.playlists["C"]

    # 1. Everything, every page, with the details; the liked songs as the "liked" collection.
    await emulator.reset_calls()
    status, body, response = await ps.request_import(user)  # no body: every linked provider
    assert status == 202 and body["state"] == "queued" and body["kind"] == "library.import"
    assert response.headers["Location"] == f"/api/v1/jobs/{body['job_id']}"
    job = await ps.wait(uuid.UUID(body["job_id"]))
    assert job.state == "succeeded", job.error
    events = await ps.events(user, job.id)
    sent = imported(events)
    assert {key: [len(p["entries"]) for p in parts] for key, parts in sent.items()} == {
        ("spotify", a): [3],
        ("spotify", b): [2],
        ("spotify", LIKED_ID): [3],
        ("deezer", c): [4],
        ("deezer", LIKED_ID): [2],  # Deezer's Loved Tracks playlist
    }
    first_a = sent[("spotify", a)][0]
    assert (first_a["part"], first_a["parts"], first_a["user_id"]) == (1, 1, str(user))
    assert first_a["playlist"]["name"] == "A" and first_a["playlist"]["change_marker"]
    assert first_a["entries"][0]["track"]["title"] and first_a["entries"][0]["track"]["artists"]
    assert sent[("deezer", LIKED_ID)][0]["playlist"]["collection"] == "liked"
    assert {p: sorted(ids) for p, ids in finished(events).items()} == {
        "spotify": sorted([a, b, LIKED_ID]),
        "deezer": sorted([c, LIKED_ID]),
    }
    assert events[-1]["provider"] == "deezer" and "provider_playlist_ids" in events[-1]  # the end last
    result = job.result
    assert result["providers"]["spotify"] | {"calls": 0} == {
        "playlists_seen": 3,
        "imported": 3,
        "details_only": 0,
        "unreadable": 0,
        "unchanged": 0,
        "skipped": 0,
        "tracks_read": 8,
        "calls": 0,
        "truncated": False,
        "not_linked": False,
    }
    assert (result["imported"], result["tracks_read"]) == (5, 14)
    # Every call counted, and only the calls the providers saw; the playlists were read.
    for provider in ("spotify", "deezer"):
        assert [k for k in await emulator.calls(provider) if "{playlist_id}" in k], provider
    calls = await calls_by_host(emulator, "spotify", "deezer")
    assert {p: result["providers"][p]["calls"] for p in calls} == calls

    # 2. Nothing changed on the providers: no playlist event, and no playlist read.
    await emulator.reset_calls()
    again = await ps.wait(await ps.start(user))
    assert again.state == "succeeded"
    events = await ps.events(user, again.id)
    assert imported(events) == {}
    assert set(finished(events)) == {"spotify", "deezer"}
    assert (again.result["imported"], again.result["unchanged"], again.result["tracks_read"]) == (0, 5, 3)
    # Spotify's liked songs have no marker: read and compared (3 tracks); Deezer's have a checksum.
    reads = [k for p in ("spotify", "deezer") for k in await emulator.calls(p) if "{playlist_id}" in k]
    assert reads == []
    calls = await calls_by_host(emulator, "spotify", "deezer")
    assert {p: again.result["providers"][p]["calls"] for p in calls} == calls

    # 3. One playlist changed, one renamed: only those, the renamed one as its details alone.
    spotify_adapter, deezer_adapter = ps.adapter(spotify), ps.adapter(deezer)
    await spotify_adapter.update_details(b, name="B renamed")
    await deezer_adapter.remove_tracks(c, (await deezer_adapter.read_all(c))[:1])
    changed = await ps.wait(await ps.start(user))
    sent = imported(await ps.events(user, changed.id))
    assert set(sent) == {("spotify", b), ("deezer", c)}
    assert sent[("spotify", b)][0]["entries"] is None  # Spotify's snapshot moved, the entries did not
    assert sent[("spotify", b)][0]["playlist"]["name"] == "B renamed"
    assert len(sent[("deezer", c)][0]["entries"]) == 3
    assert changed.result["providers"]["spotify"]["details_only"] == 1

    # 4. A playlist deleted on the provider is only missing from the end event; it is forgotten here.
    await spotify_adapter.delete_playlist(a)
    gone = await ps.wait(await ps.start(user))
    events = await ps.events(user, gone.id)
    assert imported(events) == {}
    assert sorted(finished(events)["spotify"]) == sorted([b, LIKED_ID])
    async with ps.rt.pool.acquire() as conn:
        assert set(await remembered(conn, user, "spotify")) == {b, LIKED_ID}


async def test_a_followed_playlist_is_read_only_and_its_owners_entries_stay_its_owners(provider_sync):
    """Spotify (2026) keeps a playlist's items to its owner and collaborators: a followed one arrives
    read-only with its details alone (entries None), once; later imports do not ask for its items again
    while its snapshot stays."""
    ps, emulator = provider_sync, provider_sync.emulator
    user = uuid.uuid4()
    owner = await emulator.account("spotify", [{"name": "Theirs", "size": 3}])
    follower = await emulator.account("spotify", [{"name": "Mine", "size": 1}])
    theirs = owner.playlists["Theirs"]
    async with aiohttp.ClientSession() as session:
        url = f"{emulator.base}/api.spotify.com/v1/playlists/{theirs}/followers"
        async with session.put(url, headers={"Authorization": f"Bearer {follower.token}"}) as response:
            assert response.status == 200, await response.text()
    await ps.link(user, follower)
    job = await ps.wait(await ps.start(user))
    assert job.state == "succeeded", job.error
    sent = imported(await ps.events(user, job.id))
    [followed] = sent[("spotify", theirs)]
    assert followed["entries"] is None
    assert followed["playlist"]["read_only"] is True and followed["playlist"]["name"] == "Theirs"
    assert sent[("spotify", follower.playlists["Mine"])][0]["playlist"]["read_only"] is False
    assert job.result["providers"]["spotify"]["unreadable"] == 1
    again = await ps.wait(await ps.start(user))
    assert imported(await ps.events(user, again.id)) == {}
    assert again.result["providers"]["spotify"]["unreadable"] == 0  # not asked again


async def test_a_playlist_larger_than_a_part_is_sent_in_parts(provider_sync):
    ps, emulator = provider_sync, provider_sync.emulator
    user = uuid.uuid4()
    size = MAX_ENTRIES_PER_PART + 500
    deezer = await emulator.account("deezer", [{"name": "Huge", "size": size}])
    await ps.link(user, deezer)
    job = await ps.wait(await ps.start(user, ["deezer"]))
    assert job.state == "succeeded", job.error
    parts = imported(await ps.events(user, job.id))[("deezer", deezer.playlists["Huge"])]
    assert [(p["part"], p["parts"], len(p["entries"])) for p in parts] == [
        (1, 2, MAX_ENTRIES_PER_PART),
        (2, 2, 500),
    ]
    assert parts[0]["read_at"] == parts[1]["read_at"] and parts[0]["playlist"] == parts[1]["playlist"]
    titles = [e["track"]["title"] for p in parts for e in p["entries"]]
    expected = [t.title for t in await ps.adapter(deezer).read_all(deezer.playlists["Huge"])]
    assert titles == expected  # the provider's order, across the parts


async def test_a_revoked_link_pauses_the_job_and_linking_again_finishes_it_without_reading_twice(
    provider_sync,
):
    ps, emulator = provider_sync, provider_sync.emulator
    user = uuid.uuid4()
    spotify = await emulator.account("spotify", [{"name": "Kept", "size": 2}], liked=1)
    deezer = await emulator.account("deezer", [{"name": "Later", "size": 2}])
    await ps.link(user, spotify)
    await ps.link(user, deezer)
    ps.auth.revoked.add((str(user), "deezer"))  # auth: the provider refused the refresh
    job_id = await ps.start(user)

    paused = await ps.wait(job_id, "paused", "succeeded", "failed")
    assert paused.state == "paused"
    assert paused.waiting_for == waiting_for_link("deezer")
    assert paused.error.code == "reconsent-required" and "Deezer" in paused.error.message
    events = await ps.events(user, job_id)
    assert set(imported(events)) == {("spotify", spotify.playlists["Kept"]), ("spotify", LIKED_ID)}
    assert set(finished(events)) == {"spotify"}  # what was done is sent, and stays
    assert set(paused.checkpoint["finished"]) == {"spotify"}

    # The user links Deezer again: provider.linked resumes the job, which reads Deezer only.
    await emulator.reset_calls()
    ps.auth.revoked.discard((str(user), "deezer"))
    async with ps.rt.transaction() as conn:
        await links.record_linked(
            conn,
            ps.rt.jobs,
            ProviderLinked(
                user_id=user,
                provider="deezer",
                provider_account_id=deezer.id,
                scopes=[],
                linked_at=datetime.now(UTC),
            ),
        )
    done = await ps.wait(job_id)
    assert done.state == "succeeded", done.error
    assert (await calls_by_host(emulator, "spotify"))["spotify"] == 0
    events = await ps.events(user, job_id)
    assert ("deezer", deezer.playlists["Later"]) in imported(events)
    assert len(imported(events)[("spotify", spotify.playlists["Kept"])]) == 1  # sent once in all
    assert set(finished(events)) == {"spotify", "deezer"}
    assert set(done.result["providers"]) == {"spotify", "deezer"}


async def test_a_used_up_quota_pauses_until_it_resets_then_the_job_goes_on(start_provider_sync):
    """YouTube's daily units run out mid-import: the job pauses until the next Pacific midnight (plus a
    margin), keeping what it sent; once that time has passed (and the day's units are back), it resumes
    by itself and finishes without reading again what it had."""
    run = uuid.uuid4().hex[:12]
    ps = await start_provider_sync(YOUTUBE_QUOTA=f'{{"project": "quota-{run}", "units_per_day": 5}}')
    emulator = ps.emulator
    user = uuid.uuid4()
    spotify = await emulator.account("spotify", [{"name": "S", "size": 2}])
    youtube = await emulator.account(
        "youtube", [{"name": "Y1", "size": 2}, {"name": "Y2", "size": 2}, {"name": "Y3", "size": 2}], liked=2
    )
    await ps.link(user, spotify)
    await ps.link(user, youtube)
    before = datetime.now(UTC)
    job_id = await ps.start(user)
    paused = await ps.wait(job_id, "paused", "succeeded", "failed")
    after = datetime.now(UTC)
    assert paused.state == "paused", paused.error
    assert paused.waiting_for == "provider-quota:youtube" and paused.error.code == "provider-quota"
    resets = {next_pacific_midnight(before), next_pacific_midnight(after)}
    assert paused.resume_at in {r.replace(second=2) for r in resets}
    assert paused.resume_at.strftime("%Y-%m-%d %H:%M:%S UTC") in paused.error.message
    events = await ps.events(user, job_id)
    assert set(finished(events)) == {"spotify"}
    sent_before = imported(events)

    # A new Pacific day: the ledger's units are back; the time has come for the pause to end.
    prefix = ps.env["PROVIDER_REDIS_PREFIX"]
    async for key in ps.rt.redis.scan_iter(match=f"{prefix}:quota:youtube:*"):
        await ps.rt.redis.delete(key)
    await emulator.reset_calls()
    async with ps.rt.transaction() as conn:
        assert job_id in [job.id for job in await ps.rt.jobs.resume_due(conn, now=paused.resume_at)]
    done = await ps.wait(job_id)
    assert done.state == "succeeded", done.error
    assert (await calls_by_host(emulator, "spotify"))["spotify"] == 0
    events = await ps.events(user, job_id)
    assert set(finished(events)) == {"spotify", "youtube"}
    sent = imported(events)
    youtube_ids = {youtube.playlists[n] for n in ("Y1", "Y2", "Y3")} | {LIKED_ID}
    assert {pid for p, pid in sent if p == "youtube"} == youtube_ids
    assert all(len(parts) == 1 for parts in sent.values())  # nothing sent before was sent again
    assert set(sent_before) <= set(sent)


async def test_a_short_retry_after_is_waited_out_and_a_long_one_pauses_until_then(provider_sync):
    ps, emulator = provider_sync, provider_sync.emulator
    user = uuid.uuid4()
    await ps.link(user, spotify := await emulator.account("spotify", [{"name": "R", "size": 2}]))
    async with emulator.faults("spotify", storm_requests=2, storm_retry_after=1):
        waited = await ps.wait(await ps.start(user))
    assert waited.state == "succeeded", waited.error
    assert ("spotify", spotify.playlists["R"]) in imported(await ps.events(user, waited.id))

    before = datetime.now(UTC)
    async with emulator.faults("spotify", storm_requests=1, storm_retry_after=3600):
        paused = await ps.wait(await ps.start(user), "paused", "succeeded", "failed")
    assert paused.state == "paused", paused.error
    assert (paused.waiting_for, paused.error.code) == ("provider-rate-limit:spotify", "provider-rate-limit")
    assert before + timedelta(hours=1) <= paused.resume_at <= datetime.now(UTC) + timedelta(hours=1)
    async with ps.rt.transaction() as conn:
        assert paused.id in [job.id for job in await ps.rt.jobs.resume_due(conn, now=paused.resume_at)]
    assert (await ps.wait(paused.id)).state == "succeeded"


async def test_a_second_request_while_one_runs_answers_that_job(provider_sync):
    ps, emulator = provider_sync, provider_sync.emulator
    user = uuid.uuid4()
    await ps.link(user, await emulator.account("deezer", [{"name": "D", "size": 1}]))
    ps.auth.gate = gate = asyncio.Event()  # auth holds its answer: the job stays running
    try:
        first = await ps.start(user)
        await ps.wait(first, "running")
        status, again, _ = await ps.request_import(user, {"providers": ["deezer"]})
        assert status == 202 and again["job_id"] == str(first) and again["state"] == "running"
    finally:
        gate.set()
        ps.auth.gate = None
    assert (await ps.wait(first)).state == "succeeded"
    assert await ps.start(user) != first  # that one ended: a new one


async def test_what_an_import_request_is_refused_for(provider_sync):
    ps, emulator = provider_sync, provider_sync.emulator
    user = uuid.uuid4()

    async def problem(
        body=None, raw: bytes | None = None, media: str = "application/json"
    ) -> tuple[int, str]:
        if raw is None:
            response = await ps.client.post("/api/v1/library/imports", json=body, headers=ps.headers(user))
        else:
            headers = {**ps.headers(user), "Content-Type": media}
            response = await ps.client.post("/api/v1/library/imports", data=raw, headers=headers)
        assert response.content_type == "application/problem+json", await response.text()
        return response.status, (await response.json())["type"].rsplit("/", 1)[-1]

    assert await problem() == (422, "no-linked-provider")
    await ps.link(user, await emulator.account("deezer", []))
    await ps.link(user, tidal := await emulator.account("tidal", []))
    async with ps.rt.transaction() as conn:
        await links.record_reconsent_required(
            conn,
            ProviderReconsentRequired(
                user_id=user,
                provider="tidal",
                provider_account_id=tidal.id,
                detected_at=datetime.now(UTC),
                reason="invalid_grant",
            ),
        )
    assert await problem({"providers": ["deezer", "tidal"]}) == (422, "reconsent-required")
    assert await problem({"providers": ["spotify"]}) == (422, "provider-not-linked")
    assert await problem({"providers": ["napster"]}) == (422, "validation-failed")
    assert await problem({"providers": []}) == (422, "validation-failed")
    assert await problem({"provider": ["deezer"]}) == (422, "validation-failed")
    assert await problem({"providers": "deezer"}) == (422, "validation-failed")
    assert await problem(raw=b'{"providers": ["deezer"]}', media="text/plain") == (
        415,
        "unsupported-media-type",
    )
    assert await problem(raw=b"{") == (400, "bad-request")
    assert await problem(raw=b'{"providers": ["deezer"' + b", " * 5000 + b"]}") == (413, "payload-too-large")
    response = await ps.client.post("/api/v1/library/imports", json={})
    assert response.status == 401  # no identity from the gateway
    async with ps.rt.pool.acquire() as conn:
        assert await ps.rt.jobs.list_for_user(conn, user) == []  # no refusal made a job


async def test_a_new_request_supersedes_a_paused_import(provider_sync):
    """Two imports of one user never run at once: one paused (waiting for a link) is cancelled by the
    next request, which does the work itself."""
    ps, emulator = provider_sync, provider_sync.emulator
    user = uuid.uuid4()
    await ps.link(user, await emulator.account("deezer", [{"name": "D", "size": 1}]))
    ps.auth.revoked.add((str(user), "deezer"))
    first = await ps.start(user)
    assert (await ps.wait(first, "paused", "succeeded", "failed")).state == "paused"
    ps.auth.revoked.discard((str(user), "deezer"))
    second = await ps.start(user)
    assert second != first
    assert (await ps.wait(first, "cancelled", "succeeded", "failed")).state == "cancelled"
    assert (await ps.wait(second)).state == "succeeded"
