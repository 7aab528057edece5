"""The stack's operations (up, down, status, migrate, restart) over :class:`~pm_devstack.stack.Stack`.

Progress goes to a ``say`` callback, one line per step with wall-clock timings, so the CLI stays thin.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from pm_devstack.apt import install_packages
from pm_devstack.bootstrap import bootstrap_database
from pm_devstack.component import Component, Status
from pm_devstack.config import DATABASE_NAME
from pm_devstack.errors import DevstackError
from pm_devstack.stack import Stack

Say = Callable[[str], None]

INFRA_TIMEOUT = 90.0
SERVICE_TIMEOUT = 60.0


def _combine(errors: Sequence[DevstackError], stack: Stack) -> DevstackError:
    """Several failures still end in one line: names and reasons, pointing at the logs dir."""
    if len(errors) == 1:
        return errors[0]
    summary = "; ".join(f"{error.component}: {error.message}" for error in errors)
    return DevstackError(", ".join(error.component for error in errors), summary, stack.config.logs_dir)


def start_and_wait(components: Sequence[Component], timeout: float, say: Say, stack: Stack) -> None:
    """Start what is not running and wait until healthy, every component in its own thread.

    In parallel because some launches do real work first (initdb, Kafka's storage format: a JVM each)
    and nothing depends on anything else at this point. Reports each component's wall-clock time from
    its launch to its first healthy probe.
    """

    def bring_up(component: Component) -> str | DevstackError:
        try:
            began = time.monotonic()
            if component.is_running() and component.is_stale():
                # Started from other code or configuration (a pull, an edit, a new variable): a stale
                # service answers with yesterday's behaviour, so it is restarted rather than trusted.
                component.stop()
                component.start()
                component.wait_healthy(timeout)
                return (
                    f"restarted (code or configuration changed), healthy in {time.monotonic() - began:5.1f} s"
                )
            if component.is_running():
                component.wait_healthy(timeout)
                return "already running, healthy"
            component.start()
            component.wait_healthy(timeout)
            return f"started, healthy in {time.monotonic() - began:5.1f} s"
        except DevstackError as error:
            return error

    with ThreadPoolExecutor(max_workers=max(1, len(components))) as pool:
        results = list(zip(components, pool.map(bring_up, components), strict=True))
    for component, outcome in results:
        if not isinstance(outcome, DevstackError):
            say(f"  {component.name:<18} {outcome}")
    errors = [outcome for _, outcome in results if isinstance(outcome, DevstackError)]
    if errors:
        raise _combine(errors, stack)


def _install(components: Sequence[Component], say: Say, stack: Stack) -> None:
    packages = sorted({package for component in components for package in component.system_packages()})
    if packages:
        began = time.monotonic()
        say(f"  installing Debian packages: {' '.join(packages)}")
        install_packages(packages, component="apt", log_path=stack.config.log_path("apt"))
        say(f"  {'apt':<18} installed in {time.monotonic() - began:5.1f} s")
    for component in components:
        began = time.monotonic()
        component.install()
        took = time.monotonic() - began
        if took > 1:
            say(f"  {component.name:<18} installed in {took:5.1f} s")


def up(
    stack: Stack,
    *,
    infra_only: bool = False,
    include_dev: bool = True,
    migrate_first: bool = False,
    say: Say = print,
) -> None:
    """Install what is missing, start what is not running, wait for health, bootstrap, start services.

    Idempotent: with everything running it only checks health and re-applies the bootstrap DDL.
    """
    total = time.monotonic()
    stack.check_port_plan(include_dev)
    infra = stack.infra()
    say("infrastructure:")
    _install(infra, say, stack)
    start_and_wait(infra, INFRA_TIMEOUT, say, stack)
    began = time.monotonic()
    bootstrap_database(stack.admin_dsn(), DATABASE_NAME, stack.database_roles())
    say(f"  {'bootstrap':<18} database {DATABASE_NAME} and roles in {time.monotonic() - began:5.1f} s")
    if not infra_only:
        services = stack.services(include_dev)
        missing = [s for s in services if not s.is_running()]
        errors = []
        for service in missing:
            try:
                service.install()
            except DevstackError as error:
                errors.append(error)
        if errors:
            raise _combine(errors, stack)
        if migrate_first:
            migrate(stack, say=say)
        say("services:")
        start_and_wait(services, SERVICE_TIMEOUT, say, stack)
    say(f"up in {time.monotonic() - total:.1f} s")
    if not infra_only:
        say(f"gateway: {stack.gateway_url}")


def stop_all(components: Sequence[Component], say: Say) -> None:
    running = [component for component in components if component.is_running()]

    def stop(component: Component) -> float:
        began = time.monotonic()
        component.stop()
        return time.monotonic() - began

    with ThreadPoolExecutor(max_workers=max(1, len(running))) as pool:
        for component, took in zip(running, pool.map(stop, running), strict=True):
            say(f"  {component.name:<18} stopped in {took:5.1f} s")


def down(stack: Stack, *, say: Say = print) -> None:
    """Stop services first (they hold connections to the infra), then the infrastructure."""
    total = time.monotonic()
    stop_all(stack.services(include_dev=True), say)
    stop_all(stack.infra(), say)
    if stack.infra_mode == "containers":
        from pm_devstack.containers import cleanup

        cleanup(stack.config, say)
    say(f"down in {time.monotonic() - total:.1f} s")


def status(stack: Stack, *, infra_only: bool = False) -> list[Status]:
    components: list[Component] = [*stack.infra()]
    if not infra_only:
        components += stack.services(include_dev=True)
    with ThreadPoolExecutor(max_workers=len(components)) as pool:
        return list(pool.map(lambda component: component.status(), components))


def migrate(stack: Stack, *, say: Say = print) -> None:
    """``<python> -m <package> migrate`` for each service (not dev helpers), in services.yaml order."""
    for service in stack.services(include_dev=False):
        began = time.monotonic()
        service.migrate()
        say(f"  {service.name:<18} migrated in {time.monotonic() - began:5.1f} s")


def restart(stack: Stack, name: str, *, say: Say = print, env: Mapping[str, str] | None = None) -> None:
    """Stop and start one component; ``env`` adds to a service's environment for this run only (the
    e2e tests raise provider-sync's provider limits this way; the next ``up`` sees the changed
    fingerprint and restarts it as the stack describes it)."""
    component = stack.component(name)
    if env is not None:
        service = stack.service(name)
        service.env |= env
        component = service
    began = time.monotonic()
    component.stop()
    component.install()
    component.start()
    is_infra = name in {infra.name for infra in stack.infra()}
    component.wait_healthy(INFRA_TIMEOUT if is_infra else SERVICE_TIMEOUT)
    say(f"  {name:<18} restarted in {time.monotonic() - began:5.1f} s")


def stop(stack: Stack, names: Sequence[str], *, say: Say = print) -> None:
    """Stop the named components (infra or services), in parallel; not-running ones are skipped."""
    stop_all([stack.component(name) for name in names], say)
