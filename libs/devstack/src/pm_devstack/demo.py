"""`make demo` (after `make up`): the main journey through the public API, printing each step.

A newcomer's tour: register, link an emulated Spotify and an emulated Deezer account through the real
OAuth flow (the emulator's consent page plays the provider's), import the Spotify library, dry-run a
transfer of two playlists to Deezer, show the match report, apply it, and show the result on Deezer.
Only the gateway's public API is used, as any client would, and the emulator as a provider would be
(its admin API only creates the provider-side accounts, as signing up at Spotify would).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

from pm_devstack.emulated_accounts import LinkFailed, link_emulated_account
from pm_devstack.stack import Stack

Say = Callable[[str], None]
# Two real playlists of the emulator's catalog (a Spotify data set's playlists).
PLAYLISTS = ({"name": "Road trip", "source_playlist": 3}, {"name": "Sunday morning", "source_playlist": 4})
# A simulated client address (TEST-NET-2): the gateway limits per address.
CLIENT_IP = "198.51.100.77"


class DemoError(Exception):
    pass


class _Api:
    def __init__(self, session: aiohttp.ClientSession, gateway: str, emulator: str) -> None:
        self.session, self.gateway, self.emulator = session, gateway, emulator
        self.headers = {"X-Forwarded-For": CLIENT_IP}

    async def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        for _ in range(60):
            async with self.session.request(
                method, f"{self.gateway}{path}", headers=self.headers, **kwargs
            ) as r:
                body = await r.json() if r.content_type.endswith("json") else await r.text()
                if r.status == 429:
                    await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                    continue
                if r.status != expect:
                    raise DemoError(f"{method} {path} answered {r.status}: {str(body)[:300]}")
                return body
        raise DemoError(f"{method} {path}: still rate-limited")

    async def job(self, job_id: str, say: Say) -> dict[str, Any]:
        last = ""
        while True:
            async with self.session.get(f"{self.gateway}/api/v1/jobs/{job_id}", headers=self.headers) as r:
                job = await r.json() if r.status == 200 else None
            if job is not None:
                line = f"     {job['state']:<9} {job['progress'] * 100:5.1f}%  {job.get('message') or ''}"
                if line != last:
                    say(line)
                    last = line
                if job["state"] == "succeeded":
                    return dict(job)
                if job["state"] in ("failed", "cancelled"):
                    raise DemoError(f"the job ended {job['state']}: {job.get('error')}")
            await asyncio.sleep(0.5)

    async def link(self, provider: str, library: dict[str, Any], say: Say) -> None:
        try:
            account = await link_emulated_account(
                self.session,
                gateway=self.gateway,
                emulator=self.emulator,
                headers=self.headers,
                provider=provider,
                library=library,
            )
        except LinkFailed as error:
            raise DemoError(str(error)) from None
        say(f"     linked {provider} account {account.id}: {account.landed}")


async def _tour(stack: Stack, say: Say) -> None:
    emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        api = _Api(session, stack.gateway_url, emulator)
        email = f"demo-{uuid.uuid4().hex[:8]}@example.com"
        password = "a demo password " + uuid.uuid4().hex[:8]
        say(f"1. Register {email} and log in  (POST /api/v1/auth/register, /login)")
        await api.call("POST", "/api/v1/auth/register", 201, json={"email": email, "password": password})
        tokens = await api.call("POST", "/api/v1/auth/login", json={"email": email, "password": password})
        api.headers["Authorization"] = f"Bearer {tokens['access_token']}"

        say("2. Link Spotify and Deezer through their OAuth flows  (POST /api/v1/auth/{provider}/authorize)")
        await api.link("spotify", {"playlists": list(PLAYLISTS), "liked_count": 20}, say)
        await api.link("deezer", {"playlists": []}, say)

        say("3. Import the Spotify library  (POST /api/v1/library/imports)")
        while True:
            async with session.post(
                f"{api.gateway}/api/v1/library/imports", headers=api.headers, json={"providers": ["spotify"]}
            ) as r:
                job = await r.json()
                if r.status == 202:
                    break
            await asyncio.sleep(0.5)  # provider-sync learns of the new link from auth's event
        imported = (await api.job(job["job_id"], say))["result"]
        say(
            f"     {imported['playlists_seen']} playlists and liked songs, {imported['tracks_read']} tracks read"
        )
        while True:
            listed = await api.call("GET", "/api/v1/playlists?collection=playlist&provider=spotify")
            if len(listed["playlists"]) == len(PLAYLISTS):
                break
            await asyncio.sleep(0.5)
        for p in listed["playlists"]:
            say(f"     library: {p['name']!r}, {p['entry_count']} tracks")

        say("4. Dry run: match the two playlists on Deezer, write nothing  (POST /api/v1/transfers)")
        body = {
            "source": {"provider": "spotify", "collections": "playlists"},
            "target": {"provider": "deezer"},
        }
        while True:
            async with session.post(
                f"{api.gateway}/api/v1/transfers", headers=api.headers, json={**body, "dry_run": True}
            ) as r:
                dry = await r.json()
                if r.status == 202:
                    break
            await asyncio.sleep(0.5)
        result = (await api.job(dry["job_id"], say))["result"]
        say(
            f"     {result['matched']} of {result['tracks']} matched ({result['methods']}), "
            f"{result['review']} to review, {result['not_matched']} not found; "
            f"{result['calls'].get('deezer', 0)} Deezer calls"
        )
        for part in result["parts"]:
            say(f"     would create {part['name']!r} with {part['tracks']} tracks")

        say("5. The match report  (GET /api/v1/transfers/{id}/tracks, …/report)")
        page = await api.call("GET", f"/api/v1/transfers/{dry['job_id']}/tracks?limit=3&status=matched")
        for t in page["tracks"]:
            source = t["source"]
            say(
                f"     matched  {', '.join(source['artists'])} - {source['title']}  →  deezer:{t['target_id']}"
                f"  ({t['method']}, confidence {t['confidence']})"
            )
        report = await api.call("GET", f"/api/v1/transfers/{dry['job_id']}/report")
        for t in report["tracks"][:5]:
            source, best = t["source"], (t["candidates"] or [None])[0]
            hint = f"; best candidate {best['title']!r} ({best['confidence']})" if best else ""
            say(
                f"     {t['status']:<11} {', '.join(source['artists'])} - {source['title']}: {t['reason']}{hint}"
            )
        say(f"     (the whole report as CSV: GET /api/v1/transfers/{dry['job_id']}/report.csv)")

        say("6. Apply the dry run  (POST /api/v1/transfers/{id}/apply)")
        applied = await api.call(
            "POST", f"/api/v1/transfers/{dry['job_id']}/apply", 202, json={"choices": []}
        )
        done = (await api.job(applied["job_id"], say))["result"]
        say(f"     {done['written']} tracks written, read back and verified in order")

        say("7. The result on Deezer  (GET /api/v1/transfers/{id})")
        view = await api.call("GET", f"/api/v1/transfers/{applied['job_id']}")
        for part in view["parts"]:
            say(
                f"     deezer playlist {part['target_playlist_id']}: {part['name']!r}, {part['tracks']} tracks"
            )


def run(stack: Stack, say: Say = print) -> int:
    try:
        asyncio.run(_tour(stack, say))
    except (DemoError, aiohttp.ClientError) as error:
        say(f"demo: {error} (is the stack up? `make up`)")
        return 1
    return 0
