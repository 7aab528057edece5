"""The container test (issue 18): every image built from its Dockerfile, run as the Helm chart deploys it.

The chart is rendered with its development values over the native infrastructure (pm_devstack.pods says
exactly what is adapted to run without a cluster), its migration Jobs run to completion, its Deployments
run as pods with ``podman kube play`` until every readiness probe answers, and a user's journey goes
through the containerised gateway: register and sign in (auth), link Spotify on the containerised
emulator, import the library (provider-sync), read it (playlist), export it and download the file
(export, S3), and one request to every service's own port. The native services are stopped meanwhile
(the pods serve on their ports) and started again afterwards.

Marked ``containers``: `make test` runs it on its own (`make test-containers`), after `make images`.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import AsyncIterator, Iterator
from io import BytesIO

import aiohttp
import pytest
from journeys import Client

from pm_devstack import images, lifecycle, pods
from pm_devstack.stack import Stack

pytestmark = [pytest.mark.containers, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def engine(stack: Stack) -> images.Engine:
    return images.find_engine(stack.config)


@pytest.fixture(scope="module")
def chart_pods(stack: Stack, engine: images.Engine) -> Iterator[pods.PodPlan]:
    # Every layer is cached when `make images` (or make test's background build) ran: seconds per image.
    images.build(stack.config, engine=engine)
    names = [spec.name for spec in stack.service_specs()]
    lifecycle.stop(stack, names)
    try:
        with pods.running(engine, stack) as plan:
            yield plan
    finally:
        lifecycle.up(stack)


@pytest.fixture
async def client(stack: Stack, chart_pods: pods.PodPlan, register_user) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        emulator = f"http://127.0.0.1:{stack.spec('provider-emulator').port}"
        yield Client(session, stack.gateway_url, emulator, await register_user())


def _inspect(engine: images.Engine, container: str) -> dict:
    result = engine.run("inspect", container, timeout=60)
    assert result.returncode == 0, result.stderr
    [found] = json.loads(result.stdout)
    return found


def test_the_chart_runs_every_service_from_its_image_restricted(
    stack: Stack, engine: images.Engine, chart_pods: pods.PodPlan
) -> None:
    expected = {f"pm-playlist-manager-{spec.name}" for spec in stack.service_specs()}
    assert set(chart_pods.names) == expected
    # The migration Jobs ran first, one per service with a schema, and all ended well (else no pods).
    assert len(chart_pods.migrations) == len([s for s in stack.service_specs(include_dev=False) if s.schema])
    for spec in stack.service_specs():
        # Nothing native serves these ports now: the answers below are the containers'.
        assert stack.service(spec.name).pid() is None, spec.name
    for deployment in chart_pods.deployments:
        container = _inspect(engine, pods.container_name(deployment))
        name = deployment["metadata"]["name"].removeprefix("pm-playlist-manager-")
        assert container["State"]["Running"], name
        assert container["ImageName"].endswith(f"playlist-manager/{name}:{images.DEFAULT_TAG}"), container[
            "ImageName"
        ]
        host = container["HostConfig"]
        # The chart's restricted security context, as the runtime applied it.
        pod_context = deployment["spec"]["template"]["spec"]["securityContext"]
        assert pod_context["runAsNonRoot"] is True, name
        assert container["Config"]["User"] == f"{pod_context['runAsUser']}:{pod_context['runAsGroup']}", name
        assert pod_context["runAsUser"] != 0, name
        assert host["ReadonlyRootfs"] is True, name
        assert "no-new-privileges" in " ".join(host.get("SecurityOpt") or []), name
        assert not host.get("CapAdd"), name
        assert {"CAP_CHOWN", "CAP_NET_RAW", "CAP_SETUID"} <= set(host["CapDrop"]), name
        # The chart's memory limit, as the runtime applied it.
        limit = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]
        assert limit.endswith("Mi") and host["Memory"] == int(limit.removesuffix("Mi")) * 2**20, name


async def test_every_probe_answers_as_a_kubelet_would_ask(chart_pods: pods.PodPlan) -> None:
    async with aiohttp.ClientSession() as session:
        for deployment in chart_pods.deployments:
            for probe in ("livenessProbe", "readinessProbe"):
                async with session.get(pods.probe_url(deployment, probe)) as r:
                    assert r.status == 200, (deployment["metadata"]["name"], probe, await r.text())


async def test_a_journey_through_the_containerised_gateway(
    stack: Stack, client: Client, chart_pods: pods.PodPlan
) -> None:
    # auth (register and sign in: the fixture), then linking on the containerised emulator.
    library = {"playlists": [{"name": "Road trip", "size": 12}], "liked_count": 3}
    await client.link("spotify", library)
    _, me = await client.call("GET", "/api/v1/me")
    assert me["email"] == client.user["email"]
    _, providers = await client.call("GET", "/api/v1/providers")
    assert [link["provider"] for link in providers["links"]] == ["spotify"], providers

    # provider-sync imports from the emulator; the playlist service applies it from Kafka.
    done = await client.import_all(["spotify"])
    assert done["result"]["playlists_seen"] == 2, done  # the playlist and liked songs
    found = await client.library_when(lambda found: len(found) == 2)
    [road_trip] = [p for p in found.values() if p["name"] == "Road trip"]
    assert road_trip["entry_count"] == 12

    # export reads the library from the playlist service and writes to S3; the link downloads it.
    _, job = await client.call(
        "POST", "/api/v1/exports", json={"playlists": "all", "format": "json"}, expect=202
    )
    export = (await client.job(job["job_id"], {"succeeded"}))["result"]
    async with client.session.get(export["download_url"]) as r:
        assert r.status == 200
        data = await r.read()
    assert len(data) == export["size_bytes"]
    with zipfile.ZipFile(BytesIO(data)) as archive:
        assert len(archive.namelist()) == 2

    # Every service answers on its own port (enrichment has no public route yet): its metrics (the
    # emulator, a development helper, has none), with the counters the journey moved.
    for deployment in chart_pods.deployments:
        if deployment["metadata"]["name"].endswith("provider-emulator"):
            continue
        metrics = pods.probe_url(deployment).replace("/health/ready", "/metrics")
        async with client.session.get(metrics) as r:
            assert r.status == 200, deployment["metadata"]["name"]
            assert "process_resident_memory_bytes" in await r.text()
