"""Hooks for `make test-api` (schemathesis against the running gateway, SCHEMATHESIS_HOOKS=this module).

Every generated request comes from its own simulated client address (X-Forwarded-For from loopback is
believed in the native stack; pm_platform.testing.simulated_client_ip), so the per-address limits (5/min
on login and register) never stop the run, and it carries a real access token, so it reaches the
services behind the gateway instead of stopping at 401.

Real data, half of the time. The first valid (positive) case of an operation in each phase and every
other one after it go out with real values where generated ones could only miss (ids, secrets,
passwords); the hooks prepare them through the public API, the emulator's consent page and, for jobs,
the platform's job store: a session of the caller, a provider linked through the consent flow, a link
attempt, a state + code + binding cookie, a finished job of the caller that went outbox → Kafka → the
gateway's snapshot, the right password, an unused refresh token. The other cases go out as generated, so
the negative space is still fuzzed. Ids the API handed out during the run (a login's session, an attempt,
a job; e.g. passed along the document's links by the stateful phase) go out with the token of their user.

Accounts: a few bench users whose tokens every harmless request uses and nothing revokes. Requests that
end sessions or change credentials never get a bench token: logout and revoking one session get a
session handed out by a login, revoking the others an account of its own, deleting the account one a
registration created, changing the password an account whose password is followed.

The library: on a real turn an operation on a playlist gets a new playlist of the token's user, made
through the API (a few described tracks, one ISRC twice; a second version where the operation needs
history, a second playlist to merge from), and a body valid for it: its real entry and track ids, a `to`
and a `position` in range, a version that exists, an `If-Match` that is current or absent. A positive
case naming a playlist the API handed out (a creation's answer, e.g. passed along the link to
getPlaylist, or a real turn's playlist that schemathesis varies further) goes out with the token of its
owner, so generated bodies and headers reach real playlists too. Since those all land on one user, every
user's requests are paced by the RateLimit-* headers the gateway answered them with, instead of 429s.

Files: an account of their own (made on the first real turn) with a playlist, a finished export of it and
a finished backup: a real turn exports that playlist (each format in turn), or reads the export or backup
(view, download); an import or a restore on a real turn names an upload of the caller's, an M3U put at
its presigned link. Ids of exports and backups the API handed out go out with their owner's token.

Transfers: an account of their own (made on the first real turn), whose token nothing else uses, so no
generated request unlinks its providers: Spotify linked with a real playlist of the emulator's catalog
and imported, Deezer linked, a dry run to Deezer that succeeded and its apply. A real turn starts a dry
run of the imported playlist, reads the dry run or its apply (view, tracks, report, CSV), or applies the
dry run (a track left out, a candidate picked, or as it is); a positive case naming a transfer the API
handed out goes out with its owner's token. Other cases start transfers as a bench user (the target is
not linked there: 422).

Sync: an account of its own (made on the first real turn), whose token nothing else uses: Spotify and
Deezer linked through the consent flow, each emulator account made holding playlists of catalog tracks
(the ends, found by name through the emulator's admin API; Deezer's ids are numbers): a main link (a
mirror from 2 Spotify tracks over 3 Deezer ones, its brake off) whose first run changed Deezer and
succeeded, and the undo of that run, finished. A real turn reads the main link, its runs or one of them
(the undone run, its undo, a braked run), runs it (a run with nothing to do, or the run under way),
changes it harmlessly (pause, unpause, no schedule), undoes its first run (the same undo, answered
again), lists the links, links the spare playlists (the link a real turn made before deleted first) or
deletes a link between the doomed playlists made for it; a real turn of confirming links a new brake pair (a mirror
from 1 track over 10, the default brake) and confirms the run the brake stopped, once the gateway serves
its job paused (`removal-brake`; a few pairs, then the last one again: 409). A positive case naming a
link or run the API handed out goes out with its owner's token, except a delete of the main or a brake
link. Other cases create links as a bench user (nothing linked there: 422).

``after_call`` appends method, path template and status of every answer to RECORD (emptied when this
module is loaded, i.e. at the start of each run); tests-e2e/api_coverage.py then fails the run for an
operation that was never answered with a success.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import schemathesis
import yaml

from pm_platform.testing import simulated_client_ip

ROOT = Path(__file__).resolve().parents[1]
GATEWAY = os.environ.get("PM_GATEWAY_URL", "http://127.0.0.1:3101")
RECORD = Path(os.environ.get("PM_API_RECORD", ROOT / ".state" / "api-coverage.jsonl"))
DOCUMENT = ROOT / "proto" / "openapi.yaml"
BENCH_USERS = 8
RETURN_TO = "http://localhost:3000/accounts"  # an allowed origin of the native stack (CORS_ORIGINS)
JOB_SERVICE, JOB_SCHEMA, JOB_KIND = "provider-sync", "provider_sync", "schemathesis.seed"
SEEDED_JOBS = 3
TERMINAL = {"succeeded", "failed", "cancelled"}
TIMEOUT_S = 30

# Operations without bearer authentication (`security: []`): no token is added to them.
PUBLIC = {
    (method.upper(), path)
    for path, item in yaml.safe_load(DOCUMENT.read_text())["paths"].items()
    for method, operation in item.items()
    if isinstance(operation, dict) and operation.get("security") == []
}

RECORD.parent.mkdir(parents=True, exist_ok=True)
RECORD.write_text("")


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


# ---- the public API, as the hooks use it to prepare data --------------------------------------------------


class FixtureError(RuntimeError):
    """The hooks could not prepare real data: the stack does not answer as the hooks expect."""


def _call(
    method: str,
    path_or_url: str,
    *,
    token: str | None = None,
    expect: int | tuple[int, ...] = 200,
    **kwargs: Any,
) -> requests.Response:
    url = path_or_url if "://" in path_or_url else f"{GATEWAY}{path_or_url}"
    headers = {"X-Forwarded-For": simulated_client_ip()}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = requests.request(
        method, url, headers=headers, timeout=TIMEOUT_S, allow_redirects=False, **kwargs
    )
    if response.status_code not in ((expect,) if isinstance(expect, int) else expect):
        raise FixtureError(f"{method} {url}: {response.status_code} {response.text[:300]}")
    return response


@dataclass
class Account:
    """An account, or one session of it (then token, session_id and refresh_token are set)."""

    email: str
    password: str
    token: str = ""
    session_id: str = ""
    refresh_token: str = ""

    @classmethod
    def register(cls, prefix: str) -> Account:
        email, password = f"{_unique(prefix)}@example.com", f"Schemathesis {uuid.uuid4().hex}"
        _call("POST", "/api/v1/auth/register", json={"email": email, "password": password}, expect=201)
        return cls(email, password)

    def login(self) -> Account:
        """A new session of this account."""
        body = {"email": self.email, "password": self.password, "device_name": "schemathesis"}
        tokens = _call("POST", "/api/v1/auth/login", json=body).json()
        return Account(
            self.email, self.password, tokens["access_token"], tokens["session_id"], tokens["refresh_token"]
        )


def _authorize(token: str, mode: str = "poll", provider: str = "spotify") -> dict[str, Any]:
    """A new link attempt (Spotify unless said) of the token's user."""
    body = {"mode": mode, "return_to": RETURN_TO} if mode == "redirect" else {"mode": mode}
    answer: dict[str, Any] = _call(
        "POST", f"/api/v1/auth/{provider}/authorize", token=token, json=body
    ).json()
    _attempts[answer["attempt_id"]] = (provider, token)
    return answer


@dataclass(frozen=True)
class Consented:
    """Where the emulator sends the browser back after the consent: the callback's query and the
    browser's binding cookie; and the emulator account that consented (``emulator``: the emulator's base
    URL, for its admin API)."""

    provider: str
    query: dict[str, str]
    cookies: dict[str, str]
    account: str = ""
    emulator: str = ""


def _new_emulator_account(
    consent_url: str, provider: str = "spotify", library: dict[str, Any] | None = None
) -> str:
    """A new Spotify (or ``provider``) account at the emulator, empty or holding ``library`` (as
    tests-e2e/conftest.py's): one provider account links to one user only, and the emulator's own ids
    start again when it restarts, auth's links do not. Deezer's and TIDAL's user ids are numbers."""
    parts = urlsplit(consent_url)
    account = str(uuid.uuid4().int % 10**15) if provider in ("deezer", "tidal") else _unique("e2e")
    _call(
        "POST",
        f"{parts.scheme}://{parts.netloc}/_admin/users",
        json={"provider": provider, "user_id": account, **({"library": library} if library else {})},
        expect=(200, 201),
    )
    return account


