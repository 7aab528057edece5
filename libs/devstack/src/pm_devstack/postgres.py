"""PostgreSQL from the Debian packages, one private cluster in the state dir."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import stat
import subprocess
from pathlib import Path

from pm_devstack.component import Component
from pm_devstack.config import HOST, PG_SUPERUSER
from pm_devstack.errors import DevstackError
from pm_devstack.procs import is_root, live_pid, terminate

PG_ROOT = Path("/usr/lib/postgresql")
OS_USER = "postgres"  # the Debian package's system user; PostgreSQL refuses to run as root


def _version_key(path: Path) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in path.name.split("."))
    except ValueError:
        return (-1,)


def find_bin_dir(pg_root: Path = PG_ROOT) -> Path | None:
    """``/usr/lib/postgresql/<highest version>/bin`` among versions that have ``pg_ctl``."""
    versions = [bin_dir.parent for bin_dir in pg_root.glob("*/bin") if (bin_dir / "pg_ctl").is_file()]
    if not versions:
        return None
    return max(versions, key=_version_key) / "bin"


def render_conf(port: int, socket_dir: Path) -> str:
    """The settings file included from postgresql.conf, rewritten on every start so ports can change."""
    return "\n".join(
        [
            "# Written by pm_devstack on every start; edits here are overwritten.",
            f"listen_addresses = '{HOST}'",
            f"port = {port}",
            f"unix_socket_directories = '{socket_dir}'",
            # Dev and test data are disposable: trade crash safety for much faster DDL and commits.
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            # Six services with pools plus integration tests creating their own databases.
            "max_connections = 300",
            "password_encryption = 'scram-sha-256'",
            "",
        ]
    )


def untraversable_dirs(path: Path, uid: int, gids: set[int]) -> list[Path]:
    """Ancestors of ``path`` (inclusive) that user ``uid`` with groups ``gids`` cannot enter."""
    blocked: list[Path] = []
    for directory in [path, *path.parents]:
        try:
            st = directory.stat()
        except OSError:
            continue
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid in gids:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            blocked.append(directory)
    return blocked


class PostgresServer(Component):
    """A PostgreSQL cluster in ``state_dir`` (data/, socket/) listening on 127.0.0.1:``port`` only.

    As root, every server-side command runs as the ``postgres`` OS user (``runuser``) on directories that
    user owns; otherwise as the current user. The superuser ``postgres`` gets a scram password; local
    socket connections use peer auth.
    """

    name = "postgres"

    def __init__(
        self,
        state_dir: Path,
        port: int,
        superuser_password: str,
        *,
        log_path: Path | None = None,
        pid_link: Path | None = None,
        owned_root: Path | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.port = port
        self.superuser_password = superuser_password
        self.log_path = log_path or state_dir / "postgres.log"
        # PostgreSQL keeps its own pid file in the data dir; ``pid_link`` (e.g. .state/run/postgres.pid)
        # is a symlink to it so every component's pid is found in the same place.
        self.pid_link = pid_link
        # Directories at or below ``owned_root`` are ours to make traversable for the postgres user.
        self.owned_root = owned_root or state_dir
        self.data_dir = state_dir / "data"
        self.socket_dir = state_dir / "socket"

    # ---- locations and identity -------------------------------------------------------------------

    def bin_dir(self) -> Path:
        found = find_bin_dir()
        if found is None:
            raise self.error("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl)")
        return found

    def _as_server_user(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", OS_USER, "--", *argv] if is_root() else argv

    def _chown(self, path: Path) -> None:
        if is_root():
            user = pwd.getpwnam(OS_USER)
            os.chown(path, user.pw_uid, user.pw_gid)

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://{PG_SUPERUSER}:{self.superuser_password}@{HOST}:{self.port}/postgres"

    # ---- Component ----------------------------------------------------------------------------------

    def system_packages(self) -> list[str]:
        return [] if find_bin_dir() else ["postgresql"]

    def pid(self) -> int | None:
        return live_pid(self.data_dir / "postmaster.pid", "postgres")

    def _prepare_dirs(self) -> None:
        for directory in (self.state_dir, self.socket_dir, self.log_path.parent):
            directory.mkdir(parents=True, exist_ok=True)
        if not is_root():
            return
        user = pwd.getpwnam(OS_USER)
        gids = {user.pw_gid, *(g for g in os.getgrouplist(OS_USER, user.pw_gid))}
        # Our own directories on the way to the data dir just need o+x; anything above them we do not
        # touch, we name it instead.
        for blocked in untraversable_dirs(self.state_dir, user.pw_uid, gids):
            if blocked.is_relative_to(self.owned_root):
                blocked.chmod(blocked.stat().st_mode | stat.S_IXOTH)
        still = untraversable_dirs(self.state_dir, user.pw_uid, gids)
        if still:
            raise self.error(
                f"the {OS_USER} user cannot reach {self.state_dir}: run `chmod o+x {still[0]}` "
                "or set PM_STATE_DIR elsewhere"
            )
        for path in (self.state_dir, self.socket_dir):
            self._chown(path)
        self.log_path.touch(exist_ok=True)
        self._chown(self.log_path)

    def _initdb(self, bin_dir: Path) -> None:
        pwfile = self.state_dir / ".pwfile"
        pwfile.write_text(self.superuser_password + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        try:
            argv = [
                str(bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                PG_SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=peer",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
            self._run(argv, "initdb failed")
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'devstack.conf'\n")

    def _run(self, argv: list[str], failure: str) -> None:
        with self.log_path.open("ab") as log:
            # cwd: as the postgres user, the caller's cwd (often /root) may be unreadable.
            result = subprocess.run(
                self._as_server_user(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                check=False,
                start_new_session=True,
            )
        if result.returncode != 0:
            raise self.error(failure)

    def start(self) -> None:
        """initdb on first use, then ``pg_ctl start`` without waiting (``wait_healthy`` polls)."""
        if self.is_running():
            return
        self.ensure_ports_free()
        bin_dir = self.bin_dir()
        self._prepare_dirs()
        if not (self.data_dir / "PG_VERSION").is_file():
            self._initdb(bin_dir)
        conf = self.data_dir / "devstack.conf"
        conf.write_text(render_conf(self.port, self.socket_dir))
        self._chown(conf)
        if self.pid_link is not None:
            self.pid_link.parent.mkdir(parents=True, exist_ok=True)
            self.pid_link.unlink(missing_ok=True)
            self.pid_link.symlink_to(self.data_dir / "postmaster.pid")
        self._run(
            [str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_path), "-W", "start"],
            "pg_ctl start failed",
        )

    def check_health(self) -> bool:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            return False
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            argv = [str(bin_dir / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port), "-t", "2"]
            return subprocess.run(argv, check=False, timeout=5).returncode == 0
        return False

    def stop(self, timeout: float = 30.0) -> None:
        """``pg_ctl stop -m fast``; SIGQUIT (immediate shutdown) and then SIGKILL if that hangs."""
        pid = self.pid()
        if pid is None:
            return
        argv = [
            str(self.bin_dir() / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-m",
            "fast",
            "-w",
            "-t",
            str(int(timeout)),
            "stop",
        ]
        with contextlib.suppress(DevstackError):
            self._run(argv, "pg_ctl stop failed")
        if self.pid() is not None:
            terminate(pid, 10, sig=signal.SIGQUIT, group=False)
