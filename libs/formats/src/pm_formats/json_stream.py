"""JSON read as a stream, shared by the JSON readers (lossless, JSPF, the Spotify export): ijson's events in
bounded memory, and walkers over them (:func:`members`, :func:`elements`, :func:`build`, :func:`skip`).

ijson's C backend (yajl2_c) parses when the installed wheel has it, else its pure Python one. Reading an
array of many small elements event by event is slow in Python, so :func:`element_values` takes the
elements of an array laid out one per line (as our writers write entries) a line at a time with the
standard library's C decoder instead. That decoder is used only for a line it reads exactly as ijson would
(the same values, ``Decimal`` for fractions); any other line goes to ijson, which reads on from there as if
it had read the lines before, so both ways give the same items and the same errors.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from types import ModuleType
from typing import Any, BinaryIO

import ijson
from ijson.utils import sendable_list

from pm_formats.errors import FormatError

Event = tuple[str, Any]


def _ijson_backend() -> ModuleType:
    """yajl2_c, ijson's C backend, when the installed wheel has it; else ijson's pure Python one."""
    backend: ModuleType
    try:
        backend = ijson.get_backend("yajl2_c")
    except ImportError:
        backend = ijson.get_backend("python")
    return backend


_BACKEND = _ijson_backend()
_CHUNK_BYTES = 64 * 1024
# A longer line is left to ijson, which reads it in chunks: the line decoder never holds more.
_MAX_LINE_BYTES = 1 << 20
_BLANK = b" \t\r\n"


class _Prefixed:
    """``rest`` with ``head`` put back in front (the bytes read to look for a byte order mark)."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        if self._head:
            chunk = self._head if size < 0 else self._head[:size]
            self._head = self._head[len(chunk) :]
            return chunk
        data: bytes = self._rest.read(size)
        return data


def _utf8(source: BinaryIO) -> _Prefixed:
    """``source`` as UTF-8 bytes without a BOM: JSON is UTF-8, but editors on Windows add a BOM, or save
    UTF-16 with one."""
    head = b""
    while len(head) < 3:
        chunk = source.read(3 - len(head))
        if not chunk:
            break
        head += chunk
    if head.startswith(codecs.BOM_UTF8):
        return _Prefixed(b"", source)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        utf16 = codecs.getreader("utf-16")(_Prefixed(head, source))  # type: ignore[arg-type]
        return _Prefixed(b"", _Utf16AsUtf8(utf16))
    return _Prefixed(head, source)


class _Utf16AsUtf8:
    def __init__(self, text: codecs.StreamReader) -> None:
        self._text = text

    def read(self, size: int = -1) -> bytes:
        # Characters, not bytes, but any positive count is a fine chunk for the parser.
        return self._text.read(size if size > 0 else -1).encode("utf-8", errors="surrogatepass")


def _json_error(error: BaseException) -> FormatError:
    detail = error.args[0] if error.args else str(error)
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", errors="replace")
    first_line = str(detail).strip().splitlines()[0] if str(detail).strip() else type(error).__name__
    return FormatError(f"not valid JSON: {first_line}")


# --- Lines that json's decoder reads exactly as ijson does ---------------------------------------------------


class _NotForTheLineDecoder(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotForTheLineDecoder(name)  # NaN and Infinity: not JSON, and ijson refuses them


# (value, end) of the JSON value at the start of a text; a ValueError when there is none.
_DECODE_VALUE = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant).raw_decode
# A \u escape of a surrogate: ijson reads a lone one differently (or not at all), so such lines go to it.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
NOT_DECODED = object()


