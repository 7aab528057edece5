import pytest

from pm_provider_emulator.domain.fields import FieldsSyntaxError, filter_fields

PAGE = {
    "href": "h",
    "next": None,
    "items": [{"added_at": "t", "track": {"name": "n", "id": "i", "album": {"name": "a", "id": "x"}}}],
}


def test_nested_selection():
    out = filter_fields(PAGE, "items(added_at,track(name,album(name))),next")
    assert out == {"items": [{"added_at": "t", "track": {"name": "n", "album": {"name": "a"}}}], "next": None}


def test_exclusion_and_errors():
    assert filter_fields({"a": 1, "b": 2}, "!b") == {"a": 1}
    assert filter_fields(PAGE, None) is PAGE
    with pytest.raises(FieldsSyntaxError):
        filter_fields(PAGE, "items(track")