def _consent(token: str, provider: str = "spotify", library: dict[str, Any] | None = None) -> Consented:
    """conftest's link_spotify up to the callback: authorize (redirect flow) → the start URL (binds this
    browser: the cookie) → the emulator's consent page → approve (a new account of ``provider``, holding
    ``library``) → the callback URL, not yet opened."""
    attempt = _authorize(token, mode="redirect", provider=provider)
    started = _call("GET", attempt["authorization_url"], expect=302)
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(started.headers["Set-Cookie"])
    consent_url = started.headers["Location"]
    _call("GET", consent_url)
    account = _new_emulator_account(consent_url, provider, library)
    form = {"emulator_user": account, "emulator_decision": "approve"}
    callback = urlsplit(_call("POST", consent_url, data=form, expect=(302, 303)).headers["Location"])
    if not callback.path.endswith(f"/api/v1/auth/{provider}/callback"):
        raise FixtureError(f"the emulator sent the browser to {callback.geturl()}")
    query = {key: values[0] for key, values in parse_qs(callback.query).items()}
    cookies = {name: morsel.value for name, morsel in cookie.items()}
    parts = urlsplit(consent_url)
    return Consented(provider, query, cookies, account, f"{parts.scheme}://{parts.netloc}")


def _link(
    token: str, provider: str = "spotify", library: dict[str, Any] | None = None, attempts: int = 10
) -> Consented:
    """Link a new emulator account of ``provider`` (holding ``library``) to the token's user; returns
    the consent of the account linked. The flow starts again when the emulator refused a step: other
    tests on the machine share it, its Deezer limit (50 requests in 5 s per client address, its consent
    page included: "Quota limit exceeded") and any faults they inject (e.g. 5 % of Deezer's answers a
    503)."""
    for attempt in range(attempts):
        try:
            consented = _consent(token, provider, library)
            back = _call(
                "GET",
                f"/api/v1/auth/{consented.provider}/callback",
                params=consented.query,
                cookies=consented.cookies,
                expect=302,
            )
            if parse_qs(urlsplit(back.headers["Location"]).query).get("status") != ["succeeded"]:
                raise FixtureError(f"linking {provider} did not succeed: {back.headers['Location']}")
            return consented
        except FixtureError:
            if attempt == attempts - 1:
                raise
            time.sleep(2)
    raise FixtureError(f"linking {provider}: no attempt made")


def _link_spotify(token: str) -> None:
    _link(token)
    _linked["spotify"] = token


# ---- jobs: made by the platform's job store, as a service makes them ---------------------------------------


async def _create_and_finish_jobs(owners: list[uuid.UUID]) -> list[str]:
    """A job per owner in provider-sync's database, of a kind no worker runs, finished in a second
    transaction (succeeded, failed, cancelled in turn): two job.updated each, outbox → Kafka → gateway."""
    import asyncpg

    from pm_contracts.jobs import JobError
    from pm_devstack.stack import Stack
    from pm_platform.jobs import JobStore

    store = JobStore(JOB_SERVICE, JOB_SCHEMA)
    endings: list[dict[str, Any]] = [
        {"state": "succeeded", "result": {"seeded_by": "schemathesis"}},
        {"state": "failed", "error": JobError(code="seeded", message="a failed job for the API tests")},
        {"state": "cancelled"},
    ]
    dsn = Stack.from_env().service_env(JOB_SERVICE)["DATABASE_URL"]
    conn = await asyncpg.connect(dsn, server_settings={"search_path": JOB_SCHEMA, "timezone": "UTC"})
    try:
        ids = []
        for owner, ending in zip(owners, itertools.cycle(endings), strict=False):
            async with conn.transaction():
                job = await store.create(conn, JOB_KIND, owner, {"seeded_by": "schemathesis"})
            async with conn.transaction():
                await store.finish(conn, job.id, **ending)
            ids.append(str(job.id))
        return ids
    finally:
        await conn.close()


def _seeded_job() -> str:
    """One of the seeded jobs of the first bench users, in turn. Only finished jobs are handed out (the
    event stream of an unfinished one stays open), each once the gateway serves it finished."""
    if "jobs" not in _state:
        owners = _bench()[:SEEDED_JOBS]
        user_ids = [uuid.UUID(_call("GET", "/api/v1/me", token=owner.token).json()["id"]) for owner in owners]
        # A thread of its own: the hook may be called where an event loop runs.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            job_ids = pool.submit(asyncio.run, _create_and_finish_jobs(user_ids)).result()
        deadline = time.monotonic() + 120  # through Kafka: normally well under a second
        for job_id, owner in zip(job_ids, owners, strict=True):
            while True:
                answer = _call("GET", f"/api/v1/jobs/{job_id}", token=owner.token, expect=(200, 404))
                if answer.status_code == 200 and answer.json()["state"] in TERMINAL:
                    break
                if time.monotonic() > deadline:
                    raise FixtureError(f"the gateway never served job {job_id} finished: {answer.text[:300]}")
                time.sleep(0.2)
            _jobs[job_id] = owner.token
        _state["jobs"] = itertools.cycle(job_ids)
    return str(next(_state["jobs"]))


# ---- what the run has and knows ----------------------------------------------------------------------------

_state: dict[str, Any] = {}
_turns: Counter[tuple[str, str, str]] = Counter()
_sessions: dict[str, Account] = {}  # session id → that session, as a login or refresh handed it out
_refreshed: dict[str, str] = {}  # every refresh token handed out → its session id
_attempts: dict[str, tuple[str, str]] = {}  # attempt id → (provider, token of its user)
_jobs: dict[str, str] = {}  # seeded job id → token of its owner
_linked: dict[str, str] = {}  # provider → token of a user it was seen linked for
_registered: list[Account] = []  # accounts registrations created, to be deleted
_new_passwords: dict[str, str] = {}  # case id → the password account's password the case sets
_playlists: dict[str, str] = {}  # playlist id the API handed out → token of its owner
_cursors: dict[tuple[str, str], str] = {}  # (token, sort) → a next_cursor the list handed out to it
_transfers: dict[str, str] = {}  # transfer (job) id the API handed out → token of its owner


# The gateway limits each user (10/s, bursts of 20) and says how much is left (RateLimit-Remaining, -Reset).
# Positive cases naming one playlist all go with its owner's token (e.g. the coverage phase's variations of
# a real turn's case), so each user's requests are paced by what the gateway said rather than refused 429.
_budgets: dict[str, tuple[int, float]] = {}  # token → (requests left, time.monotonic() when it refills)
PACED_BELOW = 3


def _header(headers: Any, name: str) -> str | None:
    """A header of a requests or a schemathesis response (lower-case names, lists of values)."""
    value = headers.get(name) if hasattr(headers, "lower_items") else headers.get(name.lower())
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def _note_budget(token: str, status: int, headers: Any) -> None:
    left, reset = _header(headers, "RateLimit-Remaining"), _header(headers, "RateLimit-Reset")
    wait = _header(headers, "Retry-After") if status == 429 else reset
    if token and (status == 429 or left is not None):
        remaining = 0 if status == 429 else int(left or 0)
        _budgets[token] = (remaining, time.monotonic() + float(wait or 1))


def _pace(token: str | None) -> None:
    """Wait until the token's user has requests left, when the gateway said it was running out."""
    left, refilled = _budgets.get(token or "", (PACED_BELOW, 0.0))
    if left < PACED_BELOW:
        time.sleep(max(0.0, refilled - time.monotonic()))
        _budgets.pop(token or "", None)


def _bench() -> list[Account]:
    if "bench" not in _state:
        _state["bench"] = [Account.register("st-bench").login() for _ in range(BENCH_USERS)]
        _state["cycle"] = itertools.cycle(_state["bench"])
    return list(_state["bench"])


def _next_bench_token() -> str:
    _bench()
    return str(next(_state["cycle"]).token)


def _account(role: str) -> Account:
    """The logged-in account of a role: `sessions` (logs in for the real logins and spare sessions),
    `enders` (revokes its other sessions), `password` (changes its password)."""
    if role not in _state:
        _state[role] = Account.register(f"st-{role}").login()
    account: Account = _state[role]
    return account


