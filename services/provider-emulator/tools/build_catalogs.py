"""Rebuild the emulator's catalogs from the shared real data set (deterministic, seeded).

    uv run python services/provider-emulator/tools/build_catalogs.py [--source DIR] [--out DIR]

Reads ``<source>/spotify-songs/spotify_songs.csv`` (default source: ``../shared/data`` beside the
repository), derives each provider's catalog with :mod:`pm_provider_emulator.domain.derive` and
writes xz files (no timestamps, so the bytes depend on the content only)
to ``services/provider-emulator/data/catalog``. It also copies the upstream SOURCE and licence text.
The derived files are committed; ``tests/unit/test_build_catalogs.py`` checks a rebuild matches.
"""

from __future__ import annotations

import argparse
import csv
import json
import lzma
import shutil
from pathlib import Path

from pm_provider_emulator.domain.derive import SourcePlaylist, SourceTrack, derive_catalogs

SERVICE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = SERVICE_DIR.parents[1]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUT = SERVICE_DIR / "data"
CSV_PATH = Path("spotify-songs") / "spotify_songs.csv"
UPSTREAM_FILES = {
    Path("spotify-songs") / "SOURCE.md": Path("upstream") / "spotify-songs.SOURCE.md",
    Path("spotify-songs") / "LICENSE.tidytuesday-MIT.txt": Path("LICENSE.tidytuesday-MIT.txt"),
}


def read_source(csv_path: Path) -> tuple[dict[str, SourceTrack], list[SourcePlaylist]]:
    tracks: dict[str, SourceTrack] = {}
    playlist_rows: dict[str, list[dict[str, str]]] = {}
    with csv_path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            tid = row["track_id"]
            if tid not in tracks:
                tracks[tid] = SourceTrack(
                    track_id=tid,
                    name=row["track_name"],
                    artist=row["track_artist"],
                    popularity=int(row["track_popularity"] or 0),
                    album_id=row["track_album_id"],
                    album_name=row["track_album_name"],
                    release_date=row["track_album_release_date"],
                    genre=row["playlist_genre"],
                    duration_ms=int(row["duration_ms"]),
                )
            playlist_rows.setdefault(row["playlist_id"], []).append(row)
    playlists = [
        SourcePlaylist(
            playlist_id=pid,
            name=rows[0]["playlist_name"],
            genre=rows[0]["playlist_genre"],
            subgenre=rows[0]["playlist_subgenre"],
            track_ids=tuple(r["track_id"] for r in rows),
        )
        for pid, rows in playlist_rows.items()
    ]
    return tracks, playlists


def compress(payload: bytes) -> bytes:
    """xz with fixed settings: no timestamps, the output depends on the content only."""
    return lzma.compress(
        payload, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=9 | lzma.PRESET_EXTREME
    )


def build(source: Path, out: Path) -> list[Path]:
    """Write the catalogs under ``out``; returns the files written."""
    tracks, playlists = read_source(source / CSV_PATH)
    derived = derive_catalogs(tracks, playlists)
    catalog_dir = out / "catalog"
    catalog_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, tbl in derived.tables.items():
        head = json.dumps({"fields": tbl["fields"]}, ensure_ascii=False)[:-1]
        lines = ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in tbl["rows"])
        payload = f'{head}, "rows": [\n{lines}\n]}}\n'.encode()
        path = catalog_dir / f"{name}.json.xz"
        path.write_bytes(compress(payload))
        written.append(path)
    for src, dst in UPSTREAM_FILES.items():
        target = out / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / src, target)
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    for path in build(args.source, args.out):
        print(f"{path}  {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
