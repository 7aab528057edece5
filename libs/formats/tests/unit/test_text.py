"""Bytes to lines: the encoding from the BOM, else UTF-8, else Latin-1; every line ending; a line too long
is an error with its number, read in bounded memory."""

from __future__ import annotations

import codecs
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_formats import FormatError
from pm_formats.text import HEAD_BYTES, choose_encoding, lines, text_stream


def _lines(data: bytes, max_line_bytes: int = 1 << 20) -> list[tuple[int, str]]:
    return list(lines(text_stream(io.BytesIO(data)), max_line_bytes))


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF8 + "Beyoncé".encode(), "utf-8-sig"),
        ("Beyoncé".encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + "Beyoncé".encode("utf-16-be"), "utf-16"),
        ("Beyoncé".encode(), "utf-8"),
        ("Beyoncé".encode("latin-1"), "latin-1"),
    ],
)
def test_the_encoding_comes_from_the_bom_else_utf8_else_latin1(data: bytes, encoding: str) -> None:
    assert choose_encoding(data, whole=True) == encoding
    assert _lines(data) == [(1, "Beyoncé")]


def test_a_head_cut_inside_a_character_is_still_utf8() -> None:
    data = ("é" * HEAD_BYTES).encode()  # the head ends in the middle of an "é"
    assert choose_encoding(data[:HEAD_BYTES]) == "utf-8"
    [(number, line)] = _lines(data, 1 << 18)
    assert number == 1 and line == "é" * HEAD_BYTES


def test_every_line_ending_ends_a_line_and_numbers_follow() -> None:
    assert _lines(b"a\r\nb\nc\rd\n\ne") == [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, ""), (6, "e")]


def test_a_line_too_long_is_an_error_naming_it() -> None:
    data = b"ok\n" + b"x" * (2 << 20) + b"\nnever read\n"
    with pytest.raises(FormatError) as raised:
        _lines(data)
    assert (
        raised.value.line == 2
        and "longer than" in str(raised.value)
        and str(raised.value).startswith("line 2:")
    )


def test_bytes_that_are_not_utf8_after_a_utf8_head_are_an_error_not_garbage() -> None:
    data = b"a\n" * (HEAD_BYTES // 2 + 10) + b"\xff\xfe broken\n"
    with pytest.raises(FormatError, match="not utf-8 throughout"):
        _lines(data)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.binary(max_size=2000))
def test_any_bytes_give_lines_or_a_format_error(data: bytes) -> None:
    try:
        for number, line in _lines(data, 500):
            assert number >= 1 and "\n" not in line and "\r" not in line
    except FormatError:
        pass