def _is_real_turn(case: Any, label: tuple[str, str], every: int = 2) -> bool:
    """The first positive case of the operation in each phase, and every ``every``-th one after it."""
    meta = case.meta
    if meta is None or meta.generation.mode.value != "positive":
        return False  # no meta: schemathesis' own sign-up and login, left as they are
    key = (*label, meta.phase.name.value)
    turn = _turns[key]
    _turns[key] += 1
    return turn % every == 0


def _tests_authorization(case: Any) -> bool:
    """A negative case about `Authorization` (left out, or not a bearer token): sent as generated."""
    meta = case.meta
    if meta is None or meta.generation.mode.value != "negative":
        return False
    return str(getattr(meta.phase.data, "parameter", "")).lower() == "authorization"


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _sent_token(case: Any) -> str:
    return str((case.headers or {}).get("Authorization", "")).removeprefix("Bearer ")


def _body(case: Any) -> dict[str, Any]:
    return case.body if isinstance(case.body, dict) else {}


# ---- the hooks -----------------------------------------------------------------------------------------------


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """Right before each request: a client address of its own, a token, real data on a real turn."""
    label = (case.method.upper(), case.operation.path)
    token: str | None = _next_bench_token()
    prepare = _PREPARE.get(label)
    if prepare is not None:
        token = prepare(case, _is_real_turn(case, label, _EVERY.get(label, 2)), token)
    replaced = ("x-forwarded-for",) if _tests_authorization(case) else ("x-forwarded-for", "authorization")
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in replaced}
    headers["X-Forwarded-For"] = simulated_client_ip()
    if token and label not in PUBLIC and "authorization" in replaced:
        headers["Authorization"] = f"Bearer {token}"
        _pace(token)
    case.headers = headers


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    """Record the answer; learn the ids the API handed out and whose they are."""
    label = (case.method.upper(), case.operation.path)
    with RECORD.open("a") as record:
        record.write(
            json.dumps({"method": label[0], "path": label[1], "status": response.status_code}) + "\n"
        )
    _note_budget(_sent_token(case), response.status_code, response.headers)
    learn = _LEARN.get(label)
    if learn is not None:
        learn(case, response)


# ---- per operation --------------------------------------------------------------------------------------------
# prepare_*: (the case, whether it is a real turn, the bench token it would get) → the token to send; edits
# the case. learn_*: (the case, the response) → remembers what the answer handed out.

Prepare = Callable[[Any, bool, str | None], str | None]


def prepare_register(case: Any, real: bool, token: str | None) -> str | None:
    if real:
        case.body = {
            "email": f"{_unique('st-new')}@example.com",
            "password": f"Registered {uuid.uuid4().hex}",
        }
    return None


def learn_registered(case: Any, response: Any) -> None:
    if response.status_code == 201:  # generated or not: a real DELETE /api/v1/me deletes it later
        _registered.append(Account(str(_body(case)["email"]), str(_body(case)["password"])))


def prepare_login(case: Any, real: bool, token: str | None) -> str | None:
    body = _body(case)
    # The credentials of a registration (e.g. passed along the link from it) are real already.
    known = any(a.email == body.get("email") and a.password == body.get("password") for a in _registered)
    if real and not known:
        account = _account("sessions")
        case.body = {"email": account.email, "password": account.password, "device_name": "schemathesis"}
    return None


def learn_session(case: Any, response: Any) -> None:
    """A login or refresh: the session it handed out becomes a spare one (until it is used); a refresh
    token refused for reuse has revoked its session."""
    body, sent = _json(response), _body(case)
    refreshed = _refreshed.get(str(sent.get("refresh_token")))
    if response.status_code == 200 and isinstance(body, dict):
        before = _sessions.get(refreshed or "")
        email = str(sent.get("email") or (before.email if before else ""))
        session = Account(email, "", body["access_token"], body["session_id"], body["refresh_token"])
        _sessions[session.session_id] = session
        _refreshed[session.refresh_token] = session.session_id
    elif response.status_code == 401 and refreshed:
        _sessions.pop(refreshed, None)


def _spare_session() -> Account:
    """A session handed out by a login and not used since, else a new one of `sessions`."""
    if _sessions:
        return _sessions.pop(next(iter(_sessions)))
    return _account("sessions").login()


def prepare_refresh(case: Any, real: bool, token: str | None) -> str | None:
    sent = _body(case).get("refresh_token")
    # The latest refresh token of a session handed out (e.g. passed along a link) is real already.
    known = any(s.refresh_token == sent for s in _sessions.values())
    if real and not known:
        case.body = {"refresh_token": _spare_session().refresh_token}
    return None


def prepare_logout(case: Any, real: bool, token: str | None) -> str | None:
    """Ends the session it is sent with: a spare one, or (the other turns) the one it ended last time,
    which must be refused."""
    if real or "ended" not in _state:
        _state["ended"] = _spare_session().token
    return str(_state["ended"])


def prepare_revoke_others(case: Any, real: bool, token: str | None) -> str | None:
    return _account("enders").token  # it keeps its own session and ends every other of the user


def prepare_revoke_session(case: Any, real: bool, token: str | None) -> str | None:
    session_id = str(case.path_parameters.get("session_id", ""))
    if session_id in _sessions:  # handed out by a login or refresh (e.g. passed along a link)
        return _sessions.pop(session_id).token
    if real:
        spare = _spare_session()
        case.path_parameters = {**case.path_parameters, "session_id": spare.session_id}
        return spare.token
    # Never a bench token: GET /api/v1/sessions lists the bench sessions, whose ids may come back here.
    return _account("sessions").token


def prepare_delete_me(case: Any, real: bool, token: str | None) -> str | None:
    if not real:
        return token  # a bench user's: the generated password is wrong (403) or invalid (422)
    doomed = (_registered.pop() if _registered else Account.register("st-doomed")).login()
    for session_id in [s for s, session in _sessions.items() if session.email == doomed.email]:
        del _sessions[session_id]  # they end with the account
    case.body = {"password": doomed.password}
    return doomed.token


def prepare_change_password(case: Any, real: bool, token: str | None) -> str | None:
    if not real:
        return token
    account = _account("password")
    _new_passwords[case.id] = f"Changed {uuid.uuid4().hex}"
    case.body = {"current_password": account.password, "new_password": _new_passwords[case.id]}
    return account.token


def learn_password(case: Any, response: Any) -> None:
    new = _new_passwords.pop(case.id, None)
    if new is not None and response.status_code == 204:
        _account("password").password = new


def prepare_unlink(case: Any, real: bool, token: str | None) -> str | None:
    if real:
        owner = _next_bench_token()
        _link_spotify(owner)
        case.path_parameters = {**case.path_parameters, "provider": "spotify"}
        return owner
    return _linked.get(str(case.path_parameters.get("provider")), token)  # seen linked: its user's token


def prepare_import(case: Any, real: bool, token: str | None) -> str | None:
    """A real turn imports for a user with Spotify linked (linked here when none is yet), once
    provider-sync has heard of the link from auth (until then the provider is "not linked": 422)."""
    if not real:
        return token
    owner = _linked.get("spotify")
    if owner is None:
        owner = _next_bench_token()
        _link_spotify(owner)
    _once_linked(owner, "/api/v1/library/imports", {"providers": ["spotify"]})
    case.body = {"providers": ["spotify"]}
    return owner


def _once_linked(token: str, path: str, body: dict[str, Any], success: int = 202) -> dict[str, Any]:
    """POST ``body`` (an import, a transfer or a sync link) until its 202 (``success``): provider-sync
    learns of a new link from auth's event, and until it has, the provider is "not linked" there (422)."""
    deadline = time.monotonic() + 30
    while True:
        response = _library("POST", path, token, (success, 422), json=body)
        if response.status_code == success:
            answer: dict[str, Any] = response.json()
            return answer
        if not str(response.json().get("type", "")).endswith("/provider-not-linked"):
            raise FixtureError(f"POST {path}: {response.text[:300]}")
        if time.monotonic() > deadline:
            raise FixtureError(f"provider-sync never heard of the link: {response.text[:300]}")
        time.sleep(0.2)


def learn_unlinked(case: Any, response: Any) -> None:
    if response.status_code == 204:
        _linked.pop(str(case.path_parameters.get("provider")), None)


