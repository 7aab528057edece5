"""Container images: ``make images`` builds every image of proto/services.yaml from its Dockerfile.

The engine is Docker where a Docker engine answers, otherwise Podman (installed from Debian's packages when
missing, with the settings that work on a machine without systemd's cgroup layout: runc, cgroupfs,
fuse-overlayfs, the host's open-file limit). Its configuration lives in ``<state>/containers``; nothing
under /etc is changed.

The base image is the Dockerfiles' ``PYTHON_IMAGE`` build argument: the official Python image when it can
be had, otherwise a stand-in built here from Debian's own packages (debootstrap, then
``deploy/images/debian-python.Containerfile``), for machines that cannot reach Docker Hub. A CA bundle for
a TLS-inspecting proxy reaches the package-index steps as a build secret, never a layer.

The first image is built alone, since it fills the layers every image shares (the base, uv, the
third-party dependencies); the others then build ``--jobs`` at a time.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pm_devstack.apt import install_packages
from pm_devstack.config import SERVICES_FILE, StackConfig
from pm_devstack.deploy import PYTHON_IMAGE, dockerfile_path
from pm_devstack.errors import DevstackError
from pm_devstack.services_file import ServiceSpec, load_services

IMAGE_PREFIX = "playlist-manager"
DEFAULT_TAG = "dev"
STANDIN_IMAGE = "localhost/pm-python:3.11-bookworm"
DEBIAN_IMAGE = "localhost/pm-debian:bookworm"
STANDIN_CONTAINERFILE = Path("deploy/images/debian-python.Containerfile")
DEBIAN_SUITE = "bookworm"
PODMAN_PACKAGES = ("podman", "runc", "fuse-overlayfs", "debootstrap")
# The open-file limit of build steps: Podman's default (1048576) exceeds the hard limit of these machines.
BUILD_NOFILE = "nofile=20000:20000"
COMPONENT = "images"


@dataclass(frozen=True)
class Engine:
    """A container engine's command line: ``argv`` is the program and its global flags, ``env`` its
    environment."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str]

    def run(
        self, *args: str, timeout: float = 600, capture: bool = True, log: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a") as out:
                out.write(f"$ {' '.join((*self.argv, *args))}\n")
                out.flush()
                return subprocess.run(
                    [*self.argv, *args],
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=timeout,
                    check=False,
                )
        return subprocess.run(
            [*self.argv, *args],
            env=self.env,
            capture_output=capture,
            text=True,
            timeout=timeout,
            check=False,
        )

    def has_image(self, image: str) -> bool:
        return self.run("image", "inspect", image, timeout=60).returncode == 0


def containers_dir(config: StackConfig) -> Path:
    return config.state_dir / "containers"


def _docker_engine() -> Engine | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    engine = Engine("docker", (docker,), dict(os.environ))
    try:
        answered = engine.run("info", timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        answered = False
    return engine if answered else None


def podman_engine(config: StackConfig) -> Engine:
    """Podman with this machine kind's settings (../shared/reference/infra-notes.md), installed if missing."""
    if shutil.which("podman") is None or shutil.which("fuse-overlayfs") is None:
        install_packages(PODMAN_PACKAGES, component=COMPONENT, log_path=config.log_path(COMPONENT))
    podman = shutil.which("podman")
    if podman is None:
        raise DevstackError(COMPONENT, "podman is not installed", config.log_path(COMPONENT))
    conf_dir = containers_dir(config)
    conf_dir.mkdir(parents=True, exist_ok=True)
    conf = conf_dir / "containers.conf"
    # No default ulimits: containers take the host's (the default open-file limit is above the hard limit).
    conf.write_text('[containers]\ndefault_ulimits = []\n\n[engine]\nevents_logger = "file"\n')
    argv = (
        podman,
        "--runtime=runc",
        "--cgroup-manager=cgroupfs",
        "--storage-driver=overlay",
        "--storage-opt=overlay.mount_program=/usr/bin/fuse-overlayfs",
    )
    return Engine("podman", argv, {**os.environ, "CONTAINERS_CONF": str(conf)})


def find_engine(config: StackConfig, choice: str = "auto") -> Engine:
    """``docker``, ``podman``, or ``auto``: a Docker engine that answers, else Podman."""
    if choice in ("auto", "docker"):
        docker = _docker_engine()
        if docker is not None:
            return docker
        if choice == "docker":
            raise DevstackError(COMPONENT, "no Docker engine answers (`docker info` failed)")
    return podman_engine(config)


def _debian_mirror() -> str:
    """The Debian mirror apt already uses (deb822 or one-line sources), so the stand-in needs no other."""
    candidates = [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]
    for path in candidates:
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] and len(words) > 1 and "security" not in words[1]:
                return words[1]
            if words[:1] == ["deb"]:
                uri = next((w for w in words[1:] if "://" in w), "")
                if uri and "security" not in uri:
                    return uri
    return "http://deb.debian.org/debian"


def build_debian_base(engine: Engine, config: StackConfig) -> str:
    """The Debian root made by debootstrap, imported once as DEBIAN_IMAGE (the stand-in Python base and the
    infrastructure images of pm_devstack.containers build on it)."""
    log = config.log_path(COMPONENT)
    if not engine.has_image(DEBIAN_IMAGE):
        if shutil.which("debootstrap") is None:
            install_packages(("debootstrap",), component=COMPONENT, log_path=log)
        rootfs = containers_dir(config) / "debian-rootfs"
        shutil.rmtree(rootfs, ignore_errors=True)
        rootfs.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            result = subprocess.run(
                ["debootstrap", "--variant=minbase", DEBIAN_SUITE, str(rootfs), _debian_mirror()],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=900,
                check=False,
            )
        if result.returncode != 0:
            raise DevstackError(COMPONENT, "debootstrap of the stand-in base failed", log)
        with subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE) as tar:
            imported = subprocess.run(
                [*engine.argv, "import", "-", DEBIAN_IMAGE],
                stdin=tar.stdout,
                env=engine.env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        shutil.rmtree(rootfs, ignore_errors=True)
        if imported.returncode != 0:
            raise DevstackError(
                COMPONENT, f"importing the Debian root failed: {imported.stderr.strip()}", log
            )
    return DEBIAN_IMAGE


def build_standin_base(engine: Engine, config: StackConfig, root: Path) -> str:
    """The stand-in Python base (Debian's python3.11), built once and kept in the engine's store."""
    if engine.has_image(STANDIN_IMAGE):
        return STANDIN_IMAGE
    log = config.log_path(COMPONENT)
    build_debian_base(engine, config)
    built = engine.run(
        "build",
        f"--ulimit={BUILD_NOFILE}",
        f"--build-arg=DEBIAN_IMAGE={DEBIAN_IMAGE}",
        "-f",
        str(root / STANDIN_CONTAINERFILE),
        "-t",
        STANDIN_IMAGE,
        str(root / STANDIN_CONTAINERFILE.parent),
        timeout=900,
        log=log,
    )
    if built.returncode != 0:
        raise DevstackError(COMPONENT, "building the stand-in Python base failed", log)
    return STANDIN_IMAGE


def base_image(engine: Engine, config: StackConfig, root: Path, choice: str = "auto") -> str:
    """``official``, ``standin``, an image reference, or ``auto``: the official image if present or
    pullable, else the stand-in."""
    if choice == "standin":
        return build_standin_base(engine, config, root)
    if choice not in ("auto", "official"):
        return choice
    if engine.has_image(PYTHON_IMAGE):
        return PYTHON_IMAGE
    try:
        pulled = engine.run("pull", PYTHON_IMAGE, timeout=300, log=config.log_path(COMPONENT)).returncode == 0
    except subprocess.TimeoutExpired:
        pulled = False
    if pulled:
        return PYTHON_IMAGE
    if choice == "official":
        raise DevstackError(COMPONENT, f"cannot pull {PYTHON_IMAGE}", config.log_path(COMPONENT))
    return build_standin_base(engine, config, root)


def image_name(spec: ServiceSpec, tag: str = DEFAULT_TAG, prefix: str = IMAGE_PREFIX) -> str:
    """The reference the chart gives ``spec``'s image (``image.prefix``/name:tag)."""
    return f"{prefix}/{spec.name}:{tag}"


def ca_bundle() -> Path | None:
    """The CA bundle this machine's TLS clients use (SSL_CERT_FILE), when set and present."""
    path = os.environ.get("SSL_CERT_FILE", "")
    return Path(path) if path and Path(path).is_file() else None


@dataclass(frozen=True)
class Built:
    image: str
    seconds: float


def build_image(
    engine: Engine,
    config: StackConfig,
    root: Path,
    spec: ServiceSpec,
    *,
    base: str,
    tag: str = DEFAULT_TAG,
    bundle: Path | None = None,
) -> Built:
    image = image_name(spec, tag)
    extra = [f"--secret=id=ca-bundle,src={bundle}"] if bundle is not None else []
    args = [*extra, f"--build-arg=PYTHON_IMAGE={base}", "-f", str(root / dockerfile_path(spec))]
    return run_build(engine, config, f"image-{spec.name}", COMPONENT, image, args, root)


def run_build(
    engine: Engine,
    config: StackConfig,
    log_name: str,
    component: str,
    image: str,
    args: list[str],
    context: Path,
) -> Built:
    """``build`` with ``args`` tagging ``image`` from ``context``, logged to a fresh ``log_name`` log (Podman
    with the open-files limit a build needs); how long it took."""
    log = config.log_path(log_name)
    log.unlink(missing_ok=True)
    limits = [f"--ulimit={BUILD_NOFILE}"] if engine.name == "podman" else []
    started = time.monotonic()
    result = engine.run("build", *limits, *args, "-t", image, str(context), timeout=1800, log=log)
    if result.returncode != 0:
        raise DevstackError(component, f"building {image} failed", log)
    return Built(image, time.monotonic() - started)


@contextmanager
def build_lock(config: StackConfig) -> Iterator[None]:
    """One build at a time per state dir: a second waits for the first (``make test`` starts one in the
    background early and the container test's own build then finds every layer cached)."""
    config.run_dir.mkdir(parents=True, exist_ok=True)
    with (config.run_dir / "images.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_images(
    config: StackConfig,
    root: Path,
    *,
    engine: Engine,
    base: str,
    tag: str = DEFAULT_TAG,
    names: Sequence[str] = (),
    jobs: int = 2,
) -> list[Built]:
    """Build the images of ``names`` (every service and the emulator when empty); the first alone."""
    specs = load_services(root / SERVICES_FILE)
    unknown = set(names) - {s.name for s in specs}
    if unknown:
        raise DevstackError(COMPONENT, f"no such service: {', '.join(sorted(unknown))}")
    chosen = [s for s in specs if not names or s.name in names]
    bundle = ca_bundle()
    if not chosen:
        return []
    first = build_image(engine, config, root, chosen[0], base=base, tag=tag, bundle=bundle)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        rest = list(
            pool.map(
                lambda spec: build_image(engine, config, root, spec, base=base, tag=tag, bundle=bundle),
                chosen[1:],
            )
        )
    return [first, *rest]


def build(
    config: StackConfig,
    *,
    engine: Engine,
    base_choice: str = "auto",
    tag: str = DEFAULT_TAG,
    names: Sequence[str] = (),
    jobs: int = 2,
) -> tuple[str, list[Built]]:
    """The base (see :func:`base_image`), then the images, under the build lock: what ``make images`` and
    the container test run. Returns the base used and what was built."""
    root = config.repo_root
    with build_lock(config):
        base = base_image(engine, config, root, base_choice)
        return base, build_images(config, root, engine=engine, base=base, tag=tag, names=names, jobs=jobs)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pm_devstack.images", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build every service's image (or the ones named)")
    build.add_argument("names", nargs="*", help="services to build (default: all, the emulator included)")
    build.add_argument("--engine", choices=("auto", "docker", "podman"), default="auto")
    build.add_argument(
        "--base",
        default=os.environ.get("PM_BASE_IMAGE", "auto"),
        help="auto (default), official, standin, or an image reference",
    )
    build.add_argument("--tag", default=os.environ.get("PM_IMAGE_TAG", DEFAULT_TAG))
    build.add_argument("--jobs", type=int, default=2, help="images built at once after the first")
    build.add_argument(
        "--background",
        action="store_true",
        help="start the build detached (output in <state>/logs/images.log) and return at once",
    )
    infra = sub.add_parser(
        "infra",
        help="build the infrastructure images (PostgreSQL, Redis, Kafka, SeaweedFS; PM_INFRA=containers)",
    )
    infra.add_argument("names", nargs="*", help="postgres, redis, kafka, s3 (default: all)")
    infra.add_argument("--engine", choices=("auto", "docker", "podman"), default="auto")
    infra.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    return parser


