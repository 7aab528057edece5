"""Pagination arithmetic and the providers' page-token encodings (pure)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def window(items: Sequence[T], offset: int, limit: int) -> list[T]:
    return list(items[offset : offset + limit])


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def youtube_page_token(offset: int, previous: bool = False) -> str:
    """YouTube's real token shape: base64 of protobuf ``{1: offset, 2: direction}`` (``CAUQAA`` = 5)."""
    raw = b"\x08" + _varint(offset) + b"\x10" + _varint(1 if previous else 0)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parse_youtube_page_token(token: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None
    if not raw or raw[0] != 0x08:
        return None
    n, shift, i = 0, 0, 1
    while i < len(raw):
        b = raw[i]
        n |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return n
        shift += 7
    return None


def tidal_cursor(offset: int) -> str:
    """An opaque TIDAL ``page[cursor]`` (short base64url, like ``3nI1Esi``)."""
    return base64.urlsafe_b64encode(f"o{offset}".encode()).rstrip(b"=").decode()


def parse_tidal_cursor(cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not raw.startswith("o") or not raw[1:].isdigit():
        return None
    return int(raw[1:])
