"""A rebuild from ../shared/data gives the committed bytes (skipped when ../shared is absent)."""

import importlib.util
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[2]
SOURCE = SERVICE.parents[2] / "shared" / "data"


@pytest.mark.skipif(
    not (SOURCE / "spotify-songs" / "spotify_songs.csv").exists(), reason="../shared/data absent"
)
def test_rebuild_matches_committed_catalogs(tmp_path: Path):
    spec = importlib.util.spec_from_file_location("build_catalogs", SERVICE / "tools" / "build_catalogs.py")
    assert spec is not None
    assert spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    written = tool.build(SOURCE, tmp_path)
    assert written
    for path in written:
        committed = SERVICE / "data" / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed} differs from a rebuild"


def test_committed_data_is_small_and_licensed():
    data = SERVICE / "data"
    total = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    assert total < 5 * 1024 * 1024
    assert (data / "SOURCE.md").is_file()
    assert (data / "LICENSE.tidytuesday-MIT.txt").is_file()
