"""The registry tells the truth: a service listed as a topic's consumer handles that topic's events,
and a service handles nothing the registry does not list it for."""

import base64
import importlib
from pathlib import Path

import pytest
import yaml

from pm_contracts.registry import TOPICS
from pm_platform.identity import raw_public_key
from pm_platform.service import Runtime

REPO = Path(__file__).resolve().parents[4]
SERVICES = yaml.safe_load((REPO / "proto" / "services.yaml").read_text())["services"]


def _handled_types(service: dict) -> set[str]:
    definition = importlib.import_module(f"{service['package']}.app").definition()
    settings = definition.settings_cls.model_construct(
        kafka_bootstrap_servers="127.0.0.1:1",
        kafka_replication_factor=1,
        kafka_topic_prefix="",
        kafka_consumer_group=None,
        identity_public_keys=base64.b64encode(raw_public_key(b"k" * 32)).decode(),
    )
    runtime = Runtime(definition, settings)
    return set(definition.event_handlers(runtime)) if definition.event_handlers else set()


@pytest.mark.parametrize("service", SERVICES, ids=[s["name"] for s in SERVICES])
def test_handlers_match_the_registry(service):
    handled = _handled_types(service)
    for topic in TOPICS:
        types = {e.type for e in topic.events}
        if service["name"] in topic.consumers:
            assert types & handled, (
                f"{service['name']} is listed as consumer of {topic.name} but handles none of it"
            )
        else:
            assert not (types & handled), f"{service['name']} handles {topic.name} events but is not listed"
