"""plm-admin's arguments and its one-line errors (exit code 2). No network: nothing here reaches a server."""

import os
from pathlib import Path

import pytest

from pm_admin import cli, ops


def _main(argv, capsys, monkeypatch, env=None):
    monkeypatch.setattr(os, "environ", {"PATH": "/usr/bin", **(env or {})})
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def test_parser_accepts_every_command(tmp_path: Path):
    parser = cli.build_parser()
    args = parser.parse_args(["backup", "--out", str(tmp_path), "--keep", "3"])
    assert (args.command, args.out, args.keep) == ("backup", tmp_path, 3)
    assert parser.parse_args(["list"]).dir == cli.DEFAULT_DIR
    args = parser.parse_args(["restore", "a.plmbak", "--yes"])
    assert (args.archive, args.yes) == (Path("a.plmbak"), True)
    assert parser.parse_args(["rotate-master-key", "--dry-run"]).dry_run is True
    assert parser.parse_args(["migrations"]).command == "migrations"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "required: command"),
        (["nope"], "invalid choice"),
        (["backup", "--keep", "many"], "invalid int value"),
        (["backup", "--keep", "0"], "--keep must be at least 1"),
        (["restore"], "required: archive"),
        (["restore", "/nonexistent/x.plmbak", "--yes"], "no such archive"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, monkeypatch):
    code, out, err = _main(argv, capsys, monkeypatch)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("plm-admin: ")
    assert message in err


def test_restore_refuses_without_yes(tmp_path, capsys, monkeypatch):
    archive_path = tmp_path / "plm-20261204T000000Z.plmbak"
    archive_path.write_bytes(b"whatever")
    code, _, err = _main(["restore", str(archive_path)], capsys, monkeypatch)
    assert code == 2
    assert "add --yes" in err


def test_backup_without_a_key_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    code, _, err = _main(["backup", "--out", str(tmp_path / "b")], capsys, monkeypatch)
    assert code == 2
    assert "BACKUP_KEY" in err
    assert not (tmp_path / "b").exists()


def test_restore_of_garbage_changes_nothing(tmp_path, capsys, monkeypatch):
    garbage = tmp_path / "plm-20261204T000000Z.plmbak"
    garbage.write_bytes(b"not an archive at all")
    monkeypatch.setattr(cli, "resolve", lambda environ: object())
    code, _, err = _main(
        ["restore", str(garbage), "--yes"], capsys, monkeypatch, {"BACKUP_KEY": os.urandom(32).hex()}
    )
    assert code == 2
    assert "not a plm-admin archive" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [garbage.name]


def test_list_shows_header_and_skips_garbage(tmp_path, capsys, monkeypatch):
    import io

    from pm_admin.archive import Header, KeySource, encrypt_stream

    keys = KeySource(raw=os.urandom(32))
    header = Header(
        created="2026-12-04T21:00:00+00:00", schemas=["auth", "playlist"], objects=2, kdf=keys.new_kdf()
    )
    with (tmp_path / "plm-20261204T210000Z.plmbak").open("wb") as out:
        encrypt_stream(io.BytesIO(b"tar"), out, header, keys.raw)
    (tmp_path / "plm-20261203T210000Z.plmbak").write_bytes(b"junk")
    code, out, _ = _main(["list", "--dir", str(tmp_path)], capsys, monkeypatch)
    assert code == 0
    lines = out.splitlines()
    assert "unreadable" in lines[0]
    assert "schemas=auth,playlist" in lines[1]
    assert "objects=2" in lines[1]


def test_migration_comparison():
    status = ops.compare(
        "auth",
        "auth",
        ["platform:0001", "auth:0001", "auth:0002"],
        ["platform:0001", "auth:0001", "auth:0009"],
    )
    assert status.pending == ["auth:0002"]
    assert status.unknown == ["auth:0009"]


def test_rotation_runs_auths_own_command(monkeypatch):
    seen = {}

    class Done:
        returncode = 0

    def fake_run(argv, env, check):
        seen["argv"], seen["env"] = argv, env
        return Done()

    monkeypatch.setattr(ops.subprocess, "run", fake_run)
    env = {"DATABASE_URL": "postgresql://x@h/db", "MASTER_KEY": "k"}
    assert ops.rotate_master_key(env, dry_run=True) == 0
    assert seen["argv"][1:] == ["-m", "pm_auth", "rotate-master-key", "--dry-run"]
    assert seen["env"] == env
