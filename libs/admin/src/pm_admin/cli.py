"""``plm-admin``: the operator's commands. Bad input or a failed step: one line on stderr, exit code 2."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from pm_admin import archive, ops, system
from pm_admin.errors import AdminError
from pm_admin.target import resolve

DEFAULT_DIR = Path("backups")
EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage in one line (no usage block), exit code 2."""

    def error(self, message: str) -> NoReturn:
        sub = self.prog.removeprefix("plm-admin").strip()
        raise AdminError(f"{sub}: {message}" if sub else f"usage: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="plm-admin", description="Playlist Manager operator commands")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    backup = commands.add_parser("backup", help="encrypted archive of every service schema and the bucket")
    backup.add_argument("--out", type=Path, default=DEFAULT_DIR, help="directory of the archives")
    backup.add_argument("--keep", type=int, help="then delete all but the newest N archives there")

    listing = commands.add_parser("list", help="the archives of a directory")
    listing.add_argument("--dir", type=Path, default=DEFAULT_DIR)

    restore = commands.add_parser("restore", help="replace every schema and the bucket with an archive's")
    restore.add_argument("archive", type=Path)
    restore.add_argument("--yes", action="store_true", help="confirm: current data is dropped")

    rotate = commands.add_parser("rotate-master-key", help="re-wrap auth's sealed rows under MASTER_KEY")
    rotate.add_argument("--dry-run", action="store_true", help="only count what would be re-wrapped")

    commands.add_parser("migrations", help="applied vs shipped migrations per service")
    return parser


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def run(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    args = build_parser().parse_args(list(argv))
    if args.command == "backup":
        if args.keep is not None and args.keep < 1:
            raise AdminError("--keep must be at least 1")
        keys = archive.KeySource.from_env(environ)
        path = system.backup(resolve(environ), args.out, keys)
        print(f"backup: {path} ({_size(path.stat().st_size)})")
        if args.keep is not None:
            for old in archive.prune(args.out, args.keep):
                print(f"deleted: {old}")
        return 0
    if args.command == "list":
        for path in archive.archives_in(args.dir):
            try:
                with path.open("rb") as f:
                    header, _ = archive.read_header(f)
            except AdminError as exc:
                print(f"{path.name}  unreadable: {exc}")
                continue
            print(
                f"{path.name}  {header.created}  {_size(path.stat().st_size)}  "
                f"schemas={','.join(header.schemas)}  objects={header.objects}"
            )
        return 0
    if args.command == "restore":
        if not args.archive.is_file():
            raise AdminError(f"{args.archive}: no such archive")
        if not args.yes:
            raise AdminError("restore drops every service schema and the bucket's objects: add --yes")
        counts = system.restore(resolve(environ), args.archive, archive.KeySource.from_env(environ))
        print(f"restored: {counts['schemas']} schemas, {counts['objects']} objects from {args.archive}")
        return 0
    if args.command == "rotate-master-key":
        return ops.rotate_master_key(environ, args.dry_run)
    if args.command == "migrations":
        statuses = ops.migration_status(resolve(environ))
        for s in statuses:
            state = "up to date" if not s.pending else f"pending: {', '.join(s.pending)}"
            extra = f"; applied but not shipped: {', '.join(s.unknown)}" if s.unknown else ""
            print(f"{s.service:<14} {s.schema:<14} {len(s.applied)}/{len(s.shipped)} applied, {state}{extra}")
        return 1 if any(s.pending for s in statuses) else 0
    raise AdminError(f"unknown command {args.command}")


def main(argv: Sequence[str] | None = None) -> None:
    try:
        code = run(sys.argv[1:] if argv is None else argv, os.environ)
    except AdminError as exc:
        print(f"plm-admin: {exc}", file=sys.stderr)
        code = EXIT_ERROR
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)