def learn_links(case: Any, response: Any) -> None:
    body = _json(response)
    if response.status_code == 200 and isinstance(body, dict):
        for link in body.get("links", []):
            _linked[str(link["provider"])] = _sent_token(case)


def prepare_authorize(case: Any, real: bool, token: str | None) -> str | None:
    if real:  # the redirect and the polling flow in turn
        _state["redirect"] = redirect = not _state.get("redirect", True)
        case.path_parameters = {**case.path_parameters, "provider": "spotify"}
        case.body = {"mode": "redirect", "return_to": RETURN_TO} if redirect else {"mode": "poll"}
    return token


def learn_attempt(case: Any, response: Any) -> None:
    body = _json(response)
    if response.status_code == 200 and isinstance(body, dict):
        _attempts[str(body["attempt_id"])] = (str(case.path_parameters.get("provider")), _sent_token(case))


def prepare_start(case: Any, real: bool, token: str | None) -> str | None:
    attempt_id = str((case.query or {}).get("attempt", ""))
    if attempt_id not in _attempts and real:
        attempt_id = _authorize(token or _next_bench_token())["attempt_id"]
        case.query = {**(case.query or {}), "attempt": attempt_id}
    if attempt_id in _attempts:
        case.path_parameters = {**case.path_parameters, "provider": _attempts[attempt_id][0]}
    return None


def prepare_callback(case: Any, real: bool, token: str | None) -> str | None:
    if real:  # the state and code the emulator sends back, in the browser that opened the start URL
        user = token or _next_bench_token()
        consented = _consent(user)
        case.path_parameters = {**case.path_parameters, "provider": consented.provider}
        case.query = dict(consented.query)
        case.cookies = {**(case.cookies or {}), **consented.cookies}
        _linked[consented.provider] = user
    return None


def prepare_attempt_status(case: Any, real: bool, token: str | None) -> str | None:
    attempt_id = str(case.path_parameters.get("attempt_id", ""))
    if attempt_id in _attempts:
        return _attempts[attempt_id][1]
    if real:
        attempt = _authorize(token or _next_bench_token())
        case.path_parameters = {**case.path_parameters, "attempt_id": attempt["attempt_id"]}
        return _attempts[attempt["attempt_id"]][1]
    return token


def prepare_job(case: Any, real: bool, token: str | None) -> str | None:
    job_id = str(case.path_parameters.get("job_id", ""))
    if job_id not in _jobs and real:
        job_id = _seeded_job()
        case.path_parameters = {**case.path_parameters, "job_id": job_id}
    return _jobs.get(job_id, token)


# ---- the library ------------------------------------------------------------------------------------------

PLAYLISTS = "/api/v1/playlists"
PLAYLIST = "/api/v1/playlists/{playlist_id}"


def _library(
    method: str, path: str, token: str, expect: int | tuple[int, ...], attempts: int = 10, **kwargs: Any
) -> requests.Response:
    """``_call`` for preparing library data: a 429 of the user's own rate limit is waited out (the bench
    users send every generated request too), anything else unexpected is a FixtureError."""
    expected = (expect,) if isinstance(expect, int) else expect
    for _ in range(attempts):
        _pace(token)
        response = _call(method, path, token=token, expect=(*expected, 429), **kwargs)
        _note_budget(token, response.status_code, response.headers)
        if response.status_code != 429:
            return response
    raise FixtureError(f"{method} {path}: still rate limited after {attempts} attempts")


@dataclass
class RealPlaylist:
    """A playlist of one user as its page lists it: id, ETag, version, entries (id, position, track)."""

    id: str
    etag: str
    version: int
    entries: list[dict[str, Any]]

    @property
    def entry_ids(self) -> list[str]:
        return [str(e["id"]) for e in self.entries]


def _read_playlist(token: str, playlist_id: str) -> RealPlaylist:
    page = _library("GET", f"{PLAYLISTS}/{playlist_id}?limit=500", token, 200)
    body = page.json()
    return RealPlaylist(playlist_id, page.headers["ETag"], int(body["version"]), body["entries"]["items"])


def _real_playlist(token: str, history: bool = False) -> RealPlaylist:
    """A new playlist of the token's user: four described tracks (the first and the third of one ISRC,
    something for dedupe to find); with ``history`` a second version (the first entry moved last)."""
    tracks = [
        {"title": "Real A", "artists": ["Schemathesis"], "isrc": "QZST20000001", "duration_ms": 180_000},
        {"title": "Real B", "artists": ["Hypothesis"], "album": "Fuzz", "release_date": "2020-01-31"},
        {"title": "Real A (again)", "artists": ["Schemathesis"], "isrc": "QZ-ST2-00-00001"},
        {"title": "Real C", "explicit": True, "duration_ms": 240_000},
    ]
    body = {"name": _unique("st-playlist"), "description": "made by the schemathesis hooks", "tracks": tracks}
    playlist_id = str(_library("POST", PLAYLISTS, token, 201, json=body).json()["id"])
    _playlists[playlist_id] = token
    playlist = _read_playlist(token, playlist_id)
    if history:
        move = {"entry_ids": playlist.entry_ids[:1], "to": len(playlist.entries) - 1}
        _library("POST", f"{PLAYLISTS}/{playlist_id}/entries/move", token, 200, json=move)
        playlist = _read_playlist(token, playlist_id)
    return playlist


def _without(headers: dict[str, Any] | None, name: str) -> dict[str, Any]:
    return {k: v for k, v in (headers or {}).items() if k.lower() != name.lower()}


def _toggle(name: str) -> bool:
    """True, False, True, … on the calls naming ``name``."""
    _state[f"toggle:{name}"] = value = not _state.get(f"toggle:{name}", False)
    return value


def _condition(case: Any, header: str, etag: str) -> None:
    """Every other real turn sends ``header`` with the current ETag, the others none."""
    sent = _toggle(f"{case.method} {case.operation.path} {header}")
    case.headers = {**_without(case.headers, header), **({header: etag} if sent else {})}


def _owner(case: Any, token: str | None) -> str | None:
    """A positive case naming a playlist the API handed out goes out with its owner's token, anything
    else with ``token``: a negative one is refused before its playlist is looked up (422), or, should the
    service take it, answered 404 for a playlist of someone else."""
    meta = case.meta
    if meta is not None and meta.generation.mode.value == "negative":
        return token
    return _playlists.get(str(case.path_parameters.get("playlist_id", "")), token)


def _on_a_real_playlist(body: Callable[[RealPlaylist, str], Any]) -> Prepare:
    """prepare_* of an operation on one playlist: on a real turn a new playlist of the token's user, its
    id in the path, ``body(playlist, token)`` as the body (unless None: no body) and a current If-Match or
    none; on the other turns the generated case, sent with the owner's token when it names a playlist
    the API handed out."""

    def prepare(case: Any, real: bool, token: str | None) -> str | None:
        if not real:
            return _owner(case, token)
        owner = token or _next_bench_token()
        playlist = _real_playlist(owner)
        case.path_parameters = {**case.path_parameters, "playlist_id": playlist.id}
        made = body(playlist, owner)
        if made is not None:
            case.body = made
        _condition(case, "If-Match", playlist.etag)
        return owner

    return prepare


def _details_body(playlist: RealPlaylist, token: str) -> dict[str, Any]:
    return {"name": _unique("st-renamed"), "description": "renamed by the hooks", "public": True}


