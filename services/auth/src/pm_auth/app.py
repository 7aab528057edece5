"""Wiring of the auth service: what the chassis runs for it."""

from importlib import resources

from pm_auth.commands import SCHEMA, rotate_master_key_command, rotate_signing_key_command
from pm_auth.events.handlers import handlers
from pm_auth.http.routes import add_routes
from pm_auth.resources import AUTH, auth_resources, session_purge
from pm_auth.settings import AuthSettings
from pm_auth.usecases.accounts import erase_user_rows
from pm_platform.health import HealthCheck
from pm_platform.service import Runtime, ServiceDefinition
from pm_platform.users import UserData


def health_checks(rt: Runtime) -> list[HealthCheck]:
    async def keys() -> dict[str, object]:
        # Which master keys this process holds (after a SIGHUP reload, the new ones). A refused reload
        # shows as ``reload_error`` (a warning: the keys in use still work, so readiness stays up).
        auth = rt[AUTH]
        return {**auth.master.describe(), "providers": sorted(auth.clients)}

    return [HealthCheck("keys", keys)]


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="auth",
        distribution="pm-auth",
        schema=SCHEMA,
        settings_cls=AuthSettings,
        migrations=resources.files("pm_auth") / "migrations",
        routes=add_routes,
        event_handlers=handlers,
        user_data=UserData(erase=erase_user_rows),
        resources=[auth_resources, session_purge],
        health_checks=health_checks,
        client_max_size=64 * 1024,
        commands={
            "rotate-master-key": rotate_master_key_command,
            "rotate-signing-key": rotate_signing_key_command,
        },
    )
