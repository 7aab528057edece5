"""Reading the committed catalog files (the only file I/O of the emulator)."""

from __future__ import annotations

import json
import lzma
from pathlib import Path
from typing import Any

from pm_provider_emulator.domain.catalog import Catalogs

TABLES = ("recordings", "playlists", "spotify", "deezer", "tidal", "youtube", "musicbrainz")


def default_data_dir() -> Path:
    """``data/`` of the source tree, or ``_data`` inside an installed wheel."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_data"
    if packaged.is_dir():
        return packaged
    return here.parents[1] / "data"


def read_tables(data_dir: Path) -> dict[str, dict[str, Any]]:
    tables = {}
    for name in TABLES:
        path = data_dir / "catalog" / f"{name}.json.xz"
        tables[name] = json.loads(lzma.decompress(path.read_bytes()))
    return tables


def load_catalogs(data_dir: Path | None = None) -> Catalogs:
    """Blocking (about a second): call once at startup, before serving."""
    return Catalogs(read_tables(data_dir or default_data_dir()))
