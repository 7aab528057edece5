"""tilt/Tiltfile, evaluated without Tilt: a Starlark interpreter (starlark-pyo3) whose Tilt builtins record
their calls. ``read_yaml`` really reads, ``helm`` really runs ``helm template`` (so what the Tiltfile deploys
is the chart's development render, as Tilt would get it), ``decode_yaml_stream``/``encode_yaml_stream``
really (de)serialise; the rest record. Asserted on what it declared:

- every service of proto/services.yaml and the emulator, and only those, is built from its Dockerfile with
  the repository root as context, live-updating its own source (and the libraries) into the venv where the
  image installed them, restarting the process with the image's entrypoint;
- the deployed objects are the chart's (values-dev.yaml) and run those images; the helm test pod is left out;
- one resource per service, labelled 'services', port forwards for the gateway (3101) and the emulator
  (3199) only; the infrastructure is a local resource labelled 'infrastructure' that the services wait for.

Marked integration: helm is built once into the state dir (pm_devstack.tools).
"""

from __future__ import annotations

import posixpath
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import starlark as sl
import yaml

from pm_contracts.services import load_services
from pm_devstack.config import find_repo_root
from pm_devstack.tools import KUBE_VERSION, install_helm

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

TILTFILE = Path("tilt") / "Tiltfile"
SITE_PACKAGES = "/app/.venv/lib/python3.11/site-packages"
Doc = dict[str, Any]