def decode_line(line: bytes) -> Any:
    """The JSON value that ``line`` (without its comma, line end and blanks around) is, or ``NOT_DECODED``
    for a line the standard decoder might read otherwise than ijson (or not at all): ijson reads that one."""
    try:
        text = line.decode("utf-8")
        if "\\u" in text and _SURROGATE_ESCAPE.search(text):
            return NOT_DECODED
        value, end = _DECODE_VALUE(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return NOT_DECODED
    return value if end == len(text) else NOT_DECODED


# --- Events -------------------------------------------------------------------------------------------------


class JsonEvents:
    """The (event, value) pairs of ijson's basic parser over a byte stream (numbers are ``int`` or
    ``Decimal``), read in chunks as they are asked for; a file that is not JSON (or not UTF-8) ends them
    with a :class:`FormatError`, after the events before the fault.

    The parser is fed whole lines (the rest of a chunk after its last line end waits for the next), so that
    between two elements of an array :meth:`line_values` can take the following lines itself."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = _utf8(source)
        self._parsed: list[Event] = sendable_list()
        self._parser = _BACKEND.basic_parse_coro(self._parsed)
        self._batch: list[Event] = []
        self._taken = 0  # events of the batch handed out
        # Bytes read but not yet parsed: self._unread[self._start:].
        self._unread = b""
        self._start = 0
        self._source_done = False
        self._read_error: FormatError | None = None
        self._parser_done = False
        self._error: FormatError | None = None  # raised once the events before it are handed out
        # Where the bytes parsed so far end: at a line end, after "[" or "," (and blanks)?
        self._at_line_start = True
        self._last_token = b""

    def __iter__(self) -> JsonEvents:
        return self

    def __next__(self) -> Event:
        while self._taken == len(self._batch):
            self._next_batch()
        event = self._batch[self._taken]
        self._taken += 1
        return event

    def _next_batch(self) -> None:
        """The events of the next piece of the file as the batch; StopIteration at the end of the file. A
        fault is raised once the events before it were handed out."""
        if not self._parsed:
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            if self._parser_done:
                raise StopIteration
            try:
                self._parse(self._next_piece())
            except FormatError as error:
                if not self._parsed:
                    raise
                self._error = error
        self._batch = list(self._parsed)
        self._parsed.clear()
        self._taken = 0

    def _read(self) -> bytes:
        """The next chunk of the file; b"" at its end, and after a fault in reading it (a UTF-16 file that is
        not UTF-16 throughout), which :meth:`_next_piece` raises once what was read before is parsed."""
        if self._source_done:
            return b""
        try:
            chunk = self._source.read(_CHUNK_BYTES)
        except (UnicodeError, ValueError) as error:
            self._read_error = _json_error(error)
            chunk = b""
        if not chunk:
            self._source_done = True
        return chunk

    def _next_piece(self) -> bytes | None:
        """The bytes to parse next: what was read up to its last line end (all of it when it has none, or
        at the end of the file); None once the file has been read."""
        if chunk := self._read():
            unread = self._unread[self._start :] + chunk
            cut = unread.rfind(b"\n") + 1 or len(unread)
            self._unread, self._start = unread[cut:], 0
            return unread[:cut]
        if self._start < len(self._unread):
            piece = self._unread[self._start :]
            self._unread, self._start = b"", 0
            return piece
        if self._read_error is not None:
            self._parser_done = True
            raise self._read_error
        return None

    def _parse(self, piece: bytes | None) -> None:
        """Feeds ``piece`` to the parser (None: the end of the file); its events go to ``self._parsed``."""
        try:
            if piece is None:
                self._parser_done = True
                self._parser.close()
                return
            self._parser.send(piece)
        except SystemError:
            # ijson's C backend on a number Python will not convert (over 4,300 digits): the last event it
            # gave holds no value (touching it would crash), so it is dropped; the ones before it stand.
            self._parser_done = True
            del self._parsed[-1:]
            raise FormatError("not valid JSON: a number too long to read") from None
        except (ijson.JSONError, UnicodeError, ValueError, OverflowError) as error:
            self._parser_done = True
            raise _json_error(error) from None
        stripped = piece.rstrip(_BLANK)
        self._at_line_start = piece.endswith(b"\n")
        self._last_token = stripped[-1:] if stripped else self._last_token

    def line_values(self) -> Iterator[Any]:
        """Between two elements of an array whose elements stand one per line (``VALUE,`` or, the last,
        ``VALUE``): the values of the following elements, each line decoded as a whole. Stops before the
        first line that is not one such element (or when the next events are not of whole lines); the events
        then go on after the elements given, as if ijson had read them. Gives nothing when called anywhere
        else than between two elements."""
        if self._taken < len(self._batch) or self._parsed or self._parser_done:
            return
        if not self._at_line_start or self._last_token not in (b"[", b","):
            return
        given = False
        last_had_comma = True
        while (line := self._whole_line()) is not None:
            text = line.strip(_BLANK)
            has_comma = text.endswith(b",")
            value = decode_line(text[:-1].rstrip(_BLANK) if has_comma else text)
            if value is NOT_DECODED:
                self._start -= len(line)  # put back: ijson reads it
                break
            given, last_had_comma = True, has_comma
            yield value
            if not has_comma:  # the array's last element, or a comma on the next line: ijson's to read
                break
        if given:
            self._resume_parser(last_had_comma)

    def _whole_line(self) -> bytes | None:
        """The next line of unread bytes with its line end, reading more when needed; None when there is no
        whole line within ``_MAX_LINE_BYTES`` (or the file ends before a line end)."""
        end = self._unread.find(b"\n", self._start)
        while end < 0:
            if len(self._unread) - self._start > _MAX_LINE_BYTES:
                return None
            chunk = self._read()
            if not chunk:
                return None
            searched = len(self._unread) - self._start
            self._unread, self._start = self._unread[self._start :] + chunk, 0
            end = self._unread.find(b"\n", searched)
        line = self._unread[self._start : end + 1]
        self._start = end + 1
        return line

    def _resume_parser(self, after_comma: bool) -> None:
        """Bring ijson to where the line decoder stopped: it stands between elements after "[" or ",", as
        before the lines it did not see. A stand-in element (null), and its comma when the last line had one,
        leave it after a comma or after an element, as the file is; the stand-in's event is dropped."""
        # "null " rather than "null": a parser may wait for the byte after a token to know it has ended.
        self._parse(b"null," if after_comma else b"null ")
        if self._parsed != [("null", None)]:
            raise AssertionError(f"the JSON parser did not resume as expected: {self._parsed[:3]}")
        self._parsed.clear()


def json_events(source: BinaryIO) -> JsonEvents:
    """The events of ``source``, a JSON file (see :class:`JsonEvents`)."""
    return JsonEvents(source)


# --- Walking the events -------------------------------------------------------------------------------------


_ONLY_STR = frozenset({str})


def only_strings(values: Iterable[Any]) -> bool:
    """Whether every one of ``values``, read from JSON (so of exact types, no subclasses), is a string."""
    return _ONLY_STR.issuperset(map(type, values))


def next_event(events: Iterator[Event]) -> Event:
    """The next event; the end of the file here is a broken file."""
    event = next(events, None)
    if event is None:
        raise FormatError("not valid JSON: the file ends too early")
    return event


def members(events: Iterator[Event]) -> Iterator[tuple[str, str, Any]]:
    """(key, first event, its value) of each member of the object whose ``start_map`` was just read. The
    caller consumes each member's value (:func:`build`, :func:`skip`, or walking it) before asking for the
    next; the object's ``end_map`` is consumed here."""
    while True:
        event, value = next_event(events)
        if event == "end_map":
            return
        key = value
        event, value = next_event(events)
        yield key, event, value


def elements(events: Iterator[Event]) -> Iterator[tuple[str, Any]]:
    """(first event, its value) of each element of the array whose ``start_array`` was just read; the
    caller consumes each element as with :func:`members`."""
    while True:
        event, value = next_event(events)
        if event == "end_array":
            return
        yield event, value


def element_values(events: JsonEvents, limit: int, too_many: str) -> Iterator[Any]:
    """The value of each element of the array whose ``start_array`` was just read, each built whole (for
    arrays of small things: entries), in order; the array's ``end_array`` is consumed here. An element past
    the ``limit``-th is a ``FormatError(too_many)``, raised before it is built."""
    count = 0
    while True:
        for value in events.line_values():
            count += 1
            if count > limit:
                raise FormatError(too_many)
            yield value
        event, value = next_event(events)
        if event == "end_array":
            return
        count += 1
        if count > limit:
            raise FormatError(too_many)
        yield build(event, value, events)


def build(event: str, value: Any, events: Iterator[Event]) -> Any:
    """The whole JSON value that begins with (``event``, ``value``): for the small things (one entry, a
    name), never for a whole array of entries. Built as ijson's ObjectBuilder builds it (a later member of
    the same name replaces an earlier one), in one loop."""
    if event == "start_map":
        top: Any = {}
    elif event == "start_array":
        top = []
    else:
        return value
    root = top
    enclosing: list[Any] = []  # the containers around ``top``
    key = None
    for event, value in events:
        if event == "map_key":
            key = value
            continue
        if event == "end_map" or event == "end_array":
            if not enclosing:
                return root
            top = enclosing.pop()
            continue
        container: Any = {} if event == "start_map" else [] if event == "start_array" else None
        element = value if container is None else container
        if type(top) is list:
            top.append(element)
        else:
            top[key] = element
        if container is not None:
            enclosing.append(top)
            top = container
    raise FormatError("not valid JSON: the file ends too early")


def skip(event: str, events: Iterator[Event]) -> None:
    """Consume the value that begins with ``event`` without keeping it."""
    if event != "start_map" and event != "start_array":
        return
    depth = 1
    for event, _ in events:
        if event == "start_map" or event == "start_array":
            depth += 1
        elif event == "end_map" or event == "end_array":
            depth -= 1
            if not depth:
                return
    raise FormatError("not valid JSON: the file ends too early")


def finish(events: Iterator[Event]) -> None:
    """Read to the end: trailing garbage after the document is an error, as anywhere else."""
    for _ in events:
        raise FormatError("not valid JSON: more after the end of the document")
