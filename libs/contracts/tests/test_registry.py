"""proto/ is the registry: it must match the code, and published schemas only change compatibly."""

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from pm_contracts.compat import breaking_changes
from pm_contracts.envelope import Envelope
from pm_contracts.generate import drift, render
from pm_contracts.registry import EVERY_SERVICE, TOPICS, event_spec, event_type_of
from pm_contracts.services import load_services, parse_services, service_names

REPO = Path(__file__).resolve().parents[3]
PROTO = REPO / "proto"


def test_committed_contracts_match_the_code():
    assert drift(PROTO) == [], "proto/ drifted from libs/contracts: run `make contracts` and commit"


def test_every_example_is_a_valid_envelope_with_valid_data():
    for topic in TOPICS:
        for event in topic.events:
            for index in range(1, len(event.examples) + 1):
                raw = (PROTO / "examples" / event.type / f"{index}.json").read_text()
                envelope = Envelope.model_validate_json(raw)
                assert envelope.type == event.type and envelope.schemaversion == event.version
                event.model.model_validate(envelope.data)


def test_topic_files_name_owner_producers_consumers_and_schemas():
    for topic in TOPICS:
        data = yaml.safe_load((PROTO / "topics" / f"{topic.name}.yaml").read_text())
        assert data["owner"] and data["producers"]
        # A topic nobody consumes says why (published as an audit trail for operators' own consumers).
        assert data["consumers"] or data["unconsumed_because"], topic.name
        assert not (data["consumers"] and data.get("unconsumed_because")), topic.name
        for event in data["events"]:
            assert (PROTO / "topics" / event["schema"]).resolve().is_file()


def test_services_in_registry_are_known_services():
    names = set(service_names())
    for topic in TOPICS:
        assert set(topic.producer_names()) <= names and set(topic.consumer_names()) <= names, topic.name


def test_every_service_spells_out_the_one_list():
    """EVERY_SERVICE is proto/services.yaml's deployed services, in its order, nothing kept beside it."""
    listed = yaml.safe_load((PROTO / "services.yaml").read_text())["services"]
    jobs = next(t for t in TOPICS if t.name == "pm.jobs")
    assert jobs.producers == (EVERY_SERVICE,)
    assert list(jobs.producer_names()) == [s["name"] for s in listed]
    assert all(jobs.produced_by(s["name"]) for s in listed)
    assert not jobs.produced_by("provider-emulator")


def test_packaged_services_file_is_the_proto_file(tmp_path):
    """The wheel carries proto/services.yaml itself (force-include), so images read the same list."""
    text = (PROTO / "services.yaml").read_text()
    assert load_services() == parse_services(text)
    assert load_services(PROTO / "services.yaml") == parse_services(text)


def test_every_payload_model_names_one_event_type():
    for topic in TOPICS:
        for event in topic.events:
            assert event_type_of(event.model) == event.type
    with pytest.raises(KeyError):
        event_type_of(Envelope)


def test_envelope_rejects_bad_events():
    good = json.loads((PROTO / "examples" / "user.deleted" / "1.json").read_text())
    for broken in [
        {**good, "specversion": "0.3"},
        {**good, "type": "Not A Type"},
        {k: v for k, v in good.items() if k != "subject"},
        {**good, "schemaversion": 0},
    ]:
        with pytest.raises(ValidationError):
            Envelope.model_validate(broken)
    # A CloudEvents extension attribute this version does not know is ignored, not an error (a newer
    # producer during a rolling upgrade).
    assert Envelope.model_validate({**good, "traceparent": "00-abc-def-01"}) == Envelope.model_validate(good)


def test_unknown_event_type_is_an_error():
    with pytest.raises(KeyError):
        event_spec("user.exploded")


# --- compatibility -----------------------------------------------------------------------------------

BASE = {
    "type": "object",
    "properties": {"user_id": {"type": "string"}, "reason": {"type": "string", "enum": ["a", "b"]}},
    "required": ["user_id"],
}


def test_adding_an_optional_property_is_compatible():
    new = json.loads(json.dumps(BASE))
    new["properties"]["note"] = {"type": "string"}
    assert breaking_changes(BASE, new) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s["properties"].pop("reason"), "property removed"),
        (lambda s: s["required"].append("reason"), "became required"),
        (lambda s: s["properties"]["user_id"].update(type="integer"), "type"),
        (lambda s: s["properties"]["reason"].update(enum=["a"]), "enum values removed"),
    ],
)
def test_breaking_changes_are_found(change, expected):
    new = json.loads(json.dumps(BASE))
    change(new)
    problems = breaking_changes(BASE, new)
    assert problems and expected in problems[0]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False).stdout


def test_published_schemas_never_changed_incompatibly():
    """Every committed version of each schema file, compared with the current one: a breaking change
    to a published version fails the build (publish a new version file instead)."""
    current = render()
    checked = 0
    for path, content in current.items():
        if not path.startswith("schemas/"):
            continue
        new = json.loads(content)
        for rev in _git("log", "--format=%H", "--", f"proto/{path}").split():
            old_text = _git("show", f"{rev}:proto/{path}")
            if not old_text:
                continue
            problems = breaking_changes(json.loads(old_text), new)
            assert not problems, f"{path} changed incompatibly since {rev[:10]}: {problems}"
            checked += 1
    assert checked >= 0