@dataclass
class Recorder:
    """The Tilt builtins the Tiltfile calls; paths are resolved against the Tiltfile's directory."""

    root: Path
    helm_binary: Path
    calls: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def path(self, relative: str) -> Path:
        """A Tiltfile path (relative to tilt/) as a path relative to the repository root."""
        return Path(posixpath.normpath(posixpath.join(str(TILTFILE.parent), relative)))

    def record(self, name: str) -> Any:
        def builtin(*args: Any, **kwargs: Any) -> Any:
            self.calls[name].append((args, kwargs))
            return {"_tilt": name, "args": list(args), "kwargs": kwargs}

        return builtin

    def read_yaml(self, path: str) -> Any:
        self.calls["read_yaml"].append(((path,), {}))
        return yaml.safe_load((self.root / self.path(path)).read_text())

    def helm(self, chart: str, name: str = "", values: list[str] | None = None, **kwargs: Any) -> str:
        self.calls["helm"].append(((chart,), {"name": name, "values": values, **kwargs}))
        args = [str(self.helm_binary), "template", name or "chart", str(self.path(chart))]
        for value in values or []:
            args += ["-f", str(self.path(value))]
        args += ["--kube-version", KUBE_VERSION]
        result = subprocess.run(args, cwd=self.root, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    @staticmethod
    def decode_yaml_stream(text: str) -> list[Any]:
        return list(yaml.safe_load_all(text))

    @staticmethod
    def encode_yaml_stream(objects: list[Any]) -> str:
        return yaml.safe_dump_all(objects, sort_keys=False)


RECORDED = [
    "docker_build",
    "docker_build_with_restart",
    "sync",
    "run",
    "fall_back_on",
    "restart_container",
    "kustomize",
    "k8s_yaml",
    "k8s_resource",
    "local_resource",
    "local",
]


@pytest.fixture(scope="module")
def tilt() -> Recorder:
    root = find_repo_root()
    recorder = Recorder(root=root, helm_binary=install_helm())
    module = sl.Module()
    for name in RECORDED:
        module.add_callable(name, recorder.record(name))
    for name in ("read_yaml", "helm", "decode_yaml_stream", "encode_yaml_stream"):
        module.add_callable(name, getattr(recorder, name))

    def loader(name: str) -> sl.FrozenModule:
        assert name == "ext://restart_process", f"unexpected load({name!r})"
        extension = sl.Module()
        extension.add_callable("docker_build_with_restart", recorder.record("docker_build_with_restart"))
        return extension.freeze()

    dialect = sl.Dialect.extended()
    dialect.enable_top_level_stmt = True
    ast = sl.parse(str(TILTFILE), (root / TILTFILE).read_text(), dialect)
    sl.eval(module, ast, sl.Globals.standard(), sl.FileLoader(loader))
    return recorder


@pytest.fixture(scope="module")
def specs() -> dict[str, Any]:
    return {s.name: s for s in load_services(find_repo_root() / "proto" / "services.yaml")}


@pytest.fixture(scope="module")
def deployed(tilt: Recorder) -> list[Doc]:
    ((args, _),) = tilt.calls["k8s_yaml"]
    return [doc for doc in yaml.safe_load_all(args[0]) if doc]


def _syncs(live_update: list[Any]) -> list[tuple[str, str]]:
    return [tuple(step["args"]) for step in live_update if step["_tilt"] == "sync"]


def test_the_service_list_is_read_not_hard_coded(tilt: Recorder, specs: dict[str, Any]) -> None:
    assert [args[0] for args, _ in tilt.calls["read_yaml"]] == ["../proto/services.yaml"]
    text = (tilt.root / TILTFILE).read_text()
    for name in specs:
        if name not in {"gateway", "provider-emulator"}:  # the two port-forwarded ones are named
            assert f"'{name}'" not in text and f'"{name}"' not in text, name


def test_every_service_is_built_from_its_dockerfile_with_live_update(
    tilt: Recorder, specs: dict[str, Any]
) -> None:
    builds = {
        args[0]: kwargs | {"context": args[1]} for args, kwargs in tilt.calls["docker_build_with_restart"]
    }
    builds |= {args[0]: kwargs | {"context": args[1]} for args, kwargs in tilt.calls["docker_build"]}
    assert sorted(builds) == sorted(f"playlist-manager/{name}" for name in specs)
    libs = sorted((tilt.root / "libs").glob("*/src/pm_*"))
    for name, spec in specs.items():
        build = builds[f"playlist-manager/{name}"]
        assert tilt.path(build["context"]) == Path(".")
        dockerfile = tilt.path(build["dockerfile"])
        assert dockerfile == Path("services") / name / "Dockerfile"
        image_text = (tilt.root / dockerfile).read_text()
        assert f'ENTRYPOINT ["python", "-m", "{spec.package}"]' in image_text
        assert build["entrypoint"] == ["python", "-m", spec.package]  # the restart runs what the image runs
        syncs = {(str(tilt.path(src)), dst) for src, dst in _syncs(build["live_update"])}
        own = (f"services/{name}/src/{spec.package}", f"{SITE_PACKAGES}/{spec.package}")
        assert own in syncs, f"{name} does not sync its own source"
        assert (tilt.root / own[0]).is_dir()
        for src, dst in syncs:
            assert (tilt.root / src).is_dir(), src
            assert dst == f"{SITE_PACKAGES}/{Path(src).name}", (src, dst)
            assert not (src.startswith("services/") and src != own[0]), f"{name} syncs {src}"
        # Every workspace library the images install (all but the stack's and the operator's tools) is synced too.
        wanted = {
            str(lib.relative_to(tilt.root)) for lib in libs if lib.name not in ("pm_devstack", "pm_admin")
        }
        assert wanted <= {src for src, _ in syncs}
        (fallback,) = [s for s in build["live_update"] if s["_tilt"] == "fall_back_on"]
        assert "uv.lock" in {str(tilt.path(p)) for p in fallback["args"][0]}


def test_deployed_from_the_chart_with_development_values(
    tilt: Recorder, deployed: list[Doc], specs: dict[str, Any]
) -> None:
    ((args, kwargs),) = tilt.calls["helm"]
    assert tilt.path(args[0]) == Path("helm/playlist-manager")
    assert [tilt.path(v) for v in kwargs["values"]] == [Path("helm/playlist-manager/values-dev.yaml")]
    deployments = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d
        for d in deployed
        if d["kind"] == "Deployment"
    }
    assert sorted(deployments) == sorted(specs)
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"].split(":")[0] == f"playlist-manager/{name}"
        # Live update writes into the container: made writable for development only.
        assert container["securityContext"]["readOnlyRootFilesystem"] is False
    assert not [d for d in deployed if d["kind"] == "Pod"]  # helm test pods are not deployed


def test_resources_ports_and_labels(tilt: Recorder, deployed: list[Doc], specs: dict[str, Any]) -> None:
    workloads = {d["metadata"]["name"] for d in deployed if d["kind"] in {"Deployment", "Job"}}
    resources = {kwargs["new_name"]: kwargs for _, kwargs in tilt.calls["k8s_resource"]}
    for kwargs in resources.values():
        assert kwargs["workload"] in workloads, kwargs["workload"]
        assert kwargs["resource_deps"] == ["infrastructure"]
    services = {name: kw for name, kw in resources.items() if kw["labels"] == ["services"]}
    assert sorted(services) == sorted(specs)
    forwards = {name: kw["port_forwards"] for name, kw in services.items() if kw["port_forwards"]}
    assert forwards == {"gateway": ["3101:3101"], "provider-emulator": ["3199:3199"]}
    migrations = {name for name, kw in resources.items() if kw["labels"] == ["migrations"]}
    assert migrations == {f"{name}-migrate" for name, spec in specs.items() if not spec.dev}
    ((args, kwargs),) = tilt.calls["local_resource"]
    assert args[0] == "infrastructure"
    assert kwargs["labels"] == ["infrastructure"]
    assert "pm_devstack up" in kwargs["cmd"]
    assert tilt.path(kwargs["dir"]) == Path(".")
