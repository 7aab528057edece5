"""The streaming providers, named once for the whole project (events, auth, the adapters, the emulator)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import WithJsonSchema


class ProviderName(StrEnum):
    SPOTIFY = "spotify"
    DEEZER = "deezer"
    TIDAL = "tidal"
    YOUTUBE = "youtube"


PROVIDERS: tuple[ProviderName, ...] = tuple(ProviderName)


def is_provider(name: str) -> bool:
    return name in ProviderName._value2member_map_


# A provider name in an event payload: the enum, published inline as the schemas always had it.
ProviderField = Annotated[
    ProviderName,
    WithJsonSchema({"enum": [p.value for p in ProviderName], "title": "Provider", "type": "string"}),
]
