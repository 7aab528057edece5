"""Playlist files: readers and writers of every format people have (see README.md)."""

from pm_formats.errors import FormatError
from pm_formats.model import Entry, FileTrack, Item, MediaType, PlaylistInfo, PlaylistStart, Skipped

__all__ = [
    "Entry",
    "FileTrack",
    "FormatError",
    "Item",
    "MediaType",
    "PlaylistInfo",
    "PlaylistStart",
    "Skipped",
]
