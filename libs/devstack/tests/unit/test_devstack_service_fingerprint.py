"""A service of the native stack knows the code and configuration it was started from, so `make up`
restarts it after a pull, an edit or a new variable instead of trusting a stale process."""

from __future__ import annotations

from pathlib import Path

from pm_devstack.service import ServiceProcess
from pm_devstack.services_file import ServiceSpec


def _workspace(root: Path) -> None:
    (root / "libs/platform/src/pm_platform").mkdir(parents=True)
    (root / "libs/platform/src/pm_platform/http.py").write_text("VERSION = 1\n")
    (root / "services/playlist/src/pm_playlist").mkdir(parents=True)
    (root / "services/playlist/src/pm_playlist/app.py").write_text("ROUTES = []\n")
    (root / "uv.lock").write_text("lock 1\n")


def _service(root: Path, env: dict[str, str]) -> ServiceProcess:
    spec = ServiceSpec(name="playlist", package="pm_playlist", port=3103, schema="playlist")
    return ServiceProcess(
        spec, env, cwd=root, log_path=root / "logs/playlist.log", pid_path=root / "run/playlist.pid"
    )


def test_the_fingerprint_covers_code_lock_file_and_environment(tmp_path: Path) -> None:
    _workspace(tmp_path)
    service = _service(tmp_path, {"PORT": "3103"})
    first = service.fingerprint()
    assert service.fingerprint() == first  # stable
    (tmp_path / "libs/platform/src/pm_platform/__pycache__").mkdir()
    (tmp_path / "libs/platform/src/pm_platform/__pycache__/http.cpython-311.pyc").write_bytes(b"\0")
    assert service.fingerprint() == first  # compiled files are not code
    changes = [
        lambda: (tmp_path / "libs/platform/src/pm_platform/http.py").write_text("VERSION = 2\n"),
        lambda: (tmp_path / "services/playlist/src/pm_playlist/new.py").write_text("\n"),
        lambda: (tmp_path / "uv.lock").write_text("lock 2\n"),
    ]
    seen = {first}
    for change in changes:
        change()
        seen.add(service.fingerprint())
    seen.add(_service(tmp_path, {"PORT": "3103", "IDENTITY_PUBLIC_KEYS": "k"}).fingerprint())
    assert len(seen) == 1 + len(changes) + 1  # every change shows
    # Another service's code is not this one's.
    (tmp_path / "services/export/src/pm_export").mkdir(parents=True)
    before = service.fingerprint()
    (tmp_path / "services/export/src/pm_export/app.py").write_text("X = 1\n")
    assert service.fingerprint() == before


def test_stale_unless_started_from_what_is_there_now(tmp_path: Path) -> None:
    _workspace(tmp_path)
    service = _service(tmp_path, {"PORT": "3103"})
    service.pid_path.parent.mkdir(parents=True)
    assert service.is_stale()  # started by hand or an older devstack: unknown code
    service.fingerprint_path.write_text(service.fingerprint() + "\n")
    assert not service.is_stale()
    (tmp_path / "services/playlist/src/pm_playlist/app.py").write_text("ROUTES = ['/x']\n")
    assert service.is_stale()
