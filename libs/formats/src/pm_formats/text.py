"""Bytes to text for the text formats: the encoding from the byte order mark (UTF-8, UTF-16 LE/BE), else
UTF-8 when the file's head is UTF-8, else Latin-1 (old .m3u files); then lines, each at most
``max_line_bytes`` long, in bounded memory (a 10 MB single line is an error, not a 10 MB string)."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from typing import BinaryIO

from pm_formats.errors import FormatError
from pm_formats.limits import MAX_LINE_BYTES

# The bytes looked at to choose an encoding without a BOM.
HEAD_BYTES = 64 * 1024

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def choose_encoding(head: bytes, whole: bool = False) -> str:
    """The encoding of a file that begins with ``head`` (``whole``: ``head`` is the whole file)."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    try:
        # A head cut in the middle of a character is still UTF-8: decode incrementally, not finally.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def text_stream(source: BinaryIO) -> io.TextIOWrapper:
    """``source`` as text, in the encoding :func:`choose_encoding` picks; a byte that is not in it later on
    is a :class:`FormatError` when read (through :func:`lines`)."""
    # A buffer of the head's size: peek() answers at most one buffer.
    buffered = io.BufferedReader(source, buffer_size=HEAD_BYTES)  # type: ignore[type-var]
    head = buffered.peek(HEAD_BYTES)[:HEAD_BYTES]
    encoding = choose_encoding(head, whole=len(head) < HEAD_BYTES)
    # newline="": lines keep their own ending ("\r\n", "\n" or "\r": mixed endings are all ends).
    return io.TextIOWrapper(buffered, encoding=encoding, errors="strict", newline="")


def lines(text: io.TextIOBase, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """(line number from 1, line without its ending) of ``text``; a line longer than ``max_line_bytes``
    characters, or bytes not in the file's encoding, end the read with a :class:`FormatError`."""
    number = 0
    while True:
        try:
            line = text.readline(max_line_bytes + 1)
        except UnicodeDecodeError:
            raise FormatError(
                f"the file is not {getattr(text, 'encoding', 'text')} throughout: save it as UTF-8",
                number + 1,
            ) from None
        if not line:
            return
        number += 1
        if len(line) > max_line_bytes:
            raise FormatError(f"a line longer than {max_line_bytes} characters", number)
        yield number, line.rstrip("\r\n")
