"""Wiring of the enrichment service: what the chassis runs for it."""

from importlib import resources

from pm_enrichment.events.handlers import handlers
from pm_enrichment.http.routes import add_routes
from pm_enrichment.settings import EnrichmentSettings
from pm_enrichment.usecases import enrichment
from pm_platform.service import ServiceDefinition
from pm_platform.users import UserData


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="enrichment",
        distribution="pm-enrichment",
        schema="enrichment",
        settings_cls=EnrichmentSettings,
        migrations=resources.files("pm_enrichment") / "migrations",
        routes=add_routes,
        event_handlers=handlers,
        # The canonical catalog is shared and names no user (docs/catalog.md): nothing of a user to
        # erase beyond the jobs the chassis erases anyway.
        user_data=UserData(),
        # The enrichment of the recordings (docs/enrichment.md): a worker beside the consumers.
        resources=[enrichment.worker],
    )
