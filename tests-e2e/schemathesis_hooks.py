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
from collections.abc import Callable
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


def _authorize(token: str, mode: str = "poll") -> dict[str, Any]:
    """A new link attempt (Spotify) of the token's user."""
    body = {"mode": mode, "return_to": RETURN_TO} if mode == "redirect" else {"mode": mode}
    answer: dict[str, Any] = _call("POST", "/api/v1/auth/spotify/authorize", token=token, json=body).json()
    _attempts[answer["attempt_id"]] = ("spotify", token)
    return answer


@dataclass(frozen=True)
class Consented:
    """Where the emulator sends the browser back after the consent: the callback's query and the
    browser's binding cookie."""

    provider: str
    query: dict[str, str]
    cookies: dict[str, str]


def _new_emulator_account(consent_url: str) -> str:
    """A new, empty Spotify account at the emulator (as tests-e2e/conftest.py's): one provider account
    links to one user only, and the emulator's own ids start again when it restarts, auth's links do not."""
    parts = urlsplit(consent_url)
    account = _unique("e2e")
    _call(
        "POST",
        f"{parts.scheme}://{parts.netloc}/_admin/users",
        json={"provider": "spotify", "user_id": account},
        expect=(200, 201),
    )
    return account


def _consent(token: str) -> Consented:
    """conftest's link_spotify up to the callback: authorize (redirect flow) → the start URL (binds this
    browser: the cookie) → the emulator's consent page → approve → the callback URL, not yet opened."""
    attempt = _authorize(token, mode="redirect")
    started = _call("GET", attempt["authorization_url"], expect=302)
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(started.headers["Set-Cookie"])
    consent_url = started.headers["Location"]
    _call("GET", consent_url)
    form = {"emulator_user": _new_emulator_account(consent_url), "emulator_decision": "approve"}
    callback = urlsplit(_call("POST", consent_url, data=form, expect=302).headers["Location"])
    if not callback.path.endswith("/api/v1/auth/spotify/callback"):
        raise FixtureError(f"the emulator sent the browser to {callback.geturl()}")
    query = {key: values[0] for key, values in parse_qs(callback.query).items()}
    return Consented("spotify", query, {name: morsel.value for name, morsel in cookie.items()})


def _link_spotify(token: str) -> None:
    consented = _consent(token)
    back = _call(
        "GET",
        f"/api/v1/auth/{consented.provider}/callback",
        params=consented.query,
        cookies=consented.cookies,
        expect=302,
    )
    if parse_qs(urlsplit(back.headers["Location"]).query).get("status") != ["succeeded"]:
        raise FixtureError(f"linking Spotify did not succeed: {back.headers['Location']}")
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
    case.headers = headers


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    """Record the answer; learn the ids the API handed out and whose they are."""
    label = (case.method.upper(), case.operation.path)
    with RECORD.open("a") as record:
        record.write(
            json.dumps({"method": label[0], "path": label[1], "status": response.status_code}) + "\n"
        )
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


_PREPARE: dict[tuple[str, str], Prepare] = {
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
}
# Real data on every n-th positive case rather than every other one: slow to prepare (two password hashes).
_EVERY = {("DELETE", "/api/v1/me"): 4}
_LEARN: dict[tuple[str, str], Callable[[Any, Any], None]] = {
    ("POST", "/api/v1/auth/register"): learn_registered,
    ("POST", "/api/v1/auth/login"): learn_session,
    ("POST", "/api/v1/auth/refresh"): learn_session,
    ("POST", "/api/v1/me/password"): learn_password,
    ("GET", "/api/v1/providers"): learn_links,
    ("DELETE", "/api/v1/providers/{provider}"): learn_unlinked,
    ("POST", "/api/v1/auth/{provider}/authorize"): learn_attempt,
}