def _add_body(playlist: RealPlaylist, token: str) -> dict[str, Any]:
    known = str(playlist.entries[1]["track"]["id"])  # a track of the user's library, by its id
    return {"tracks": [{"track_id": known}, {"title": "Real D"}], "position": len(playlist.entries) // 2}


def _remove_body(playlist: RealPlaylist, token: str) -> dict[str, Any]:
    return {"entry_ids": playlist.entry_ids[1:3]}


def _move_body(playlist: RealPlaylist, token: str) -> dict[str, Any]:
    return {"entry_ids": playlist.entry_ids[:2], "to": len(playlist.entries) - 2}


def _batch_body(playlist: RealPlaylist, token: str) -> dict[str, Any]:
    first, second, *_ = playlist.entry_ids
    edits = [
        {"op": "add", "tracks": [{"title": "Real E", "artists": ["Batch"]}], "position": 0},
        {"op": "move", "entry_ids": [first], "to": 0},
        {"op": "remove", "entry_ids": [second]},
    ]
    return {"edits": edits}


def _reorder_body(playlist: RealPlaylist, token: str) -> dict[str, Any]:
    return {"entry_ids": playlist.entry_ids[::-1]}


_SORTS = itertools.cycle([("artist", False), ("title", True), ("added_at", True), ("release_date", False)])


def _sort_body(playlist: RealPlaylist, token: str) -> dict[str, Any]:
    by, descending = next(_SORTS)
    return {"by": by, "descending": descending}


def _merge_body(playlist: RealPlaylist, token: str) -> dict[str, Any]:
    return {"source_playlist_id": _real_playlist(token).id, "skip_present": _toggle("skip_present")}


def _dedupe_body(playlist: RealPlaylist, token: str) -> dict[str, Any]:
    return {"dry_run": _toggle("dry_run")}


def _no_body(playlist: RealPlaylist, token: str) -> None:
    return None


def prepare_read_playlist(case: Any, real: bool, token: str | None) -> str | None:
    """A real turn: a real playlist, the page generated (a page past the end is an empty one), a current
    If-None-Match (304) or none."""
    if not real:
        return _owner(case, token)
    owner = token or _next_bench_token()
    playlist = _real_playlist(owner)
    case.path_parameters = {**case.path_parameters, "playlist_id": playlist.id}
    _condition(case, "If-None-Match", playlist.etag)
    return owner


def prepare_history(case: Any, real: bool, token: str | None) -> str | None:
    """Versions and diff: on a real turn a playlist of two versions, and the diff between them."""
    if not real:
        return _owner(case, token)
    owner = token or _next_bench_token()
    playlist = _real_playlist(owner, history=True)
    case.path_parameters = {**case.path_parameters, "playlist_id": playlist.id}
    if case.operation.path.endswith("/diff"):
        case.query = {"from": 1, "to": playlist.version}
    return owner


def prepare_restore(case: Any, real: bool, token: str | None) -> str | None:
    if not real:
        return _owner(case, token)
    owner = token or _next_bench_token()
    playlist = _real_playlist(owner, history=True)
    case.path_parameters = {**case.path_parameters, "playlist_id": playlist.id, "version": "1"}
    _condition(case, "If-Match", playlist.etag)
    return owner


def prepare_insight(case: Any, real: bool, token: str | None) -> str | None:
    """Availability and statistics on a real turn: the token's user's own playlist as ``playlist_id``
    (availability always names one; statistics only when the generated case did)."""
    if not real:
        return token
    owner = token or _next_bench_token()
    query = dict(case.query or {})
    if "playlist_id" in query or case.operation.path.endswith("/availability"):
        query["playlist_id"] = _real_playlist(owner).id
    case.query = query
    return owner


def prepare_list(case: Any, real: bool, token: str | None) -> str | None:
    """A real turn: a cursor the list handed out to this user for this sort, or none (a generated one is
    a 422, which the other turns check)."""
    if real and "cursor" in (case.query or {}):
        query = {k: v for k, v in case.query.items() if k != "cursor"}
        cursor = _cursors.get((str(token), str(query.get("sort", "name"))))
        case.query = {**query, **({"cursor": cursor} if cursor else {})}
    return token


def prepare_create(case: Any, real: bool, token: str | None) -> str | None:
    if real:
        tracks = [{"title": "Created", "artists": ["Hooks"], "duration_ms": 1000}]
        case.body = {"name": _unique("st-created"), "public": False, "tracks": tracks}
    return token


def learn_listed(case: Any, response: Any) -> None:
    body = _json(response)
    if response.status_code == 200 and isinstance(body, dict) and body.get("next_cursor"):
        sort = str((case.query or {}).get("sort", "name"))
        _cursors[(_sent_token(case), sort)] = str(body["next_cursor"])


def learn_created_playlist(case: Any, response: Any) -> None:
    body = _json(response)
    if response.status_code == 201 and isinstance(body, dict):
        _playlists[str(body["id"])] = _sent_token(case)


def learn_deleted_playlist(case: Any, response: Any) -> None:
    if response.status_code == 204:
        _playlists.pop(str(case.path_parameters.get("playlist_id")), None)


# ---- transfers ---------------------------------------------------------------------------------------------

TRANSFERS = "/api/v1/transfers"
TRANSFER = "/api/v1/transfers/{job_id}"
# The transfer account's Spotify library at the emulator: one real playlist of its catalog (24 tracks).
TRANSFER_LIBRARY = {"playlists": [{"name": "Verano Forever", "source_playlist": 1}]}
JOB_DEADLINE_S = 120


@dataclass(frozen=True)
class Transfers:
    """The transfer account (Spotify linked and imported, Deezer linked) and its transfers to Deezer: a
    dry run that succeeded and its apply, finished too, and the dry run's per-track results. Real turns
    transfer the imported playlist (dry runs) and apply the dry run."""

    owner: str  # its token, used for nothing but transfers (so no generated request unlinks anything)
    playlist_id: str  # the imported playlist, in the library
    dry_run: str
    applied: str
    tracks: list[dict[str, Any]]


def _finished(token: str, job_id: str) -> dict[str, Any]:
    """The job once the gateway serves it finished (its first event may take a moment: 404 until then);
    a FixtureError unless it succeeded."""
    deadline = time.monotonic() + JOB_DEADLINE_S
    while True:
        answer = _library("GET", f"/api/v1/jobs/{job_id}", token, (200, 404))
        job: dict[str, Any] = answer.json()
        if answer.status_code == 200 and job["state"] in TERMINAL:
            if job["state"] != "succeeded":
                raise FixtureError(f"job {job_id} ended {job['state']}: {answer.text[:300]}")
            return job
        if time.monotonic() > deadline:
            raise FixtureError(f"job {job_id} not finished after {JOB_DEADLINE_S} s: {answer.text[:300]}")
        time.sleep(0.3)


def _transfer_account() -> Transfers:
    """Made once, on the first real turn of a transfer operation (some 5 to 15 s: two links, an import of
    24 tracks, a dry run and its apply). The dry run's source is a playlist made here of described tracks
    (one of the imported songs, another one 25 s longer, a song nobody has): its results hold a search, a
    track to review with its candidates and tracks for the not-found report, and an apply of it writes
    one short playlist (Deezer's limit at the emulator is shared by every test on the machine)."""
    if "transfers" not in _state:
        owner = Account.register("st-transfers").login().token
        _link(owner, "spotify", TRANSFER_LIBRARY)
        _link(owner, "deezer")
        _finished(owner, _once_linked(owner, "/api/v1/library/imports", {"providers": ["spotify"]})["job_id"])
        deadline = time.monotonic() + 60  # the playlist service applies the import from Kafka
        imported = f"{PLAYLISTS}?provider=spotify&collection=playlist"
        while not (listed := _library("GET", imported, owner, 200).json())["playlists"]:
            if time.monotonic() > deadline:
                raise FixtureError("the imported playlist never reached the library")
            time.sleep(0.3)
        playlist_id = str(listed["playlists"][0]["id"])
        # Two songs: a playlist holding one Deezer track twice (a pick of the first's) cannot be written.
        one, other = (e["track"] for e in _read_playlist(owner, playlist_id).entries[:2])
        described = [
            {"title": one["title"], "artists": one["artists"], "duration_ms": one["duration_ms"]},
            {
                "title": other["title"],
                "artists": other["artists"],
                "duration_ms": other["duration_ms"] + 25_000,
            },
            {"title": _unique("Nobody has this song"), "artists": ["Hypothesis"]},
        ]
        made = {"name": _unique("st-transfer-source"), "tracks": described}
        made_id = str(_library("POST", PLAYLISTS, owner, 201, json=made).json()["id"])
        body = {
            "source": {"playlists": [made_id]},
            "target": {"provider": "deezer"},
            "dry_run": True,
        }
        dry_run = str(_once_linked(owner, TRANSFERS, body)["job_id"])
        _finished(owner, dry_run)
        tracks = _library("GET", f"{TRANSFERS}/{dry_run}/tracks?limit=1000", owner, 200).json()["tracks"]
        applied = str(_library("POST", f"{TRANSFERS}/{dry_run}/apply", owner, 202, json={}).json()["job_id"])
        _finished(owner, applied)
        _transfers.update({dry_run: owner, applied: owner})
        _state["transfers"] = Transfers(owner, playlist_id, dry_run, applied, tracks)
    found: Transfers = _state["transfers"]
    return found


def _transfer_owner(case: Any, token: str | None) -> str | None:
    """A positive case naming a transfer the API handed out goes out with its owner's token, anything else
    with ``token`` (a transfer of someone else: 404)."""
    meta = case.meta
    if meta is not None and meta.generation.mode.value == "negative":
        return token
    return _transfers.get(str(case.path_parameters.get("job_id", "")), token)


def prepare_start_transfer(case: Any, real: bool, token: str | None) -> str | None:
    """A real turn: a dry run to Deezer by the transfer account, of its Spotify playlists or of its library
    playlist by id (then under a name of its own) in turn. The others: as generated, by a bench user (a
    target not linked there is a 422)."""
    if not real:
        return token
    account = _transfer_account()
    if _toggle("transfer source"):
        case.body = {
            "source": {"provider": "spotify", "collections": "playlists"},
            "target": {"provider": "deezer"},
            "dry_run": True,
        }
    else:
        case.body = {
            "source": {"playlists": [account.playlist_id]},
            "target": {"provider": "deezer", "mode": "create", "name": _unique("st-transfer")},
            "dry_run": True,
            "explicit": "clean",
        }
    return account.owner


def prepare_list_transfers(case: Any, real: bool, token: str | None) -> str | None:
    return _transfer_account().owner if real else token


def prepare_transfer(case: Any, real: bool, token: str | None) -> str | None:
    """A transfer's view, tracks and report: on a real turn the dry run or its apply in turn (the query
    as generated), on the others the generated case."""
    if not real:
        return _transfer_owner(case, token)
    account = _transfer_account()
    job_id = account.dry_run if _toggle(f"{case.method} {case.operation.path}") else account.applied
    case.path_parameters = {**case.path_parameters, "job_id": job_id}
    return account.owner


_APPLIES = itertools.cycle(["skip", "pick", "none"])


def prepare_apply(case: Any, real: bool, token: str | None) -> str | None:
    """A real turn applies the dry run (a new job that writes to the emulated Deezer): leaving a track out,
    picking a candidate (or the match) for one, or taking the dry run as it is."""
    if not real:
        return _transfer_owner(case, token)
    account = _transfer_account()
    case.path_parameters = {**case.path_parameters, "job_id": account.dry_run}
    kind = next(_APPLIES)
    track = next((t for t in account.tracks if t["candidates"]), account.tracks[0])
    where = {"playlist": track["playlist"], "position": track["position"]}
    if kind == "skip":
        case.body = {"choices": [{**where, "skip": True}]}
    elif kind == "pick" and (picked := (track["candidates"] or [{"id": track["target_id"]}])[0]["id"]):
        case.body = {"choices": [{**where, "target_id": str(picked)}]}
    else:
        case.body = {"choices": []}
    return account.owner


def learn_transfer(case: Any, response: Any) -> None:
    body = _json(response)
    if response.status_code == 202 and isinstance(body, dict):
        _transfers[str(body["job_id"])] = _sent_token(case)


# ---- sync ----------------------------------------------------------------------------------------------------

SYNC = "/api/v1/sync"
SYNC_LINK = "/api/v1/sync/{link_id}"
SYNC_RUN = "/api/v1/sync/runs/{run_id}"
# Links whose first run the removal brake stops: one for each real turn of confirmSyncRun (a confirmed
# run cannot be confirmed again); once they are used up, real turns confirm the last one again (409).
SYNC_BRAKES = 5
# The sync account's libraries at the emulator (catalog tracks, by `size`). "main": a mirror from 2
# Spotify tracks over 3 Deezer ones removes at least one (its first run changes something, whatever is
# matched; the link's brake is off); "spare": the ends of the links real turns create; "doomed": of the
# links real turns delete; "brake <i>": a mirror from 1 track over 10 would remove 9 or 10 (more than the default share, 0.2).
SYNC_SPOTIFY = {
    "playlists": [
        {"name": "Sync main", "size": 2},
        {"name": "Sync spare", "size": 1},
        {"name": "Sync doomed", "size": 1},
        *({"name": f"Sync brake {i}", "size": 1} for i in range(SYNC_BRAKES)),
    ]
}
SYNC_DEEZER = {
    "playlists": [
        {"name": "Sync main", "size": 3},
        {"name": "Sync spare"},
        {"name": "Sync doomed"},
        *({"name": f"Sync brake {i}", "size": 10} for i in range(SYNC_BRAKES)),
    ]
}
_SYNC_DIRECTIONS = itertools.cycle(["mirror", "add_only", "two_way"])
_SYNC_CHANGES: Iterator[dict[str, Any]] = itertools.cycle(
    [
        {"paused": True},
        {"paused": False, "max_removal_share": 1.0},
        {"direction": "mirror", "every_minutes": None},
    ]
)
_sync_links: dict[str, str] = {}  # sync link id the API handed out → token of its owner
_sync_runs: dict[str, str] = {}  # sync run (job) id the API handed out → token of its owner


@dataclass
class SyncAccount:
    """The sync account (Spotify and Deezer linked, each with the playlists above), used for nothing but
    sync: the main link (a mirror, Spotify → Deezer), its first run, which changed Deezer, and the undo
    of that run, both finished; and the brake pairs not used yet. Real turns read the main link and its
    runs, run it, change it, undo its first run (asked again: the same undo, 202), confirm a run a brake
    pair's link was stopped in, create links between the spare playlists and delete links between the
    doomed ones."""

    owner: str  # its token, used for nothing but sync (so no generated request unlinks anything)
    ends: dict[str, dict[str, str]]  # provider → playlist name → its id there
    main: str
    undone: str  # the main link's first run
    undo: str  # its undo
    brakes: list[int]  # brake pairs not linked yet
    braked: list[str]  # runs the brake stopped, in the order made (the last: the newest)
    kept: set[str]  # links no generated request deletes (main, brakes)

    def end(self, provider: str, name: str) -> dict[str, str]:
        return {"provider": provider, "playlist_id": self.ends[provider][name]}


def _emulator_playlists(consented: Consented) -> dict[str, str]:
    """The playlists of the emulator account that consented: name → id (Deezer's, a number, as text)."""
    url = f"{consented.emulator}/_admin/users/{consented.provider}/{consented.account}"
    return {str(p["name"]): str(p["id"]) for p in _call("GET", url).json()["playlists"]}


def _sync_job(token: str, job_id: str, state: str) -> dict[str, Any]:
    """The run's (or undo's) job once the gateway serves it in ``state``: ``paused`` only by the removal
    brake (a pause for a provider's limit resumes by itself: waited out); a FixtureError when it ends
    otherwise."""
    deadline = time.monotonic() + JOB_DEADLINE_S
    while True:
        answer = _library("GET", f"/api/v1/jobs/{job_id}", token, (200, 404))
        job: dict[str, Any] = answer.json()
        if answer.status_code == 200:
            code = (job.get("error") or {}).get("code")
            if job["state"] == state and (state != "paused" or code == "removal-brake"):
                return job
            if job["state"] in TERMINAL:
                raise FixtureError(
                    f"sync job {job_id} ended {job['state']}, not {state}: {answer.text[:300]}"
                )
        if time.monotonic() > deadline:
            raise FixtureError(f"sync job {job_id} not {state} after {JOB_DEADLINE_S} s: {answer.text[:300]}")
        time.sleep(0.3)


def _sync_link_on(token: str, body: dict[str, Any]) -> str:
    """A link of the token's user between ``body``'s ends: made (once provider-sync knows both providers
    linked), or the one there already (409)."""
    response = _library("POST", SYNC, token, (201, 409, 422), json=body)
    if response.status_code == 422:
        link_id = str(_once_linked(token, SYNC, body, success=201)["id"])
    elif response.status_code == 201:
        link_id = str(response.json()["id"])
    else:
        links = _library("GET", SYNC, token, 200).json()["links"]
        found = [str(k["id"]) for k in links if (k["a"], k["b"]) == (body["a"], body["b"])]
        if not found:
            raise FixtureError(f"POST {SYNC}: 409, and no such link listed: {response.text[:300]}")
        link_id = found[0]
    _sync_links[link_id] = token
    return link_id


def _sync_run(token: str, link_id: str, state: str) -> dict[str, Any]:
    """A run of the link (or the one under way) once its job is in ``state``."""
    job_id = str(_library("POST", f"{SYNC}/{link_id}/run", token, 202).json()["job_id"])
    _sync_runs[job_id] = token
    return _sync_job(token, job_id, state)


def _sync_account() -> SyncAccount:
    """Made once, on the first real turn of a sync operation (some 10 to 20 s: two links, two runs)."""
    if "sync" not in _state:
        owner = Account.register("st-sync").login().token
        ends = {
            c.provider: _emulator_playlists(c)
            for c in (_link(owner, "spotify", SYNC_SPOTIFY), _link(owner, "deezer", SYNC_DEEZER))
        }
        account = SyncAccount(owner, ends, "", "", "", list(range(SYNC_BRAKES)), [], set())
        body = {
            "a": account.end("spotify", "Sync main"),
            "b": account.end("deezer", "Sync main"),
            "direction": "mirror",
            "max_removal_share": 1.0,
        }
        account.main = _sync_link_on(owner, body)
        first = _sync_run(owner, account.main, "succeeded")
        if not (first.get("result") or {}).get("changed"):
            raise FixtureError(f"the main sync link's first run changed nothing: {first}")
        account.undone = str(first["job_id"])
        account.undo = str(
            _library("POST", f"{SYNC}/runs/{account.undone}/undo", owner, 202).json()["job_id"]
        )
        _sync_runs[account.undo] = owner
        _sync_job(owner, account.undo, "succeeded")
        account.kept.add(account.main)
        _state["sync"] = account
    found: SyncAccount = _state["sync"]
    return found


def _braked_run(account: SyncAccount) -> str:
    """A run the removal brake stopped, not confirmed yet: the first run of a new brake pair's link (a
    mirror, the default brake); the newest one again once the pairs are used up."""
    if not account.brakes:
        if not account.braked:
            raise FixtureError("no brake pair was left for a sync run to confirm")
        return account.braked[-1]
    i = account.brakes.pop(0)
    body = {"a": account.end("spotify", f"Sync brake {i}"), "b": account.end("deezer", f"Sync brake {i}")}
    link_id = _sync_link_on(account.owner, body)
    account.kept.add(link_id)
    account.braked.append(str(_sync_run(account.owner, link_id, "paused")["job_id"]))
    return account.braked[-1]


def _sync_owner(case: Any, token: str | None) -> str | None:
    """A positive case naming a sync link or run the API handed out goes out with its owner's token,
    anything else with ``token`` (someone else's: 404). A link the hooks keep is deleted by its real
    turns only."""
    meta = case.meta
    if meta is not None and meta.generation.mode.value == "negative":
        return token
    link_id = str(case.path_parameters.get("link_id", ""))
    if case.method.upper() == "DELETE" and "sync" in _state and link_id in _sync_account().kept:
        return token
    if link_id in _sync_links:
        return _sync_links[link_id]
    return _sync_runs.get(str(case.path_parameters.get("run_id", "")), token)


def _spare_ends(account: SyncAccount, name: str = "Sync spare") -> tuple[dict[str, str], dict[str, str]]:
    return account.end("spotify", name), account.end("deezer", name)


def prepare_create_sync_link(case: Any, real: bool, token: str | None) -> str | None:
    """A real turn links the sync account's spare playlists (Spotify → Deezer), the link a real turn
    made before deleted first; each direction in turn, never scheduled. The others: as generated, by a
    bench user (no provider linked there: 422)."""
    if not real:
        return token
    account = _sync_account()
    a, b = _spare_ends(account)
    for link in _library("GET", SYNC, account.owner, 200).json()["links"]:
        if (link["a"], link["b"]) == (a, b):
            _library("DELETE", f"{SYNC}/{link['id']}", account.owner, (204, 404))
    case.body = {
        "a": a,
        "b": b,
        "direction": next(_SYNC_DIRECTIONS),
        "every_minutes": None,
        "max_removal_share": 0.5,
    }
    return account.owner


def prepare_list_sync_links(case: Any, real: bool, token: str | None) -> str | None:
    return _sync_account().owner if real else token


def prepare_sync_link(case: Any, real: bool, token: str | None) -> str | None:
    """The main link's view, runs (the query as generated), or a run of it, on a real turn."""
    if not real:
        return _sync_owner(case, token)
    account = _sync_account()
    case.path_parameters = {**case.path_parameters, "link_id": account.main}
    return account.owner


def prepare_change_sync_link(case: Any, real: bool, token: str | None) -> str | None:
    """A real turn pauses the main link, unpauses it, or sets what it has (never a schedule, never a
    brake: its runs stay by hand and unbraked)."""
    if not real:
        return _sync_owner(case, token)
    account = _sync_account()
    case.path_parameters = {**case.path_parameters, "link_id": account.main}
    case.body = dict(next(_SYNC_CHANGES))
    return account.owner


def prepare_delete_sync_link(case: Any, real: bool, token: str | None) -> str | None:
    """A real turn deletes a link between the doomed playlists (made for it, or left by the last real turn
    that was refused); a pair of their own, since a link either way round between the spare playlists is
    the one the create turns make."""
    if not real:
        return _sync_owner(case, token)
    account = _sync_account()
    a, b = _spare_ends(account, "Sync doomed")
    link_id = _sync_link_on(account.owner, {"a": a, "b": b, "direction": "add_only"})
    case.path_parameters = {**case.path_parameters, "link_id": link_id}
    return account.owner


def prepare_sync_run(case: Any, real: bool, token: str | None) -> str | None:
    """A real turn reads the main link's first run (succeeded, undone), its undo, or a run the brake
    stopped (when one was made), in turn."""
    if not real:
        return _sync_owner(case, token)
    account = _sync_account()
    runs = [account.undone, account.undo, *account.braked[-1:]]
    turn = _state["sync run view"] = _state.get("sync run view", -1) + 1
    case.path_parameters = {**case.path_parameters, "run_id": runs[turn % len(runs)]}
    return account.owner


def prepare_confirm_sync_run(case: Any, real: bool, token: str | None) -> str | None:
    if not real:
        return _sync_owner(case, token)
    account = _sync_account()
    case.path_parameters = {**case.path_parameters, "run_id": _braked_run(account)}
    return account.owner


def prepare_undo_sync_run(case: Any, real: bool, token: str | None) -> str | None:
    """A real turn undoes the main link's first run: the undo made with the account, answered again."""
    if not real:
        return _sync_owner(case, token)
    account = _sync_account()
    case.path_parameters = {**case.path_parameters, "run_id": account.undone}
    return account.owner


def learn_sync_link(case: Any, response: Any) -> None:
    body = _json(response)
    if response.status_code == 201 and isinstance(body, dict):
        _sync_links[str(body["id"])] = _sent_token(case)


def learn_sync_run(case: Any, response: Any) -> None:
    body = _json(response)
    if response.status_code == 202 and isinstance(body, dict):
        _sync_runs[str(body["job_id"])] = _sent_token(case)


# ---- files: exports, imports, backups -----------------------------------------------------------------------

EXPORTS, EXPORT = "/api/v1/exports", "/api/v1/exports/{job_id}"
BACKUPS, BACKUP = "/api/v1/backups", "/api/v1/backups/{job_id}"
_EXPORT_FORMATS = itertools.cycle(["m3u8", "xspf", "jspf", "csv", "json"])
_files_jobs: dict[str, str] = {}  # export or backup (job) id the API handed out → token of its owner


@dataclass
class Files:
    """The files account: a playlist, an export of it and a backup of its library, both finished."""

    owner: str
    playlist_id: str
    export: str
    backup: str


def _files_account() -> Files:
    """Made once, on the first real turn of a files operation (a second or two: two small jobs)."""
    if "files" not in _state:
        owner = Account.register("st-files").login().token
        playlist = _real_playlist(owner)
        body = {"playlists": [playlist.id], "format": "xspf"}
        export = str(_library("POST", EXPORTS, owner, 202, json=body).json()["job_id"])
        backup = str(_library("POST", BACKUPS, owner, 202).json()["job_id"])
        for job_id in (export, backup):
            _finished(owner, job_id)
            _files_jobs[job_id] = owner
        _state["files"] = Files(owner, playlist.id, export, backup)
    found: Files = _state["files"]
    return found


def _files_owner(case: Any, token: str | None) -> str | None:
    """A positive case naming an export or backup the API handed out goes out with its owner's token."""
    meta = case.meta
    if meta is not None and meta.generation.mode.value == "negative":
        return token
    return _files_jobs.get(str(case.path_parameters.get("job_id", "")), token)


def prepare_start_export(case: Any, real: bool, token: str | None) -> str | None:
    """A real turn: an export of the files account's playlist, in each format in turn."""
    if not real:
        return token
    account = _files_account()
    case.body = {"playlists": [account.playlist_id], "format": next(_EXPORT_FORMATS)}
    return account.owner


def _on_stored_file(job: Callable[[Files], str]) -> Prepare:
    def prepare(case: Any, real: bool, token: str | None) -> str | None:
        """A real turn: the files account's finished export (or backup)."""
        if not real:
            return _files_owner(case, token)
        account = _files_account()
        case.path_parameters = {**case.path_parameters, "job_id": job(account)}
        return account.owner

    return prepare


def prepare_upload(case: Any, real: bool, token: str | None) -> str | None:
    """A real turn names an upload of the token's user, an M3U put at its presigned link (what is done
    with it — an import, a restore that finds it is no backup — is the job's)."""
    if not real or token is None:
        return token
    slot = _library("POST", "/api/v1/imports/uploads", token, 201).json()
    m3u = "#EXTM3U\n#PLAYLIST:Schemathesis\n#EXTINF:180,Band - Song\n/music/song.mp3\n"
    _call("PUT", slot["upload_url"], data=m3u.encode(), expect=200)
    case.media_type = "application/json"
    case.body = {"upload_id": slot["upload_id"], "file_name": "schemathesis.m3u8"}
    return token


def learn_files_job(case: Any, response: Any) -> None:
    body = _json(response)
    if response.status_code == 202 and isinstance(body, dict):
        _files_jobs[str(body["job_id"])] = _sent_token(case)


_PREPARE: dict[tuple[str, str], Prepare] = {
    ("POST", "/api/v1/library/imports"): prepare_import,
    ("POST", "/api/v1/auth/register"): prepare_register,
    ("POST", "/api/v1/auth/login"): prepare_login,
    ("POST", "/api/v1/auth/refresh"): prepare_refresh,
    ("POST", "/api/v1/auth/logout"): prepare_logout,
    ("DELETE", "/api/v1/me"): prepare_delete_me,
    ("POST", "/api/v1/me/password"): prepare_change_password,
    ("DELETE", "/api/v1/sessions"): prepare_revoke_others,
    ("DELETE", "/api/v1/sessions/{session_id}"): prepare_revoke_session,
    ("DELETE", "/api/v1/providers/{provider}"): prepare_unlink,
    ("POST", "/api/v1/auth/{provider}/authorize"): prepare_authorize,
    ("GET", "/api/v1/auth/{provider}/start"): prepare_start,
    ("GET", "/api/v1/auth/{provider}/callback"): prepare_callback,
    ("GET", "/api/v1/auth/attempts/{attempt_id}"): prepare_attempt_status,
    ("GET", "/api/v1/jobs/{job_id}"): prepare_job,
    ("GET", "/api/v1/jobs/{job_id}/events"): prepare_job,
    ("GET", PLAYLISTS): prepare_list,
    ("GET", "/api/v1/library/insights/availability"): prepare_insight,
    ("GET", "/api/v1/library/insights/statistics"): prepare_insight,
    ("POST", PLAYLISTS): prepare_create,
    ("GET", PLAYLIST): prepare_read_playlist,
    ("PATCH", PLAYLIST): _on_a_real_playlist(_details_body),
    ("DELETE", PLAYLIST): _on_a_real_playlist(_no_body),
    ("POST", f"{PLAYLIST}/entries"): _on_a_real_playlist(_add_body),
    ("POST", f"{PLAYLIST}/entries/remove"): _on_a_real_playlist(_remove_body),
    ("POST", f"{PLAYLIST}/entries/move"): _on_a_real_playlist(_move_body),
    ("POST", f"{PLAYLIST}/edits"): _on_a_real_playlist(_batch_body),
    ("POST", f"{PLAYLIST}/reorder"): _on_a_real_playlist(_reorder_body),
    ("POST", f"{PLAYLIST}/sort"): _on_a_real_playlist(_sort_body),
    ("POST", f"{PLAYLIST}/merge"): _on_a_real_playlist(_merge_body),
    ("POST", f"{PLAYLIST}/dedupe"): _on_a_real_playlist(_dedupe_body),
    ("GET", f"{PLAYLIST}/versions"): prepare_history,
    ("GET", f"{PLAYLIST}/diff"): prepare_history,
    ("POST", f"{PLAYLIST}/versions/{{version}}/restore"): prepare_restore,
    ("POST", TRANSFERS): prepare_start_transfer,
    ("GET", TRANSFERS): prepare_list_transfers,
    ("GET", TRANSFER): prepare_transfer,
    ("GET", f"{TRANSFER}/tracks"): prepare_transfer,
    ("GET", f"{TRANSFER}/report"): prepare_transfer,
    ("GET", f"{TRANSFER}/report.csv"): prepare_transfer,
    ("POST", f"{TRANSFER}/apply"): prepare_apply,
    ("POST", EXPORTS): prepare_start_export,
    ("GET", EXPORT): _on_stored_file(lambda files: files.export),
    ("GET", f"{EXPORT}/download"): _on_stored_file(lambda files: files.export),
    ("GET", BACKUP): _on_stored_file(lambda files: files.backup),
    ("GET", f"{BACKUP}/download"): _on_stored_file(lambda files: files.backup),
    ("POST", "/api/v1/imports/files"): prepare_upload,
    ("POST", f"{BACKUPS}/restore"): prepare_upload,
    ("POST", SYNC): prepare_create_sync_link,
    ("GET", SYNC): prepare_list_sync_links,
    ("GET", SYNC_LINK): prepare_sync_link,
    ("PATCH", SYNC_LINK): prepare_change_sync_link,
    ("DELETE", SYNC_LINK): prepare_delete_sync_link,
    ("POST", f"{SYNC_LINK}/run"): prepare_sync_link,
    ("GET", f"{SYNC_LINK}/runs"): prepare_sync_link,
    ("GET", SYNC_RUN): prepare_sync_run,
    ("POST", f"{SYNC_RUN}/confirm"): prepare_confirm_sync_run,
    ("POST", f"{SYNC_RUN}/undo"): prepare_undo_sync_run,
}
# Real data on every n-th positive case rather than every other one: slow to prepare (two password hashes).
# Transfers and applies: each a job (a dry run, or writing a playlist to the emulated Deezer).
# Sync: a new link (a list, a delete and a create), a run of the main link, a link and a run the brake stops.
_EVERY = {
    ("DELETE", "/api/v1/me"): 4,
    ("POST", TRANSFERS): 3,
    ("POST", f"{TRANSFER}/apply"): 4,
    ("POST", SYNC): 3,
    ("DELETE", SYNC_LINK): 3,
    ("POST", f"{SYNC_LINK}/run"): 3,
    ("POST", f"{SYNC_RUN}/confirm"): 4,
}
_LEARN: dict[tuple[str, str], Callable[[Any, Any], None]] = {
    ("POST", "/api/v1/auth/register"): learn_registered,
    ("POST", "/api/v1/auth/login"): learn_session,
    ("POST", "/api/v1/auth/refresh"): learn_session,
    ("POST", "/api/v1/me/password"): learn_password,
    ("GET", "/api/v1/providers"): learn_links,
    ("DELETE", "/api/v1/providers/{provider}"): learn_unlinked,
    ("POST", "/api/v1/auth/{provider}/authorize"): learn_attempt,
    ("GET", PLAYLISTS): learn_listed,
    ("POST", PLAYLISTS): learn_created_playlist,
    ("DELETE", PLAYLIST): learn_deleted_playlist,
    ("POST", TRANSFERS): learn_transfer,
    ("POST", f"{TRANSFER}/apply"): learn_transfer,
    ("POST", EXPORTS): learn_files_job,
    ("POST", BACKUPS): learn_files_job,
    ("POST", SYNC): learn_sync_link,
    ("POST", f"{SYNC_LINK}/run"): learn_sync_run,
    ("POST", f"{SYNC_RUN}/confirm"): learn_sync_run,
    ("POST", f"{SYNC_RUN}/undo"): learn_sync_run,
}