def _build_infra(config: StackConfig, engine: Engine, names: Sequence[str]) -> None:
    from pm_devstack.containers import build_infra_images

    started = time.monotonic()
    built = build_infra_images(config, engine, names)
    print(f"images: {engine.name}, base {DEBIAN_IMAGE}")
    for image in built:
        print(f"  {image.image}  {image.seconds:.0f} s")
    print(f"images: infrastructure built in {time.monotonic() - started:.0f} s")


def _start_in_background(config: StackConfig, argv: Sequence[str], engine_choice: str) -> None:
    """The packages first, in the foreground: apt takes one install at a time, and ``make up`` installs
    its own while the build runs."""
    engine = find_engine(config, engine_choice)
    if engine.name == "podman" and shutil.which("debootstrap") is None:
        install_packages(("debootstrap",), component=COMPONENT, log_path=config.log_path(COMPONENT))
    log = config.log_path(COMPONENT)
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pm_devstack.images", *[a for a in argv if a != "--background"]]
    with log.open("a") as out:
        subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    print(f"images: building in the background (see {log})")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(arguments)
    config = StackConfig.from_env()
    try:
        if args.background:
            _start_in_background(config, arguments, args.engine)
            return 0
        engine = find_engine(config, args.engine)
        if args.command == "infra":
            _build_infra(config, engine, args.names)
            return 0
        started = time.monotonic()
        base, built = build(
            config, engine=engine, base_choice=args.base, tag=args.tag, names=args.names, jobs=args.jobs
        )
        print(f"images: {engine.name}, base {base}")
        for image in built:
            print(f"  {image.image}  {image.seconds:.0f} s")
        print(f"images: built in {time.monotonic() - started:.0f} s")
    except DevstackError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
