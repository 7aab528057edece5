"""Wiring of the auth service: what the chassis runs for it."""

from importlib import resources

from pm_auth.events.handlers import event_handlers
from pm_auth.http.routes import add_routes
from pm_auth.settings import AuthSettings
from pm_platform.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="auth",
        distribution="pm-auth",
        schema="auth",
        settings_cls=AuthSettings,
        migrations=resources.files("pm_auth") / "migrations",
        routes=add_routes,
        event_handlers=event_handlers,
    )
