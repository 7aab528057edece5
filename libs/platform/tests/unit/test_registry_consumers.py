"""The registry tells the truth: a service listed as a topic's consumer handles that topic's events,
and a service handles nothing the registry does not list it for. Start-up refuses a mismatch."""

import importlib

import pytest
from pydantic import BaseModel

from pm_contracts.provider_links import ProviderLinked
from pm_contracts.registry import TOPICS
from pm_contracts.services import deployed_services
from pm_contracts.sessions import SessionRevoked
from pm_contracts.users import UserDeleted
from pm_platform.consumers import (
    EventContext,
    EventHandlers,
    RegistryMismatch,
    check_against_registry,
)
from pm_platform.users import UserData, user_deletion_handlers

SERVICES = deployed_services()


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
def test_handlers_match_the_registry(service):
    definition = importlib.import_module(f"{service.package}.app").definition()
    handled = definition.all_event_handlers().event_types  # raises RegistryMismatch itself
    for topic in TOPICS:
        types = {e.type for e in topic.events}
        if topic.consumed_by(service.name):
            assert types & handled, f"{service.name} is a consumer of {topic.name} but handles none of it"
        else:
            assert not (types & handled), f"{service.name} handles {topic.name} events but is not listed"


def test_every_service_erases_deleted_users_through_the_chassis():
    for service in SERVICES:
        definition = importlib.import_module(f"{service.package}.app").definition()
        assert "user.deleted" not in definition.event_handlers.event_types, service.name
        assert "user.deleted" in definition.all_event_handlers().event_types, service.name


def test_a_handler_the_registry_does_not_list_is_refused():
    with pytest.raises(RegistryMismatch, match=r"not listed as a consumer of pm\.sessions"):
        check_against_registry("export", {"user.deleted", "session.revoked"})


def test_a_listed_consumer_that_handles_nothing_is_refused():
    with pytest.raises(RegistryMismatch, match=r"consumer of pm\.provider-links but handles none"):
        check_against_registry("provider-sync", {"user.deleted"})


def test_an_unknown_event_type_is_refused():
    with pytest.raises(RegistryMismatch, match="no topic carries"):
        check_against_registry("playlist", {"user.deleted", "nobody.knows"})


def test_a_handler_is_filed_under_its_payload_model():
    handlers = EventHandlers()

    @handlers.on(SessionRevoked)
    async def on_revoked(ctx: EventContext, event: SessionRevoked) -> None: ...

    assert handlers.event_types == {"session.revoked"}


def test_a_handler_whose_payload_is_not_the_model_is_refused():
    handlers = EventHandlers()

    async def wrong(ctx: EventContext, event: ProviderLinked) -> None: ...

    async def untyped(ctx, event) -> None: ...

    with pytest.raises(TypeError, match=r"must take \(ctx: EventContext, event: SessionRevoked\)"):
        handlers.add(SessionRevoked, wrong)
    with pytest.raises(TypeError, match="must take"):
        handlers.add(SessionRevoked, untyped)


def test_a_model_that_is_no_event_payload_is_refused():
    class NotAnEvent(BaseModel):
        x: int

    async def handle(ctx: EventContext, event: NotAnEvent) -> None: ...

    with pytest.raises(TypeError, match="payload of no event"):
        EventHandlers().add(NotAnEvent, handle)


def test_a_service_cannot_handle_user_deleted_itself():
    own = EventHandlers()

    async def mine(ctx: EventContext, event: UserDeleted) -> None: ...

    own.add(UserDeleted, mine)
    with pytest.raises(TypeError, match=r"user\.deleted has two handlers"):
        user_deletion_handlers(UserData()).merged(own)


def test_user_data_tables_must_be_plain_names():
    with pytest.raises(ValueError, match="not a plain table name"):
        UserData(tables=("links; DROP TABLE users",))
